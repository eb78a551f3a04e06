package config_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/passthru/gateway/shared/config"
)

// The native spelling: adapter: anthropic on an OpenAI-compatible URL, with a model map; it
// round-trips through Spec (how SSM stores it).
func TestParseNativeAdapter(t *testing.T) {
	res := config.Parse([]byte(`general_settings:
  pass_through_endpoints:
    - path: /v1/messages
      adapter: anthropic
      target: https://api.openai.com/v1
      auth: true
      headers: {Authorization: "Bearer os.environ/OPENAI_API_KEY"}
      models: {claude-sonnet-4-5: gpt-4o, claude-haiku-4-5: gpt-4o-mini}
`))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	e := res.Config.Endpoints[0]
	wantModels := []config.Param{{Name: "claude-sonnet-4-5", Value: "gpt-4o"}, {Name: "claude-haiku-4-5", Value: "gpt-4o-mini"}}
	if e.Adapter != "anthropic" || !slices.Equal(e.Methods, []string{"POST"}) || !slices.Equal(e.Models, wantModels) {
		t.Errorf("endpoint = %+v", e)
	}
	spec := string(e.Spec())
	if want := `{"path":"/v1/messages","target":"https://api.openai.com/v1","adapter":"anthropic","models":{"claude-sonnet-4-5":"gpt-4o","claude-haiku-4-5":"gpt-4o-mini"},"headers":{"Authorization":"Bearer os.environ/OPENAI_API_KEY"},"methods":["POST"],"auth":true}`; spec != want {
		t.Errorf("Spec = %s\nwant   %s", spec, want)
	}
	back, _, err := config.ParseEndpoint([]byte(spec))
	if err != nil || !reflect.DeepEqual(back, e) {
		t.Errorf("ParseEndpoint(Spec) = %+v, %v; want %+v", back, err, e)
	}
	seed := config.Parse(readFixture(t, "seed_adapter.yaml")).Config.Endpoints[0]
	if got := string(seed.Spec()); got != `{"path":"/v1/messages","target":"custom_callbacks.anthropic_adapter","adapter":"anthropic","headers":{"litellm_user_api_key":"x-api-key"},"methods":["POST"]}` {
		t.Errorf("seed Spec = %s", got)
	}
	if id := seed.RouteID(); id != "v1-messages.post" {
		t.Errorf("RouteID = %s", id)
	}
}

func TestAdapterConfigErrors(t *testing.T) {
	const head = "general_settings:\n  pass_through_endpoints:\n    - path: /v1/messages\n      auth: true\n"
	const seed = head + "      target: custom_callbacks.anthropic_adapter\n"
	const x = "pass_through_endpoints[0] (/v1/messages): "
	tests := []struct{ name, yaml, want string }{
		{"unknown adapter", head + "      target: https://h.example.com/v1\n      adapter: gemini\n", x + `adapter: "gemini" is not a built-in adapter (there is one: anthropic)`},
		{"include_subpath", head + "      target: https://h.example.com/v1\n      adapter: anthropic\n      include_subpath: true\n", x + "include_subpath: an adapter endpoint serves its one path (Anthropic's /v1/messages), not the paths below it"},
		{"GET", head + "      target: https://h.example.com/v1\n      adapter: anthropic\n      methods: [GET, POST]\n", x + "methods: an adapter endpoint serves POST only"},
		{"models without adapter", head + "      target: https://h.example.com/v1\n      models: {a: b}\n", x + "models: maps model names for an adapter endpoint only (set adapter: anthropic)"},
		{"models with model_list", seed + "      models: {a: b}\nmodel_list: [{model_name: a, litellm_params: {model: gpt-4o}}]\n", x + "models: with target custom_callbacks.anthropic_adapter the models come from model_list; models is for adapter: anthropic on a URL target"},
		{"empty model map value", head + "      target: https://h.example.com/v1\n      adapter: anthropic\n      models: {a: \"\"}\n", x + "models.a: must name the backend's model"},
		{"no model_list", seed, x + "target custom_callbacks.anthropic_adapter serves the models of model_list, which is empty: add model_name and litellm_params (model, api_base, api_key) entries"},
		{"model_list not a list", seed + "model_list: {a: b}\n", "model_list: must be a list (line 6)"},
		{"azure model", seed + "model_list:\n  - model_name: c\n    litellm_params: {model: azure/gpt-4o, api_key: os.environ/AZ}\n", `model_list[0] (c): litellm_params.model: provider "azure" is not one the adapter can call: it speaks OpenAI's chat completions only (no prefix, deepseek/, fireworks_ai/, groq/, hosted_vllm/, mistral/, openai/, openrouter/, together_ai/, xai/; an OpenAI-compatible server is openai/<model> with api_base) (line 7)`},
		{"vllm without base", seed + "model_list:\n  - model_name: c\n    litellm_params: {model: hosted_vllm/llama}\n", "model_list[0] (c): litellm_params.model: api_base: is required for hosted_vllm/ models (line 7)"},
		{"api_base reference", seed + "model_list:\n  - model_name: c\n    litellm_params: {model: openai/x, api_base: os.environ/BASE}\n", `model_list[0] (c): litellm_params.api_base: "os.environ/BASE" holds an os.environ/ reference, which would be used as text: os.environ/ references are resolved only in header values and query parameter values (write the URL itself: it is not a secret) (line 7)`},
		{"bad api_base", seed + "model_list:\n  - model_name: c\n    litellm_params: {model: openai/x, api_base: ftp://h}\n", `model_list[0] (c): litellm_params.api_base: "ftp://h" must be an absolute http:// or https:// URL (line 7)`},
		{"no model", seed + "model_list:\n  - model_name: c\n    litellm_params: {api_key: k}\n", "model_list[0] (c): litellm_params.model: is required (line 7)"},
		{"no name", seed + "model_list:\n  - litellm_params: {model: gpt-4o}\n", "model_list[0] (): model_name: is required (line 7)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := config.Parse([]byte(tt.yaml))
			if res.Err == nil {
				t.Fatalf("no error; config %+v", res.Config)
			}
			if got := errList(res.Err); !slices.Contains(got, tt.want) {
				t.Errorf("errors = %q\nwant one = %q", got, tt.want)
			}
		})
	}
}

