package config_test

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/passthru/gateway/shared/config"
)

func TestCORSSetting(t *testing.T) {
	const routes = "\n  pass_through_endpoints:\n    - {path: /v1/x, target: https://up.example/x, auth: false}\n"
	tests := []struct {
		name     string
		cors     string
		want     *config.CORS
		wantErrs []string
		wantWarn []string
	}{
		{name: "absent", cors: "", want: nil},
		{name: "origins and max_age", cors: "  cors: {allow_origins: [\"https://App.example.com\", \"http://localhost:5173\"], max_age: 60}\n",
			want: &config.CORS{AllowOrigins: []string{"https://app.example.com", "http://localhost:5173"}, MaxAge: time.Minute}},
		{name: "any origin, default max_age", cors: "  cors: {allow_origins: [\"*\"]}\n",
			want: &config.CORS{AllowOrigins: []string{"*"}, MaxAge: config.DefaultCORSMaxAge}},
		{name: "unknown field warned", cors: "  cors: {allow_origins: [\"*\"], allow_credentials: true}\n",
			want:     &config.CORS{AllowOrigins: []string{"*"}, MaxAge: config.DefaultCORSMaxAge},
			wantWarn: []string{"general_settings.cors.allow_credentials is unknown and ignored (line 3)"}},
		{name: "origin with a path", cors: "  cors: {allow_origins: [\"https://app.example.com/\"]}\n",
			wantErrs: []string{`general_settings.cors.allow_origins: "https://app.example.com/" is not an origin (scheme://host[:port], no path, or "*") (line 3)`}},
		{name: "not a url", cors: "  cors: {allow_origins: [app.example.com]}\n",
			wantErrs: []string{`general_settings.cors.allow_origins: "app.example.com" is not an origin (scheme://host[:port], no path, or "*") (line 3)`}},
		{name: "a string, not a list", cors: "  cors: {allow_origins: \"*\"}\n",
			wantErrs: []string{`general_settings.cors.allow_origins: must be a list of origins, found "*" (line 3)`}},
		{name: "empty list", cors: "  cors: {allow_origins: []}\n",
			wantErrs: []string{`general_settings.cors.allow_origins: list at least one origin, or "*" (line 3)`}},
		{name: "not a mapping", cors: "  cors: true\n",
			wantErrs: []string{"general_settings.cors: must be a mapping with allow_origins (line 3)"}},
		{name: "bad max_age", cors: "  cors: {allow_origins: [\"*\"], max_age: -1}\n",
			wantErrs: []string{"general_settings.cors.max_age: must be a number of seconds between 0 and 86400, found -1 (line 3)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := config.Parse([]byte("general_settings:\n  master_key: sk-1\n" + tt.cors + routes))
			if got := errList(res.Err); !slices.Equal(got, tt.wantErrs) {
				t.Fatalf("errors = %q, want %q", got, tt.wantErrs)
			}
			if tt.wantErrs != nil {
				return
			}
			if !reflect.DeepEqual(res.Config.CORS, tt.want) {
				t.Errorf("CORS = %+v, want %+v", res.Config.CORS, tt.want)
			}
			if tt.wantWarn != nil && !slices.Equal(res.Warnings, tt.wantWarn) {
				t.Errorf("warnings = %q, want %q", res.Warnings, tt.wantWarn)
			}
		})
	}
}

func TestCORSAllows(t *testing.T) {
	var none *config.CORS
	some := &config.CORS{AllowOrigins: []string{"https://app.example.com"}}
	any := &config.CORS{AllowOrigins: []string{"*"}}
	tests := []struct {
		c      *config.CORS
		origin string
		want   bool
	}{
		{none, "https://app.example.com", false},
		{some, "https://app.example.com", true},
		{some, "https://evil.example.com", false},
		{some, "https://app.example.com.evil", false},
		{some, "", false},
		{any, "https://whatever.example", true},
		{any, "null", true},
		{any, "", false},
	}
	for _, tt := range tests {
		if got := tt.c.Allows(tt.origin); got != tt.want {
			t.Errorf("%v.Allows(%q) = %v, want %v", tt.c, tt.origin, got, tt.want)
		}
	}
}
