package usage_test

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/passthru/gateway/shared/pricing"
	"github.com/passthru/gateway/shared/usage"
)

// BenchmarkEMFModelDimension measures an EMF line with the real price table naming the model
// (what the gateway writes per call): a model as keyed, a dated spelling of a priced base, and a
// model the table does not price (the full search of its spellings, then "other").
func BenchmarkEMFModelDimension(b *testing.B) {
	e := usage.NewEMF(io.Discard, "LLMGateway").PricedModels(pricing.Default().Name)
	ctx := context.Background()
	in, out := int64(1200), int64(350)
	for _, model := range []string{"gpt-4o-mini", "openai/gpt-4o-mini-2099-01-01", "junk-" + strings.Repeat("x", 200)} {
		r := usage.Record{Route: "/openai", Status: 200, Tokens: usage.Tokens{Provider: "openai", Model: model, Input: &in, Output: &out}}
		b.Run(model[:min(len(model), 20)], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				e.Record(ctx, r)
			}
		})
	}
}
