package ssmroutes_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/ssmroutes"
)

// TestGuardrailSettings: the settings parameter carries the guardrail definitions (LiteLLM's
// shape) and provider_route_guardrails, as SettingsOf writes them; a stored route naming a
// guardrail they do not define is left out, with the reason; an invalid definition rejects the
// settings.
func TestGuardrailSettings(t *testing.T) {
	res := config.Parse([]byte(`
guardrails:
  - guardrail_name: pii
    litellm_params:
      guardrail: litellm_content_filter
      mode: [pre_call, post_call]
      patterns: [{pattern_type: prebuilt, pattern_name: email, action: MASK}]
general_settings:
  provider_route_guardrails: {anthropic: [pii]}
  provider_route_guardrail_streaming: [anthropic]
`))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	stored, _ := json.Marshal(ssmroutes.SettingsOf(res.Config))
	want := `{"guardrails":[{"guardrail_name":"pii","litellm_params":{"guardrail":"litellm_content_filter","mode":["pre_call","post_call"],"patterns":[{"action":"MASK","pattern_name":"email","pattern_type":"prebuilt"}]}}],"provider_route_guardrails":{"anthropic":[{"name":"pii"}]},"provider_route_guardrail_streaming":["anthropic"]}`
	if string(stored) != want {
		t.Fatalf("stored settings\n%s\nwant\n%s", stored, want)
	}
	s := ssmroutes.Build("/gw", []ssmroutes.Parameter{
		{Name: "/gw/settings", Value: string(stored), Version: 4},
		{Name: "/gw/routes/good", Value: `{"path":"/good","target":"https://g.example","guardrails":["pii"]}`, Version: 1},
		{Name: "/gw/routes/ghost", Value: `{"path":"/ghost","target":"https://h.example","guardrails":{"ghost":null}}`, Version: 2},
	}, nil)
	if !reflect.DeepEqual(s.Config.Guardrails, res.Config.Guardrails) || !reflect.DeepEqual(s.Config.ProviderRouteGuardrails, res.Config.ProviderRouteGuardrails) ||
		!reflect.DeepEqual(s.Config.ProviderRouteGuardrailStreaming, []string{"anthropic"}) {
		t.Errorf("guardrails = %+v / %+v", s.Config.Guardrails, s.Config.ProviderRouteGuardrails)
	}
	if len(s.Config.Endpoints) != 1 || s.Config.Endpoints[0].Path != "/good" || s.Config.Endpoints[0].Index != 0 {
		t.Errorf("endpoints = %+v", s.Config.Endpoints)
	}
	wantRejected := []ssmroutes.Rejected{{Name: "/gw/routes/ghost", Version: 2, Path: "/ghost",
		Reason: `guardrails: "ghost" is not defined in the settings' guardrails list`}}
	if !reflect.DeepEqual(s.Rejected, wantRejected) {
		t.Errorf("rejected = %+v", s.Rejected)
	}
	bad := ssmroutes.Build("/gw", []ssmroutes.Parameter{
		{Name: "/gw/settings", Value: `{"guardrails":[{"guardrail_name":"x","litellm_params":{"guardrail":"presidio"}}]}`, Version: 5},
	}, nil)
	if len(bad.Rejected) != 1 || bad.Rejected[0].Reason != `invalid settings: guardrails[0]: x: litellm_params.guardrail: "presidio" is not supported (supported: litellm_content_filter, bedrock, generic_guardrail_api)` {
		t.Errorf("rejected = %+v", bad.Rejected)
	}
}

// TestGuardrailSettingsUnknownProvider: a provider_route_guardrails key or a
// provider_route_guardrail_streaming entry that is not a built-in provider rejects the settings
// parameter, as the config file is refused; with last good settings, those keep serving, their
// guardrails and provider-route settings included.
func TestGuardrailSettingsUnknownProvider(t *testing.T) {
	const defs = `"guardrails":[{"guardrail_name":"pii","litellm_params":{"guardrail":"litellm_content_filter","patterns":[{"action":"BLOCK","pattern_name":"us_ssn","pattern_type":"prebuilt"}]}}]`
	const valid = ` (valid: anthropic, openai, azure, gemini, cohere, mistral, langfuse, bedrock, vertex_ai)`
	route := ssmroutes.Parameter{Name: "/gw/routes/good", Value: `{"path":"/good","target":"https://g.example"}`, Version: 1}
	good := ssmroutes.Build("/gw", []ssmroutes.Parameter{
		{Name: "/gw/settings", Value: `{` + defs + `,"provider_route_guardrails":{"anthropic":[{"name":"pii"}]},"provider_route_guardrail_streaming":["anthropic"]}`, Version: 2},
		route,
	}, nil)
	if len(good.Rejected) != 0 || len(good.Config.Guardrails) != 1 || len(good.Config.ProviderRouteGuardrails["anthropic"]) != 1 {
		t.Fatalf("good settings: rejected %+v, guardrails %+v / %+v", good.Rejected, good.Config.Guardrails, good.Config.ProviderRouteGuardrails)
	}
	for _, tc := range []struct{ name, settings, want string }{
		{"guardrails key", `,"provider_route_guardrails":{"anthropc":[{"name":"pii"}]}`,
			`invalid settings: general_settings.provider_route_guardrails: "anthropc" is not a built-in provider` + valid},
		{"streaming entry", `,"provider_route_guardrails":{"anthropic":[{"name":"pii"}]},"provider_route_guardrail_streaming":["anthropc"]`,
			`invalid settings: general_settings.provider_route_guardrail_streaming: "anthropc" is not a built-in provider` + valid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := []ssmroutes.Parameter{{Name: "/gw/settings", Value: `{` + defs + tc.settings + `}`, Version: 3}, route}
			s := ssmroutes.Build("/gw", bad, nil)
			if len(s.Rejected) != 1 || s.Rejected[0].Reason != tc.want {
				t.Errorf("rejected = %+v, want the settings with %s", s.Rejected, tc.want)
			}
			if s.Config.ProviderRouteGuardrails != nil || s.Config.Guardrails != nil || s.Config.ProviderRouteGuardrailStreaming != nil {
				t.Errorf("settings applied: %+v / %+v / %v", s.Config.Guardrails, s.Config.ProviderRouteGuardrails, s.Config.ProviderRouteGuardrailStreaming)
			}
			kept := ssmroutes.Build("/gw", bad, good)
			if len(kept.Kept) != 1 || kept.Kept[0].Reason != tc.want || len(kept.Rejected) != 0 {
				t.Errorf("kept = %+v, rejected = %+v; want the settings kept from the last good ones, with %s", kept.Kept, kept.Rejected, tc.want)
			}
			if !reflect.DeepEqual(kept.Config.Guardrails, good.Config.Guardrails) || !reflect.DeepEqual(kept.Config.ProviderRouteGuardrails, good.Config.ProviderRouteGuardrails) ||
				!reflect.DeepEqual(kept.Config.ProviderRouteGuardrailStreaming, []string{"anthropic"}) {
				t.Errorf("last good guardrail settings not kept: %+v / %+v / %v", kept.Config.Guardrails, kept.Config.ProviderRouteGuardrails, kept.Config.ProviderRouteGuardrailStreaming)
			}
		})
	}
}
