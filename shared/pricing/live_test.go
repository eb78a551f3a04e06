package pricing_test

import (
	"context"
	"math"
	"testing"

	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/pricing"
	"github.com/passthru/gateway/shared/route"
	"github.com/passthru/gateway/shared/usage"
)

// tables hands out whichever route table the test last set, as an SSM source does after a push.
type tables struct{ t *route.Table }

func (s *tables) Table(context.Context) (*route.Table, error) { return s.t, nil }

func table(t *testing.T, yaml string) *route.Table {
	t.Helper()
	res := config.Parse([]byte(yaml + "general_settings:\n  pass_through_endpoints:\n    - {path: /x, target: \"https://x.example.com\", auth: false}\n"))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	tb, err := route.NewTable(res.Config)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// Prices come from the base table, overridden per model by the route table's model_prices,
// which are picked up when the table changes.
func TestLive(t *testing.T) {
	src := &tables{table(t, `
model_prices:
  my-model: {input_cost_per_token: 0.001, output_cost_per_token: 0.002}
  gpt-4o-mini: {input_cost_per_token: 1, output_cost_per_token: 1}
`)}
	p := &pricing.Live{Routes: src, Base: pricing.Default()}
	in, out := int64(1000), int64(500)
	cost := func(model string) (float64, bool) {
		return p.Cost(usage.Tokens{Model: model, Input: &in, Output: &out})
	}
	tests := []struct {
		model string
		want  float64
		ok    bool
	}{
		{"my-model", 1000*0.001 + 500*0.002, true},
		{"gpt-4o-mini", 1500, true}, // the override wins over the embedded price
		{"claude-sonnet-4-5", 1000*3e-6 + 500*15e-6, true},
		{"nobody-knows-this", 0, false},
	}
	for _, tt := range tests {
		got, ok := cost(tt.model)
		if ok != tt.ok || math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("Cost(%s) = %v, %v; want %v, %v", tt.model, got, ok, tt.want, tt.ok)
		}
	}
	if name, ok := p.ModelName("", "my-model"); !ok || name != "my-model" {
		t.Errorf("ModelName(my-model) = %q, %v; want the override's name", name, ok)
	}

	// A new table (a push to SSM) replaces the overrides: my-model is unpriced again and
	// gpt-4o-mini falls back to the embedded price.
	src.t = table(t, "")
	if _, ok := cost("my-model"); ok {
		t.Error("my-model still priced after the override was removed")
	}
	if got, _ := cost("gpt-4o-mini"); got >= 1500 {
		t.Errorf("gpt-4o-mini = %v after the override was removed, want the embedded price", got)
	}
}
