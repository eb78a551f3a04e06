package ssmroutes_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/ssmroutes"
)

func parse(t testing.TB, yaml string) *config.Config {
	t.Helper()
	res := config.Parse([]byte(yaml))
	if res.Err != nil {
		t.Fatalf("config.Parse: %v", res.Err)
	}
	return res.Config
}

const pushYAML = `
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
  pass_through_request_timeout: 120
  pass_through_endpoints:
    - path: /v1/a
      target: https://a.example/v1
      auth: true
    - path: /v1/b
      target: https://b.example/v2
      auth: true
      headers: {Authorization: "bearer os.environ/B_KEY"}
    - path: /v1/c
      target: https://c.example
      auth: false
      methods: [POST]
`

func TestDesired(t *testing.T) {
	got, err := ssmroutes.Desired("gw", parse(t, pushYAML))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"/gw/settings":         `{"master_key":"os.environ/LITELLM_MASTER_KEY","pass_through_request_timeout":120}`,
		"/gw/routes/v1-a":      `{"path":"/v1/a","target":"https://a.example/v1","auth":true}`,
		"/gw/routes/v1-b":      `{"path":"/v1/b","target":"https://b.example/v2","headers":{"Authorization":"bearer os.environ/B_KEY"},"auth":true}`,
		"/gw/routes/v1-c.post": `{"path":"/v1/c","target":"https://c.example","methods":["POST"],"auth":false}`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Desired =\n%v\nwant\n%v", got, want)
	}
	// What is stored builds back into the same endpoints.
	var params []ssmroutes.Parameter
	for name, value := range got {
		params = append(params, ssmroutes.Parameter{Name: name, Value: value, Version: 1})
	}
	snap := ssmroutes.Build("gw", params, nil)
	if len(snap.Rejected) != 0 || len(snap.Config.Endpoints) != 3 {
		t.Fatalf("stored routes build into %d endpoints, rejected %+v", len(snap.Config.Endpoints), snap.Rejected)
	}
	if snap.Config.MasterKey != "os.environ/LITELLM_MASTER_KEY" || snap.Config.RequestTimeout.Seconds() != 120 {
		t.Errorf("settings round trip: %q %v", snap.Config.MasterKey, snap.Config.RequestTimeout)
	}
}

func TestDesiredEmptySettings(t *testing.T) {
	got, err := ssmroutes.Desired("gw", parse(t, "general_settings:\n  pass_through_endpoints: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, map[string]string{"/gw/settings": "{}"}) {
		t.Errorf("Desired = %v", got)
	}
}

func TestPlan(t *testing.T) {
	cfg := parse(t, pushYAML)
	want, err := ssmroutes.Desired("/gw/", cfg)
	if err != nil {
		t.Fatal(err)
	}
	oldB := `{"path":"/v1/b","target":"https://b.example/v1","auth":true}`
	stored := []ssmroutes.Parameter{
		{Name: "/gw/settings", Value: want["/gw/settings"], Version: 3},
		{Name: "/gw/routes/v1-old", Value: `{"path":"/v1/old","target":"https://old.example"}`, Version: 1},
		{Name: "/gw/routes/v1-a", Value: want["/gw/routes/v1-a"], Version: 1},
		{Name: "/gw/routes/v1-b", Value: oldB, Version: 2},
		{Name: "/gw/unrelated", Value: "left alone", Version: 1},
		{Name: "/gw-other/routes/x", Value: "left alone", Version: 1},
	}
	got, err := ssmroutes.Plan("gw", cfg, stored)
	if err != nil {
		t.Fatal(err)
	}
	wantPlan := []ssmroutes.Change{
		{Kind: ssmroutes.Same, Name: "/gw/routes/v1-a"},
		{Kind: ssmroutes.Update, Name: "/gw/routes/v1-b", Value: want["/gw/routes/v1-b"], Old: oldB},
		{Kind: ssmroutes.Add, Name: "/gw/routes/v1-c.post", Value: want["/gw/routes/v1-c.post"]},
		{Kind: ssmroutes.Remove, Name: "/gw/routes/v1-old", Old: `{"path":"/v1/old","target":"https://old.example"}`},
		{Kind: ssmroutes.Same, Name: "/gw/settings"},
	}
	if !reflect.DeepEqual(got, wantPlan) {
		t.Errorf("Plan =\n%+v\nwant\n%+v", got, wantPlan)
	}
}

func TestPlanEmptyStore(t *testing.T) {
	got, err := ssmroutes.Plan("gw", parse(t, pushYAML), nil)
	if err != nil {
		t.Fatal(err)
	}
	var kinds, names []string
	for _, c := range got {
		kinds, names = append(kinds, string(c.Kind)), append(names, c.Name)
	}
	if !slices.Equal(kinds, []string{"add", "add", "add", "add"}) ||
		!slices.Equal(names, []string{"/gw/routes/v1-a", "/gw/routes/v1-b", "/gw/routes/v1-c.post", "/gw/settings"}) {
		t.Errorf("Plan kinds %v names %v", kinds, names)
	}
}

func TestPlanErrors(t *testing.T) {
	big := strings.Repeat("x", 8200)
	tests := []struct {
		name, yaml, want string
	}{
		{
			name: "two paths with one route id",
			yaml: `
general_settings:
  pass_through_endpoints:
    - {path: /v1/rerank, target: "https://a.example", auth: true}
    - {path: /v1-rerank, target: "https://b.example", auth: true}
`,
			want: "pass_through_endpoints[1] (/v1-rerank): route id \"v1-rerank\" is used twice; give one of them an `id`",
		},
		{
			name: "two explicit ids that normalise alike",
			yaml: `
general_settings:
  pass_through_endpoints:
    - {id: "cohere rerank", path: /a, target: "https://a.example", auth: true}
    - {id: "cohere/rerank", path: /b, target: "https://b.example", auth: true}
`,
			want: "pass_through_endpoints[1] (/b): route id \"cohere-rerank\" is used twice; give one of them an `id`",
		},
		{
			name: "a spec over 8 KB",
			yaml: fmt.Sprintf(`
general_settings:
  pass_through_endpoints:
    - {path: /big, target: "https://a.example", auth: true, headers: {X-Big: %s}}
`, big),
			want: fmt.Sprintf("pass_through_endpoints[0] (/big): value is %d bytes, over SSM's 8192-byte limit (Advanced tier)",
				len(`{"path":"/big","target":"https://a.example","headers":{"X-Big":""},"auth":true}`)+len(big)),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := ssmroutes.Plan("gw", parse(t, tt.yaml), nil)
			if plan != nil || err == nil || err.Error() != tt.want {
				t.Errorf("Plan = %v, %v; want nil, %q", plan, err, tt.want)
			}
		})
	}
}

