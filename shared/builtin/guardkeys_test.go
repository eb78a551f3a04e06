package builtin_test

import (
	"testing"

	"github.com/passthru/gateway/shared/builtin"
	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/wiring"
)

// A provider_route_guardrails key (or a provider_route_guardrail_streaming entry) that names no
// built-in provider (a typo, the route's spelling "vertex-ai", another case) would attach its
// guardrails to nothing: the table is refused, naming the key and the valid names, and so is
// the check gatewayctl runs before a push.
func TestProviderRouteGuardrailsUnknownProviderRefused(t *testing.T) {
	const valid = "anthropic, openai, azure, gemini, cohere, mistral, langfuse, bedrock, vertex_ai"
	for _, tc := range []struct{ key, streaming, err string }{
		{"anthropic", "", ""},
		{"anthropic", "[anthropic, openai]", ""},
		{"anthropic", "[anthropc]", `general_settings.provider_route_guardrail_streaming: "anthropc" is not a built-in provider (valid: ` + valid + `)`},
		{"vertex_ai", "", ""},
		{"anthropc", "", `general_settings.provider_route_guardrails: "anthropc" is not a built-in provider (valid: ` + valid + `)`},
		{"Anthropic", "", `general_settings.provider_route_guardrails: "Anthropic" is not a built-in provider (valid: ` + valid + `)`},
		{"vertex-ai", "", `general_settings.provider_route_guardrails: "vertex-ai" is not a built-in provider (valid: ` + valid + `)`},
	} {
		t.Run(tc.key+tc.streaming, func(t *testing.T) {
			res := config.Parse([]byte(`
guardrails:
  - guardrail_name: pii
    litellm_params: {guardrail: litellm_content_filter, patterns: [{pattern_type: prebuilt, pattern_name: us_ssn, action: BLOCK}]}
general_settings:
  provider_route_guardrails: {` + tc.key + `: [pii]}
  provider_route_guardrail_streaming: ` + tc.streaming + `
`))
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			_, _, err := builtin.NewTable(res.Config, builtin.Options{})
			cerr := wiring.CheckGuardrails(res.Config, nil)
			for _, got := range []error{err, cerr} {
				switch {
				case tc.err == "" && got != nil:
					t.Errorf("error %v, want none", got)
				case tc.err != "" && (got == nil || got.Error() != tc.err):
					t.Errorf("error %v, want %s", got, tc.err)
				}
			}
		})
	}
}
