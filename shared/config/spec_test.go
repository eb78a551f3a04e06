package config_test

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passthru/gateway/shared/config"
)

// Spec renders every field so that ParseEndpoint gives back the same endpoint.
func TestSpecRoundTrip(t *testing.T) {
	data, err := os.ReadFile("testdata/every_field.yaml")
	if err != nil {
		t.Fatal(err)
	}
	res := config.Parse(data)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	for _, e := range res.Config.Endpoints {
		spec := e.Spec()
		back, warns, err := config.ParseEndpoint(spec)
		if err != nil {
			t.Fatalf("%s: %v\n%s", e.Name(), err, spec)
		}
		back.Index = e.Index
		if !reflect.DeepEqual(back, e) {
			t.Errorf("round trip of %s:\n got %+v\nwant %+v\nspec %s (warnings %q)", e.Name(), back, e, spec, warns)
		}
		if string(back.Spec()) != string(spec) {
			t.Errorf("Spec is not stable:\n%s\n%s", back.Spec(), spec)
		}
	}
}

func TestSpecExact(t *testing.T) {
	res := config.Parse([]byte(`
general_settings:
  pass_through_endpoints:
    - path: /v1/rerank
      target: https://api.cohere.com/v1/rerank
      auth: true
      methods: [POST]
      headers: {Authorization: "bearer os.environ/COHERE_API_KEY", accept: application/json}
`))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	e := res.Config.Endpoints[0]
	want := `{"path":"/v1/rerank","target":"https://api.cohere.com/v1/rerank","headers":{"Authorization":"bearer os.environ/COHERE_API_KEY","accept":"application/json"},"methods":["POST"],"auth":true}`
	if got := string(e.Spec()); got != want {
		t.Errorf("Spec =\n%s\nwant\n%s", got, want)
	}
}

func TestRouteID(t *testing.T) {
	tests := []struct {
		yaml, want string
	}{
		{`{path: /v1/rerank, target: https://x.example.com}`, "v1-rerank"},
		{`{path: /v1/rerank, target: https://x.example.com, methods: [POST]}`, "v1-rerank.post"},
		{`{path: /, target: https://x.example.com}`, "root"},
		{`{path: "/a b/c:d", target: https://x.example.com}`, "a-b-c-d"},
		{`{id: "my route/1", path: /x, target: https://x.example.com}`, "my-route-1"},
	}
	for _, tt := range tests {
		e, _, err := config.ParseEndpoint([]byte(tt.yaml))
		if err != nil && tt.want != "a-b-c-d" {
			t.Fatalf("%s: %v", tt.yaml, err)
		}
		if got := e.RouteID(); got != tt.want {
			t.Errorf("RouteID(%s) = %q, want %q", tt.yaml, got, tt.want)
		}
	}
}

