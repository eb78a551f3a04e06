package config_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/passthru/gateway/shared/config"
)

// os.environ/ is resolved in header and query parameter values only: anywhere else it would be
// sent upstream or matched as text, so parsing refuses it and names the field.
func TestParseRefusesMisplacedRefs(t *testing.T) {
	const x = "pass_through_endpoints[1] (/x): "
	const places = "os.environ/ references are resolved only in header values and query parameter values"
	tests := []struct {
		name  string
		lines []string
		want  string
	}{
		{"target host", []string{"path: /x", "target: https://os.environ/HOST/v1", "auth: true"},
			x + `target: https://os.environ/HOST/v1 holds an os.environ/ reference outside a query parameter value, where it would be used as text: ` + places},
		{"target path", []string{"path: /x", "target: https://h.example/v1/os.environ/DEPLOYMENT", "auth: true"},
			x + `target: https://h.example/v1/os.environ/DEPLOYMENT holds an os.environ/ reference outside a query parameter value`},
		{"target path encoded", []string{"path: /x", "target: https://h.example/v1/os.environ%2FDEPLOYMENT?key=lit", "auth: true"},
			x + `target: https://h.example/v1/os.environ%2FDEPLOYMENT?key=[REDACTED] holds an os.environ/ reference outside a query parameter value`},
		{"target query name", []string{"path: /x", `target: "https://h.example/v1?os.environ/N=1"`, "auth: true"},
			x + `target: query parameter name "os.environ/N" holds an os.environ/ reference: ` + places},
		{"target query value names nothing", []string{"path: /x", `target: "https://h.example/v1?key=os.environ/"`, "auth: true"},
			x + `target: query parameter key: os.environ/ names no variable`},
		{"default param name", []string{"path: /x", "target: https://h.example/v1", "auth: true", `default_query_params: {"os.environ/N": v}`},
			x + `default_query_params: "os.environ/N" holds an os.environ/ reference, which would be used as text: ` + places},
		{"default param value with space", []string{"path: /x", "target: https://h.example/v1", "auth: true", `default_query_params: {key: "os.environ/UP KEY"}`},
			x + `default_query_params.key: secret name "UP KEY" must not contain white space`},
		{"path", []string{"path: /x/os.environ/P", "target: https://h.example/v1", "auth: true"},
			`pass_through_endpoints[1] (/x/os.environ/P): path: "/x/os.environ/P" holds an os.environ/ reference`},
		{"id", []string{"path: /x", "id: os.environ/ID", "target: https://h.example/v1", "auth: true"},
			x + `id: "os.environ/ID" holds an os.environ/ reference`},
		{"tags", []string{"path: /x", "target: https://h.example/v1", "auth: true", "tags: [team, os.environ/TEAM]"},
			x + `tags: "os.environ/TEAM" holds an os.environ/ reference`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := config.Parse([]byte(endpointDoc(tt.lines...)))
			errs := errList(res.Err)
			if len(errs) != 1 || !strings.HasPrefix(errs[0], tt.want) {
				t.Errorf("errors = %q, want exactly one starting with %q", errs, tt.want)
			}
		})
	}
}

func TestParseRefusesRefsInKeyFields(t *testing.T) {
	doc := "keys:\n  - {alias: a, key: os.environ/A_KEY, routes: [/os.environ/R]}\n"
	errs := errList(config.Parse([]byte(doc)).Err)
	want := `keys[0] (a): routes: "/os.environ/R" holds an os.environ/ reference, which would be used as text`
	if len(errs) != 1 || !strings.HasPrefix(errs[0], want) {
		t.Errorf("errors = %q, want one starting with %q", errs, want)
	}
}

const queryRefsDoc = `general_settings:
  pass_through_endpoints:
    - path: /g
      target: "https://h.example/v1?key=os.environ%2FTARGET_KEY&alt=sse"
      auth: true
      headers: {X-A: os.environ/HDR}
      default_query_params: {token: "Bearer os.environ/DEFAULT_TOKEN", v: "1"}
`

// Query references are secrets like header ones: listed, checked at load, users named.
func TestQueryRefsAreSecrets(t *testing.T) {
	res := config.Parse([]byte(queryRefsDoc))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if got, want := res.Config.SecretRefs(), []string{"HDR", "DEFAULT_TOKEN", "TARGET_KEY"}; !slices.Equal(got, want) {
		t.Errorf("SecretRefs = %q, want %q", got, want)
	}
	err := res.Config.CheckSecrets(context.Background(), &fakeResolver{values: map[string]string{"HDR": "h"}})
	want := []string{
		`os.environ/DEFAULT_TOKEN (used by pass_through_endpoints[0] (/g) default_query_params.token): secret "DEFAULT_TOKEN" is not set`,
		`os.environ/TARGET_KEY (used by pass_through_endpoints[0] (/g) target query key): secret "TARGET_KEY" is not set`,
	}
	if got := errList(err); !slices.Equal(got, want) {
		t.Errorf("CheckSecrets errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// CheckTarget's messages never show a credential-like query value.
func TestCheckTargetHidesQueryCredentials(t *testing.T) {
	tests := []struct{ target, want string }{
		{"ftp://h.example/v1?key=AIzaLITERAL&alt=sse", `"ftp://h.example/v1?key=[REDACTED]&alt=sse" must be an absolute http:// or https:// URL`},
		{"https://h.example/v1?sig=LITERAL#frag", `"https://h.example/v1?sig=[REDACTED]#frag" must not have a #fragment`},
		{"https://u:p@h.example/v1?token=LITERAL", `https://u:xxxxx@h.example/v1?token=[REDACTED] must not carry credentials`},
		{"https://h.example:bad/v1?api_key=LITERAL", `"https://h.example:bad/v1?[REDACTED]" is not a valid URL: invalid port ":bad" after host`},
	}
	for _, tt := range tests {
		err := config.CheckTarget(tt.target)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) || strings.Contains(err.Error(), "LITERAL") {
			t.Errorf("CheckTarget(%q) = %v, want a message starting with %q", tt.target, err, tt.want)
		}
	}
}

// routes push refuses literal credential-like query values as it does literal credential headers.
func TestLiteralCredentialsInQuery(t *testing.T) {
	doc := `general_settings:
  master_key: os.environ/MK
  pass_through_endpoints:
    - path: /g
      target: "https://h.example/v1?key=AIzaLITERAL&alt=sse&sig=os.environ/SIG"
      auth: true
      default_query_params: {api_key: literal, token: "os.environ/T", v: "1", author: ann, monkey: "1"}
`
	res := config.Parse([]byte(doc))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	want := []string{"pass_through_endpoints[0] (/g) default_query_params.api_key", "pass_through_endpoints[0] (/g) target query key"}
	if got := res.Config.LiteralCredentials(); !slices.Equal(got, want) {
		t.Errorf("LiteralCredentials = %q, want %q", got, want)
	}
}
