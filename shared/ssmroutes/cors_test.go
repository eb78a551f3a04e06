package ssmroutes_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

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