// put is what a test expects of one PutParameter call.
type put struct {
	Name, Value string
	Type        types.ParameterType
	Tier        types.ParameterTier
	Overwrite   bool
}

func putsOf(f *fakeSSM) []put {
	var out []put
	for _, in := range f.puts {
		out = append(out, put{aws.ToString(in.Name), aws.ToString(in.Value), in.Type, in.Tier, aws.ToBool(in.Overwrite)})
	}
	return out
}

func TestApply(t *testing.T) {
	small := spec("/a", "https://a.example")
	large := `{"path":"/l","target":"https://l.example","headers":{"X":"` + strings.Repeat("y", 5000) + `"}}`
	var removed []ssmroutes.Change
	var removedNames []string
	for i := range 23 {
		name := fmt.Sprintf("/gw/routes/old-%02d", i)
		removed = append(removed, ssmroutes.Change{Kind: ssmroutes.Remove, Name: name, Old: "{}"})
		removedNames = append(removedNames, name)
	}
	changes := append([]ssmroutes.Change{
		{Kind: ssmroutes.Add, Name: "/gw/routes/a", Value: small},
		{Kind: ssmroutes.Same, Name: "/gw/routes/same"},
		{Kind: ssmroutes.Update, Name: "/gw/routes/l", Value: large, Old: small},
		{Kind: ssmroutes.Add, Name: "/gw/settings", Value: "{}"},
	}, removed...)

	tests := []struct {
		name          string
		prune, secure bool
		typ           types.ParameterType
		deletes       [][]string
	}{
		{"plain, no prune", false, false, types.ParameterTypeString, nil},
		{"secure, no prune", false, true, types.ParameterTypeSecureString, nil},
		{"plain, prune", true, false, types.ParameterTypeString, [][]string{removedNames[:10], removedNames[10:20], removedNames[20:]}},
		{"secure, prune", true, true, types.ParameterTypeSecureString, [][]string{removedNames[:10], removedNames[10:20], removedNames[20:]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSSM()
			for _, n := range removedNames {
				f.set(n, "{}")
			}
			if err := ssmroutes.Apply(context.Background(), f, changes, tt.prune, tt.secure); err != nil {
				t.Fatal(err)
			}
			wantPuts := []put{
				{"/gw/routes/a", small, tt.typ, types.ParameterTierStandard, true},
				{"/gw/routes/l", large, tt.typ, types.ParameterTierIntelligentTiering, true}, // an update: never a downgrade
				{"/gw/settings", "{}", tt.typ, types.ParameterTierStandard, true},
			}
			if got := putsOf(f); !reflect.DeepEqual(got, wantPuts) {
				t.Errorf("PutParameter calls =\n%+v\nwant\n%+v", got, wantPuts)
			}
			if !reflect.DeepEqual(f.deletes, tt.deletes) {
				t.Errorf("DeleteParameters calls = %v, want %v", f.deletes, tt.deletes)
			}
			for _, d := range f.deletes {
				if len(d) > 10 {
					t.Errorf("DeleteParameters with %d names, over SSM's 10", len(d))
				}
			}
			if len(f.gets) != 0 {
				t.Errorf("Apply read SSM %d times", len(f.gets))
			}
		})
	}
}

