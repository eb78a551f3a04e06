package config_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/passthru/gateway/shared/auth"
	"github.com/passthru/gateway/shared/config"
)

// routes push's literal refusal is one consumer of auth's credential list: a literal value for
// any name in it is refused, an os.environ/ reference is not.
func TestLiteralCredentialsCoverEveryCredentialHeader(t *testing.T) {
	for _, name := range auth.CredentialHeaders() {
		t.Run(name, func(t *testing.T) {
			for value, want := range map[string][]string{
				"literal-value":           {"pass_through_endpoints[0] (/x) headers." + name},
				"os.environ/PROVIDER_KEY": nil,
			} {
				res := config.Parse(fmt.Appendf(nil, `
general_settings:
  pass_through_endpoints:
    - {path: /x, target: "https://x.example.com", auth: true, headers: {%q: %q}}
`, name, value))
				if res.Err != nil {
					t.Fatalf("parse: %v", res.Err)
				}
				if got := res.Config.LiteralCredentials(); !slices.Equal(got, want) {
					t.Errorf("%s: %q: LiteralCredentials = %q, want %q", name, value, got, want)
				}
			}
		})
	}
}
