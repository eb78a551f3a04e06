package config_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/secrets"
)

const guardrailDefs = `
guardrails:
  - guardrail_name: pii
    litellm_params:
      guardrail: litellm_content_filter
      mode: [pre_call, post_call]
      default_on: true
      patterns: [{pattern_type: prebuilt, pattern_name: us_ssn, action: BLOCK}]
  - guardrail_name: hook
    litellm_params:
      guardrail: generic_guardrail_api
      api_base: http://127.0.0.1:9
`

func TestGuardrailDefinitions(t *testing.T) {
	res := config.Parse([]byte(guardrailDefs + `
general_settings:
  provider_route_guardrails:
    anthropic: [pii]
    openai: {hook: {request_fields: ["messages[*].content"]}}
  provider_route_guardrail_streaming: [anthropic]
  pass_through_endpoints:
    - path: /v1/rerank
      target: https://api.cohere.com/v1/rerank
      auth: true
      guardrail_streaming: true
      guardrails:
        pii: {request_fields: [query, "documents[*]"]}
`))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	cfg := res.Config
	want := []config.GuardrailDef{
		{Name: "pii", Kind: "litellm_content_filter", Modes: []string{"pre_call", "post_call"}, DefaultOn: true, Params: map[string]any{
			"guardrail": "litellm_content_filter", "mode": []any{"pre_call", "post_call"}, "default_on": true,
			"patterns": []any{map[string]any{"pattern_type": "prebuilt", "pattern_name": "us_ssn", "action": "BLOCK"}}}},
		{Name: "hook", Kind: "generic_guardrail_api", Modes: []string{"pre_call"}, Params: map[string]any{"guardrail": "generic_guardrail_api", "api_base": "http://127.0.0.1:9"}},
	}
	if !reflect.DeepEqual(cfg.Guardrails, want) {
		t.Errorf("Guardrails = %#v\nwant %#v", cfg.Guardrails, want)
	}
	wantProviders := map[string][]config.Guardrail{
		"anthropic": {{Name: "pii"}},
		"openai":    {{Name: "hook", RequestFields: []string{"messages[*].content"}}},
	}
	if !reflect.DeepEqual(cfg.ProviderRouteGuardrails, wantProviders) {
		t.Errorf("ProviderRouteGuardrails = %#v", cfg.ProviderRouteGuardrails)
	}
	if !reflect.DeepEqual(cfg.ProviderRouteGuardrailStreaming, []string{"anthropic"}) {
		t.Errorf("ProviderRouteGuardrailStreaming = %q", cfg.ProviderRouteGuardrailStreaming)
	}
	e := cfg.Endpoints[0]
	if !e.GuardrailStreaming || !reflect.DeepEqual(e.Guardrails, []config.Guardrail{{Name: "pii", RequestFields: []string{"query", "documents[*]"}}}) {
		t.Errorf("endpoint = %+v", e)
	}
	back, _, err := config.ParseEndpoint(e.Spec())
	if err != nil || !back.GuardrailStreaming || !reflect.DeepEqual(back.Guardrails, e.Guardrails) {
		t.Errorf("spec round trip: %+v, %v", back, err)
	}
	if len(res.Warnings) != 0 {
		t.Errorf("warnings: %q", res.Warnings)
	}
}