func TestApplyNothingToDo(t *testing.T) {
	f := newFakeSSM()
	changes := []ssmroutes.Change{{Kind: ssmroutes.Same, Name: "/gw/settings"}, {Kind: ssmroutes.Same, Name: "/gw/routes/a"}}
	if err := ssmroutes.Apply(context.Background(), f, changes, true, false); err != nil {
		t.Fatal(err)
	}
	if len(f.puts) != 0 || len(f.deletes) != 0 {
		t.Errorf("an all-Same plan made %d puts and %d deletes", len(f.puts), len(f.deletes))
	}
}

// Exactly 10 stale names are one DeleteParameters call, 11 are two.
func TestApplyDeleteBatchBoundary(t *testing.T) {
	for _, n := range []int{1, 10, 11, 20, 21} {
		f := newFakeSSM()
		var changes []ssmroutes.Change
		for i := range n {
			changes = append(changes, ssmroutes.Change{Kind: ssmroutes.Remove, Name: fmt.Sprintf("/gw/routes/r%02d", i)})
		}
		if err := ssmroutes.Apply(context.Background(), f, changes, true, false); err != nil {
			t.Fatal(err)
		}
		var sizes []int
		for _, d := range f.deletes {
			sizes = append(sizes, len(d))
		}
		want := map[int][]int{1: {1}, 10: {10}, 11: {10, 1}, 20: {10, 10}, 21: {10, 10, 1}}[n]
		if !slices.Equal(sizes, want) {
			t.Errorf("%d stale names: batches %v, want %v", n, sizes, want)
		}
	}
}

func TestApplyErrors(t *testing.T) {
	denied := errors.New("AccessDeniedException: not allowed")
	tests := []struct {
		name       string
		changes    []ssmroutes.Change
		setup      func(*fakeSSM)
		want       string
		wantPuts   int
		wantDelete int
	}{
		{
			name: "value over 8 KB: nothing after it is written",
			changes: []ssmroutes.Change{
				{Kind: ssmroutes.Add, Name: "/gw/routes/a", Value: "{}"},
				{Kind: ssmroutes.Add, Name: "/gw/routes/huge", Value: strings.Repeat("x", 8193)},
				{Kind: ssmroutes.Add, Name: "/gw/routes/z", Value: "{}"},
				{Kind: ssmroutes.Remove, Name: "/gw/routes/old"},
			},
			want:     "/gw/routes/huge: value is 8193 bytes, over SSM's 8192-byte limit (Advanced tier)",
			wantPuts: 1,
		},
		{
			name: "PutParameter fails: stops, deletes nothing",
			changes: []ssmroutes.Change{
				{Kind: ssmroutes.Update, Name: "/gw/routes/a", Value: "{}"},
				{Kind: ssmroutes.Add, Name: "/gw/routes/b", Value: "{}"},
				{Kind: ssmroutes.Remove, Name: "/gw/routes/old"},
			},
			setup:    func(f *fakeSSM) { f.putErr = denied },
			want:     "put /gw/routes/a: AccessDeniedException: not allowed",
			wantPuts: 1,
		},
		{
			name: "DeleteParameters fails",
			changes: []ssmroutes.Change{
				{Kind: ssmroutes.Remove, Name: "/gw/routes/x"},
				{Kind: ssmroutes.Remove, Name: "/gw/routes/y"},
			},
			setup:      func(f *fakeSSM) { f.deleteErr = denied },
			want:       "delete /gw/routes/x, /gw/routes/y: AccessDeniedException: not allowed",
			wantDelete: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSSM()
			if tt.setup != nil {
				tt.setup(f)
			}
			err := ssmroutes.Apply(context.Background(), f, tt.changes, true, false)
			if err == nil || err.Error() != tt.want {
				t.Errorf("Apply = %v, want %q", err, tt.want)
			}
			if len(f.puts) != tt.wantPuts || len(f.deletes) != tt.wantDelete {
				t.Errorf("%d puts, %d deletes; want %d, %d", len(f.puts), len(f.deletes), tt.wantPuts, tt.wantDelete)
			}
			if tt.setup != nil && !errors.Is(err, denied) {
				t.Errorf("the API error is not wrapped: %v", err)
			}
		})
	}
}

// Plan, Apply, Plan again: the second plan is all Same, and a second Apply writes nothing.
func TestPushIdempotent(t *testing.T) {
	ctx := context.Background()
	f := newFakeSSM()
	cfg := parse(t, pushYAML)
	push := func() []ssmroutes.Change {
		stored, err := ssmroutes.List(ctx, f, "gw")
		if err != nil {
			t.Fatal(err)
		}
		plan, err := ssmroutes.Plan("gw", cfg, stored)
		if err != nil {
			t.Fatal(err)
		}
		if err := ssmroutes.Apply(ctx, f, plan, true, false); err != nil {
			t.Fatal(err)
		}
		return plan
	}
	push()
	if len(f.puts) != 4 {
		t.Fatalf("first push: %d puts, want 4", len(f.puts))
	}
	for _, c := range push() {
		if c.Kind != ssmroutes.Same {
			t.Errorf("second plan: %s %s, want same", c.Kind, c.Name)
		}
	}
	if len(f.puts) != 4 || len(f.deletes) != 0 {
		t.Errorf("second push wrote: %d puts, %d deletes in all", len(f.puts), len(f.deletes))
	}
}
