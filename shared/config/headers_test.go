package config_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/passthru/gateway/shared/config"
)

// authDoc puts one `auth` line (or none) on line 5 of a config.
func authDoc(line string) string {
	doc := "general_settings:\n" +
		"  pass_through_endpoints:\n" +
		"    - path: /x\n" +
		"      target: https://api.example.com/x\n"
	if line != "" {
		doc += "      " + line + "\n"
	}
	return doc
}

func TestParseAuth(t *testing.T) {
	const name = "pass_through_endpoints[0] (/x)"
	notBool := func(v string) []string {
		return []string{name + `: auth: "` + v + `" is neither true nor false and is treated as missing (any valid key) (line 5)`}
	}
	tests := []struct {
		line         string
		want         config.AuthMode
		wantWarnings []string
	}{
		{"auth: true", config.AuthGranted, nil},
		{"auth: True", config.AuthGranted, nil},
		{`auth: "true"`, config.AuthGranted, nil},
		{`auth: " TRUE "`, config.AuthGranted, nil},
		{"auth: false", config.AuthPublic, nil},
		{"auth: FALSE", config.AuthPublic, nil},
		{`auth: "False"`, config.AuthPublic, nil},
		{`auth: 'false'`, config.AuthPublic, nil},
		{"", config.AuthAnyKey, []string{missingAuthWarning(name)}},
		{`auth: "yes"`, config.AuthAnyKey, notBool("yes")},
		{"auth: yes", config.AuthAnyKey, notBool("yes")},
		{"auth: 1", config.AuthAnyKey, notBool("1")},
		{"auth: 0", config.AuthAnyKey, notBool("0")},
		{`auth: ""`, config.AuthAnyKey, notBool("")},
		{"auth: enabled", config.AuthAnyKey, notBool("enabled")},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			res := config.Parse([]byte(authDoc(tt.line)))
			if res.Err != nil {
				t.Fatalf("Parse: %v", res.Err)
			}
			if got := res.Config.Endpoints[0].Auth; got != tt.want {
				t.Errorf("Auth = %v, want %v", got, tt.want)
			}
			if !slices.Equal(res.Warnings, tt.wantWarnings) {
				t.Errorf("Warnings = %q, want %q", res.Warnings, tt.wantWarnings)
			}
		})
	}
}

// LiteLLM treats `auth: null` (None) like a missing `auth` (reference §2.1: "missing, None, ..."
// → ANY_KEY, with the start-up warning). The operator must be told, as for a missing key.
func TestParseAuthNullWarns(t *testing.T) {
	for _, line := range []string{"auth:", "auth: null", "auth: ~"} {
		t.Run(line, func(t *testing.T) {
			res := config.Parse([]byte(authDoc(line)))
			if res.Err != nil {
				t.Fatalf("Parse: %v", res.Err)
			}
			if got := res.Config.Endpoints[0].Auth; got != config.AuthAnyKey {
				t.Errorf("Auth = %v, want %v", got, config.AuthAnyKey)
			}
			found := false
			for _, w := range res.Warnings {
				if strings.Contains(w, "pass_through_endpoints[0] (/x)") && strings.Contains(w, "auth") {
					found = true
				}
			}
			if !found {
				t.Errorf("Warnings = %q, want a warning naming pass_through_endpoints[0] (/x) and auth (null auth means any valid key may call)", res.Warnings)
			}
		})
	}
}

func TestAuthModeString(t *testing.T) {
	for mode, want := range map[config.AuthMode]string{
		config.AuthAnyKey:  "any-key",
		config.AuthGranted: "granted-keys",
		config.AuthPublic:  "public",
	} {
		if got := mode.String(); got != want {
			t.Errorf("AuthMode(%d).String() = %q, want %q", int(mode), got, want)
		}
	}
}