// model_list: defaults, warnings, literal keys reported, secrets named where they are used;
// a config without an adapter endpoint ignores model_list as before.
func TestModelList(t *testing.T) {
	res := config.Parse([]byte(`model_list:
  - model_name: fast
    litellm_params: {model: openai/gpt-4o-mini, api_base: "http://127.0.0.1:9/v1", api_key: sk-literal, rpm: 10}
  - model_name: fast
    litellm_params: {model: gpt-4o}
  - model_name: local
    litellm_params: {model: hosted_vllm/meta-llama/Llama-3.1-8B, api_base: "http://vllm:8000/v1"}
  - model_name: groq
    litellm_params: {model: groq/llama-3.3-70b}
general_settings:
  pass_through_endpoints:
    - {path: /v1/messages, target: custom_callbacks.anthropic_adapter, auth: true}
`))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	want := []config.Model{
		{Name: "fast", Model: "openai/gpt-4o-mini", APIBase: "http://127.0.0.1:9/v1", APIKey: "sk-literal"},
		{Name: "local", Model: "hosted_vllm/meta-llama/Llama-3.1-8B", APIBase: "http://vllm:8000/v1"},
		{Name: "groq", Model: "groq/llama-3.3-70b", APIKey: "os.environ/GROQ_API_KEY"},
	}
	if !reflect.DeepEqual(res.Config.Models, want) {
		t.Errorf("Models = %+v\nwant %+v", res.Config.Models, want)
	}
	wantWarns := []string{
		"model_list[0] (fast): litellm_params.rpm is ignored by the gateway's adapter (line 3)",
		"model_list[1] (fast): the name is listed before; the adapter sends every call for it to the first entry (no load balancing)",
	}
	if !slices.Equal(res.Warnings, wantWarns) {
		t.Errorf("warnings = %q\nwant %q", res.Warnings, wantWarns)
	}
	if got := res.Config.LiteralCredentials(); !slices.Equal(got, []string{"model_list (fast) litellm_params.api_key"}) {
		t.Errorf("LiteralCredentials = %q", got)
	}
	for _, m := range []struct {
		i           int
		base, model string
	}{{0, "http://127.0.0.1:9/v1", "gpt-4o-mini"}, {1, "http://vllm:8000/v1", "meta-llama/Llama-3.1-8B"}, {2, "https://api.groq.com/openai/v1", "llama-3.3-70b"}} {
		base, model, err := want[m.i].Backend()
		if err != nil || base != m.base || model != m.model {
			t.Errorf("Backend(%s) = %s, %s, %v; want %s, %s", want[m.i].Model, base, model, err, m.base, m.model)
		}
	}
	err := res.Config.CheckSecrets(t.Context(), &fakeResolver{values: map[string]string{}})
	if err == nil || !strings.Contains(err.Error(), "os.environ/GROQ_API_KEY (used by model_list (groq) litellm_params.api_key)") {
		t.Errorf("CheckSecrets = %v", err)
	}

	plain := config.Parse([]byte("model_list: {not: a list}\ngeneral_settings:\n  pass_through_endpoints:\n    - {path: /x, target: https://h.example.com, auth: true}\n"))
	if plain.Err != nil || plain.Config.Models != nil {
		t.Errorf("without an adapter endpoint model_list is ignored: %+v, %v", plain.Config, plain.Err)
	}
}
