package ssmroutes_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/passthru/gateway/shared/builtin"
	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/ssmroutes"
)

// general_settings.cors survives a push: stored in the settings parameter, read back by Build.
func TestSettingsCarryCORS(t *testing.T) {
	res := config.Parse([]byte(`
general_settings:
  master_key: os.environ/MK
  cors: {allow_origins: ["https://app.example.com"], max_age: 90}
  pass_through_endpoints:
    - {path: /a, target: "https://a.example", auth: true}
`))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	st := ssmroutes.SettingsOf(res.Config)
	raw, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"master_key":"os.environ/MK","cors":{"allow_origins":["https://app.example.com"],"max_age":90}}`; string(raw) != want {
		t.Errorf("stored settings = %s, want %s", raw, want)
	}
	tests := []struct {
		name, value string
		want        *config.CORS
	}{
		{"pushed", string(raw), &config.CORS{AllowOrigins: []string{"https://app.example.com"}, MaxAge: 90 * time.Second}},
		{"no max_age", `{"cors":{"allow_origins":["*"]}}`, &config.CORS{AllowOrigins: []string{"*"}, MaxAge: config.DefaultCORSMaxAge}},
		{"no origins", `{"cors":{"allow_origins":[]}}`, nil},
		{"none", `{"master_key":"os.environ/MK"}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ssmroutes.Build("/gw", []ssmroutes.Parameter{{Name: "/gw/settings", Value: tt.value, Version: 1}}, nil)
			if !reflect.DeepEqual(s.Config.CORS, tt.want) {
				t.Errorf("CORS = %+v, want %+v", s.Config.CORS, tt.want)
			}
		})
	}
}

// general_settings.disabled_provider_routes survives a push like cors, and turns the built-in
// routes off in the served table.
func TestSettingsCarryDisabledProviderRoutes(t *testing.T) {
	res := config.Parse([]byte("general_settings:\n  disabled_provider_routes: [gemini, mistral]\n  pass_through_endpoints:\n    - {path: /a, target: \"https://a.example\", auth: true}\n"))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	raw, _ := json.Marshal(ssmroutes.SettingsOf(res.Config))
	if want := `{"disabled_provider_routes":["gemini","mistral"]}`; string(raw) != want {
		t.Fatalf("stored settings = %s, want %s", raw, want)
	}
	s := ssmroutes.Build("/gw", []ssmroutes.Parameter{{Name: "/gw/settings", Value: string(raw), Version: 1}}, nil)
	if !reflect.DeepEqual(s.Config.DisabledProviderRoutes, []string{"gemini", "mistral"}) {
		t.Fatalf("DisabledProviderRoutes = %q", s.Config.DisabledProviderRoutes)
	}
	table, _, err := builtin.NewTable(s.Config, builtin.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		path   string
		served bool
	}{{"/gemini/v1beta/models", false}, {"/mistral/v1/models", false}, {"/openai/v1/models", true}} {
		if m := table.Lookup("GET", p.path); (m.Route != nil) != p.served {
			t.Errorf("%s served = %v, want %v", p.path, m.Route != nil, p.served)
		}
	}
}
