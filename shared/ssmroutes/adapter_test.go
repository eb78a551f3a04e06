package ssmroutes_test

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/motoserver"
	"github.com/passthru/gateway/shared/ssmroutes"
)

// The seed's adapter config reaches Lambda whole: its endpoint as a route spec, its
// model_list in the settings parameter (LiteLLM's shape); both read back to the same config.
func TestAdapterConfigThroughSSM(t *testing.T) {
	res := config.Parse([]byte(`model_list:
  - model_name: my-fake-claude-endpoint
    litellm_params: {model: gpt-3.5-turbo, api_key: os.environ/OPENAI_API_KEY, api_base: "http://127.0.0.1:9/v1"}
general_settings:
  master_key: sk-1234
  pass_through_endpoints:
    - path: "/v1/messages"
      target: custom_callbacks.anthropic_adapter
      headers:
        litellm_user_api_key: "x-api-key"
`))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	st, _ := json.Marshal(ssmroutes.SettingsOf(res.Config))
	if want := `{"master_key":"sk-1234","model_list":[{"model_name":"my-fake-claude-endpoint","litellm_params":{"model":"gpt-3.5-turbo","api_base":"http://127.0.0.1:9/v1","api_key":"os.environ/OPENAI_API_KEY"}}]}`; string(st) != want {
		t.Errorf("settings = %s\nwant       %s", st, want)
	}
	e := res.Config.Endpoints[0]
	s := ssmroutes.Build("gw", []ssmroutes.Parameter{
		{Name: "/gw/settings", Value: string(st), Version: 1},
		{Name: "/gw/routes/" + e.RouteID(), Value: string(e.Spec()), Version: 1},
	}, nil)
	if len(s.Rejected) > 0 {
		t.Fatalf("rejected: %+v", s.Rejected)
	}
	if !reflect.DeepEqual(s.Config.Models, res.Config.Models) || !reflect.DeepEqual(s.Config.Endpoints, res.Config.Endpoints) {
		t.Errorf("built %+v / %+v\nwant %+v / %+v", s.Config.Models, s.Config.Endpoints, res.Config.Models, res.Config.Endpoints)
	}

	// A model_list edited into something invalid is refused like any bad settings: the last
	// good one stays.
	bad := `{"master_key":"sk-1234","model_list":[{"model_name":"x","litellm_params":{"model":"azure/gpt-4o"}}]}`
	next := ssmroutes.Build("gw", []ssmroutes.Parameter{{Name: "/gw/settings", Value: bad, Version: 2}}, s)
	if len(next.Kept) != 1 || next.Kept[0].Version != 2 || !reflect.DeepEqual(next.Config.Models, res.Config.Models) {
		t.Errorf("Kept %+v Models %+v", next.Kept, next.Config.Models)
	}
	if want := `invalid settings: model_list[0] (x): litellm_params.model: provider "azure" is not one the adapter can call`; len(next.Kept) == 1 && next.Kept[0].Reason[:len(want)] != want {
		t.Errorf("reason = %q", next.Kept[0].Reason)
	}
}

// The seed's adapter config pushed to SSM (moto) and served by a Source: the /v1/messages
// route is an adapter route whose model resolves to the model_list backend.
func TestMotoAdapterRoute(t *testing.T) {
	motoserver.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := ssm.NewFromConfig(motoserver.Config(t))
	cfg := parse(t, `model_list:
  - model_name: my-fake-claude-endpoint
    litellm_params: {model: gpt-3.5-turbo, api_key: os.environ/OPENAI_API_KEY}
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
  pass_through_endpoints:
    - path: "/v1/messages"
      target: custom_callbacks.anthropic_adapter
      headers:
        litellm_user_api_key: "x-api-key"
`)
	push(t, ctx, client, "/adapter", cfg, false, false)
	tbl, err := ssmroutes.New(client, "/adapter").Table(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m := tbl.Lookup("POST", "/v1/messages")
	if m.Route == nil || m.Route.Adapter == nil || m.Route.KeyHeader != "X-Api-Key" {
		t.Fatalf("route = %+v", m.Route)
	}
	b, err := m.Route.Adapter.Backend("my-fake-claude-endpoint")
	if err != nil || b.URL.String() != "https://api.openai.com/v1/chat/completions" || b.Model != "gpt-3.5-turbo" {
		t.Fatalf("backend = %+v, %v", b, err)
	}
	if names := m.Route.SecretNames(); !slices.Equal(names, []string{"OPENAI_API_KEY"}) {
		t.Errorf("SecretNames = %q", names)
	}
	if _, err := m.Route.Adapter.Backend("claude-sonnet-4-5"); err == nil || err.Error() != `model "claude-sonnet-4-5" is not served here; the models are: my-fake-claude-endpoint` {
		t.Errorf("unknown model: %v", err)
	}
}