// The gateway's usage extensions: route tags and cost injection, per route or for all routes
// through LiteLLM's own litellm_settings.include_cost_in_streaming_usage.
func TestTagsAndCostInjection(t *testing.T) {
	res := config.Parse([]byte(`
litellm_settings:
  include_cost_in_streaming_usage: true
general_settings:
  pass_through_endpoints:
    - {path: /a, target: "https://a.example.com", auth: false, tags: [team-a, " exp "], include_cost_in_streaming_usage: true}
`))
	if res.Err != nil || len(res.Warnings) != 0 {
		t.Fatalf("%v %q", res.Err, res.Warnings)
	}
	e := res.Config.Endpoints[0]
	if !res.Config.IncludeCostInStreamingUsage || !e.IncludeCostInStreamingUsage || !reflect.DeepEqual(e.Tags, []string{"team-a", "exp"}) {
		t.Errorf("config %+v, endpoint tags %q inject %v", res.Config.IncludeCostInStreamingUsage, e.Tags, e.IncludeCostInStreamingUsage)
	}
	want := `{"path":"/a","target":"https://a.example.com","auth":false,"tags":["team-a","exp"],"include_cost_in_streaming_usage":true}`
	if got := string(e.Spec()); got != want {
		t.Errorf("Spec = %s\nwant %s", got, want)
	}
	for _, bad := range []string{`tags: team-a`, `tags: [""]`, `include_cost_in_streaming_usage: "yes"`} {
		res := config.Parse([]byte("general_settings:\n  pass_through_endpoints:\n    - path: /a\n      target: https://a.example.com\n      " + bad + "\n"))
		if res.Err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestModelPrices(t *testing.T) {
	res := config.Parse([]byte(`
model_prices:
  my-finetune:
    input_cost_per_token: 0.000002
    output_cost_per_token: 0.000008
  rerank-english-v3.0: {search_unit_cost: 0.001}
general_settings:
  pass_through_endpoints:
    - {path: /a, target: "https://a.example.com", auth: false}
`))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	want := map[string]config.ModelPrice{
		"my-finetune":         {InputCostPerToken: 0.000002, OutputCostPerToken: 0.000008},
		"rerank-english-v3.0": {SearchUnitCost: 0.001},
	}
	if !reflect.DeepEqual(res.Config.ModelPrices, want) {
		t.Errorf("ModelPrices = %+v", res.Config.ModelPrices)
	}
	for _, bad := range []string{"model_prices: 3", "model_prices: {m: {input_cost_per_token: -1}}", "model_prices: {m: {input_cost_per_token: cheap}}"} {
		if res := config.Parse([]byte(bad + "\ngeneral_settings: {}\n")); res.Err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestLocalKeys(t *testing.T) {
	res := config.Parse([]byte(`
keys:
  - {alias: team-a, key: os.environ/TEAM_A_KEY, rpm: 10, routes: [/v1/rerank], expires: 2027-01-31, tags: [team-a], metadata: {owner: ana}}
  - {alias: ci, key: sk-ci-literal}
general_settings:
  pass_through_endpoints:
    - {path: /v1/rerank, target: "https://a.example.com", auth: true}
`))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	exp := time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)
	want := []config.KeySpec{
		{Alias: "team-a", Key: "os.environ/TEAM_A_KEY", RPM: 10, Routes: []string{"/v1/rerank"}, Expires: &exp, Tags: []string{"team-a"}, Metadata: map[string]string{"owner": "ana"}},
		{Alias: "ci", Key: "sk-ci-literal"},
	}
	if !reflect.DeepEqual(res.Config.Keys, want) {
		t.Errorf("Keys = %+v", res.Config.Keys)
	}
	if refs := res.Config.SecretRefs(); !slices.Contains(refs, "TEAM_A_KEY") {
		t.Errorf("SecretRefs = %q, want the key's reference too", refs)
	}
	for bad, msg := range map[string]string{
		`[{key: k}]`: "keys[0] (): alias: is required",
		`[{alias: a, key: k}, {alias: a, key: j}]`: `keys[1] (a): alias: "a" is used twice`,
		`[{alias: a}]`:                        "keys[0] (a): key: is required",
		`[{alias: a, key: k, rpm: -1}]`:       "keys[0] (a): rpm: must not be negative",
		`[{alias: a, key: k, routes: [x]}]`:   `keys[0] (a): routes: "x" must start with /`,
		`[{alias: a, key: k, expires: soon}]`: `keys[0] (a): expires: "soon" is neither a date`,
	} {
		res := config.Parse([]byte("keys: " + bad + "\ngeneral_settings: {}\n"))
		if res.Err == nil || !strings.Contains(res.Err.Error(), msg) {
			t.Errorf("%s: err %v, want %q", bad, res.Err, msg)
		}
	}
}

// `provider:` names who serves an endpoint; it survives a routes push (Spec) and only a plain
// name is accepted, since it becomes a metric dimension.
func TestEndpointProvider(t *testing.T) {
	res := config.Parse([]byte(`
general_settings:
  pass_through_endpoints:
    - {path: /groq, target: "https://api.groq.com/openai", include_subpath: true, auth: false, provider: groq}
`))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	e := res.Config.Endpoints[0]
	if e.Provider != "groq" {
		t.Fatalf("Provider = %q, want groq", e.Provider)
	}
	want := `{"path":"/groq","target":"https://api.groq.com/openai","include_subpath":true,"auth":false,"provider":"groq"}`
	if got := string(e.Spec()); got != want {
		t.Errorf("Spec =\n%s\nwant\n%s", got, want)
	}
	back, _, err := config.ParseEndpoint(e.Spec())
	if err != nil || back.Provider != "groq" {
		t.Errorf("round trip: provider %q, err %v", back.Provider, err)
	}
	for _, bad := range []string{`"Groq AI"`, `""`, `[openai]`, strings.Repeat("a", 65)} {
		res := config.Parse([]byte("general_settings:\n  pass_through_endpoints:\n    - {path: /x, target: \"https://h.example.com\", auth: false, provider: " + bad + "}\n"))
		if res.Err == nil || !strings.Contains(res.Err.Error(), "provider: must be") {
			t.Errorf("provider %s: err %v, want a provider error", bad, res.Err)
		}
	}
}
