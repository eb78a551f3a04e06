package route_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/route"
	"github.com/passthru/gateway/shared/secrets"
)

// Adapter routes resolve each model to its backend: the chat completions URL under the base
// (a base naming the endpoint kept), the backend model, the credential; the table lists them.
func TestAdapterBackends(t *testing.T) {
	res := config.Parse([]byte(`model_list:
  - {model_name: fast, litellm_params: {model: openai/gpt-4o-mini, api_base: "https://gw.example/v1/chat/completions", api_key: os.environ/K1}}
  - {model_name: local, litellm_params: {model: hosted_vllm/llama, api_base: "http://vllm:8000/v1/"}}
general_settings:
  pass_through_endpoints:
    - {path: /v1/messages, target: custom_callbacks.anthropic_adapter, auth: true}
    - path: /native/v1/messages
      adapter: anthropic
      target: "https://api.example.com/openai?api-version=1"
      auth: true
      headers: {Authorization: "Bearer os.environ/K2"}
      models: {claude-sonnet-4-5: gpt-4o}
`))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	tbl, err := route.NewTable(res.Config)
	if err != nil {
		t.Fatal(err)
	}
	res2 := secrets.Inline{"K1": "k-one", "K2": "k-two"}
	tests := []struct {
		path, model, url, backend, auth string
	}{
		{"/v1/messages", "fast", "https://gw.example/v1/chat/completions", "gpt-4o-mini", "Bearer k-one"},
		{"/v1/messages", "local", "http://vllm:8000/v1/chat/completions", "llama", ""},
		{"/native/v1/messages", "claude-sonnet-4-5", "https://api.example.com/openai/chat/completions?api-version=1", "gpt-4o", "Bearer k-two"},
		{"/native/v1/messages", "gpt-4.1", "https://api.example.com/openai/chat/completions?api-version=1", "gpt-4.1", "Bearer k-two"},
	}
	for _, tt := range tests {
		rt := tbl.Lookup("POST", tt.path).Route
		b, err := rt.Adapter.Backend(tt.model)
		if err != nil {
			t.Fatalf("%s %s: %v", tt.path, tt.model, err)
		}
		h := http.Header{}
		if err := b.WriteHeaders(context.Background(), h, res2); err != nil {
			t.Fatal(err)
		}
		if b.URL.String() != tt.url || b.Model != tt.backend || h.Get("Authorization") != tt.auth {
			t.Errorf("%s %s → %s %s %q; want %s %s %q", tt.path, tt.model, b.URL, b.Model, h.Get("Authorization"), tt.url, tt.backend, tt.auth)
		}
	}
	if _, err := tbl.Lookup("POST", "/v1/messages").Route.Adapter.Backend("gpt-4o"); err == nil || err.Error() != `model "gpt-4o" is not served here; the models are: fast, local` {
		t.Errorf("unknown model: %v", err)
	}
	want := "/v1/messages [POST] -> anthropic adapter: fast -> https://gw.example/v1/chat/completions (gpt-4o-mini), local -> http://vllm:8000/v1/chat/completions (llama) (auth granted-keys)\n" +
		"/native/v1/messages [POST] -> anthropic adapter: https://api.example.com/openai/chat/completions?api-version=1, claude-sonnet-4-5 as gpt-4o (auth granted-keys)\n"
	if got := tbl.String(); got != want {
		t.Errorf("String =\n%s\nwant\n%s", got, want)
	}
}