func TestGuardrailErrors(t *testing.T) {
	endpoint := func(gs string) string {
		return "general_settings:\n  pass_through_endpoints:\n    - {path: /x, target: 'http://127.0.0.1:1', auth: true, guardrails: " + gs + "}\n"
	}
	cases := []struct {
		name, doc, want string
	}{
		{"unknown name in list", guardrailDefs + endpoint("[pii, nope]"), `pass_through_endpoints[0] (/x): guardrails: "nope" is not defined in the top-level guardrails list`},
		{"unknown name in map", endpoint("{ghost: null}"), `pass_through_endpoints[0] (/x): guardrails: "ghost" is not defined in the top-level guardrails list`},
		{"unknown provider guardrail", guardrailDefs + "general_settings:\n  provider_route_guardrails: {anthropic: [ghost]}\n", `general_settings.provider_route_guardrails.anthropic: "ghost" is not defined in the top-level guardrails list`},
		{"unsupported kind", "guardrails:\n  - guardrail_name: p\n    litellm_params: {guardrail: presidio}\n", `guardrails[0]: p: litellm_params.guardrail: "presidio" is not supported (supported: litellm_content_filter, bedrock, generic_guardrail_api)`},
		{"missing kind", "guardrails:\n  - guardrail_name: p\n    litellm_params: {mode: pre_call}\n", `guardrails[0]: p: litellm_params.guardrail: is required`},
		{"unsupported mode", "guardrails:\n  - guardrail_name: p\n    litellm_params: {guardrail: bedrock, mode: logging_only}\n", `guardrails[0]: p: litellm_params.mode: "logging_only" is not supported on pass-through routes`},
		{"duplicate", "guardrails:\n  - {guardrail_name: p, litellm_params: {guardrail: bedrock}}\n  - {guardrail_name: p, litellm_params: {guardrail: bedrock}}\n", `guardrails[1]: guardrail_name "p" is defined twice`},
		{"no name", "guardrails:\n  - {litellm_params: {guardrail: bedrock}}\n", `guardrails[0]: guardrail_name: is required`},
		{"not a list", "guardrails: {a: b}\n", `guardrails: must be a list`},
		{"bad fields", guardrailDefs + endpoint("{pii: {request_fields: ['a[0]']}}"), `request_fields: "a[0]" is not a field expression`},
	}
	for _, tc := range cases {
		res := config.Parse([]byte(tc.doc))
		if res.Err == nil || !strings.Contains(res.Err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, res.Err, tc.want)
		}
	}
}

func TestKeyGuardrails(t *testing.T) {
	got := config.KeyGuardrails(map[string]string{"guardrails": " pii, hook,,pii;web|x y ", "owner": "x"})
	if !reflect.DeepEqual(got, []string{"pii", "hook", "web", "x", "y"}) {
		t.Errorf("got %q", got)
	}
	if got := config.KeyGuardrails(nil); got != nil {
		t.Errorf("got %q", got)
	}
}

// TestGuardrailSecrets: a webhook guardrail's header references are checked like the routes'
// (named with where they are used), and a literal credential header is reported for routes push.
func TestGuardrailSecrets(t *testing.T) {
	res := config.Parse([]byte(`
guardrails:
  - guardrail_name: vendor
    litellm_params:
      guardrail: generic_guardrail_api
      api_base: https://guard.example
      headers: {Authorization: "Bearer os.environ/GUARD_KEY", X-Team: search}
  - guardrail_name: literal
    litellm_params:
      guardrail: generic_guardrail_api
      api_base: https://guard.example
      headers: {x-api-key: plain-secret}
`))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if got := res.Config.SecretRefs(); !reflect.DeepEqual(got, []string{"GUARD_KEY"}) {
		t.Errorf("SecretRefs = %q", got)
	}
	err := res.Config.CheckSecrets(context.Background(), secrets.Inline{})
	if err == nil || !strings.Contains(err.Error(), "os.environ/GUARD_KEY (used by guardrails (vendor) headers.Authorization)") {
		t.Errorf("CheckSecrets = %v", err)
	}
	if got := res.Config.LiteralCredentials(); !reflect.DeepEqual(got, []string{"guardrails (literal) headers.x-api-key"}) {
		t.Errorf("LiteralCredentials = %q", got)
	}
}

// TestProviderGuardrailStreamingWithoutGuardrails: listing a provider whose route runs no
// guardrails does nothing, and says so.
func TestProviderGuardrailStreamingWithoutGuardrails(t *testing.T) {
	res := config.Parse([]byte(guardrailDefs + "general_settings:\n  provider_route_guardrails: {anthropic: [pii]}\n  provider_route_guardrail_streaming: [anthropic, openai]\n"))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	want := []string{"general_settings.provider_route_guardrail_streaming: openai has no effect without provider_route_guardrails.openai"}
	if !reflect.DeepEqual(res.Warnings, want) {
		t.Errorf("warnings %q, want %q", res.Warnings, want)
	}
}
