//go:build !noawsbackends

package main

import (
	"strings"
	"testing"
)

// A literal credential in a query parameter (default_query_params or the target's query) is
// refused like a literal credential header: it would sit in a plain String parameter.
func TestRoutesPushRefusesLiteralQueryCredentials(t *testing.T) {
	noPrefixEnv(t)
	api := ssmAPI(t)
	path := writeFile(t, "literal-query.yaml", `
general_settings:
  master_key: os.environ/MK
  pass_through_endpoints:
    - {path: /g, target: "https://g.example.com/v1?key=AIzaLITERAL&alt=sse", auth: true, default_query_params: {token: "os.environ/T", v: "1"}}
    - {path: /d, target: "https://d.example.com", auth: true, default_query_params: {api_key: sk-LITERAL}}
`)
	r := ctl(t, "", "routes", "push", path, "--prefix", "/litq")
	want := "gatewayctl: refusing to store credentials in plain String parameters:\n" +
		"  pass_through_endpoints[0] (/g) target query key\n  pass_through_endpoints[1] (/d) default_query_params.api_key\n" +
		"reference them as os.environ/NAME (a Secrets Manager secret), or pass --secure-string (or --allow-literal-credentials)\n"
	if r.code != 1 || r.stderr != want || strings.Contains(r.stdout+r.stderr, "LITERAL") {
		t.Fatalf("exit %d\nstdout %q\nstderr %q\nwant stderr %q", r.code, r.stdout, r.stderr, want)
	}
	if n := len(stored(t, api, "/litq")); n != 0 {
		t.Fatalf("%d parameters written", n)
	}
}
