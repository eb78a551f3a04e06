package proxy_test

import (
	"strings"
	"testing"
)

// An exact route nested under an include_subpath route cannot be reached through the prefix
// route by a path that only resolves to it: dot segments (plain or encoded), repeated slashes
// and encoded slashes hiding them are resolved before the route lookup, so the stricter exact
// route (here: keyed) answers, and the upstream is called only with the key.
func TestNormalisedPathReachesTheNestedExactRoute(t *testing.T) {
	const cfg = `
general_settings:
  master_key: sk-1234
  pass_through_endpoints:
    - {path: /openai, target: "{{UP}}/v1", include_subpath: true, auth: false}
    - {path: /openai/organization, target: "{{UP}}/v1/organization"}
`
	up := startUpstream(t, jsonReply(200, `{}`))
	g := startGateway(t, cfg, up.URL)
	const noKey = `{"error":{"message":"Authentication Error, No api key passed in.","type":"auth_error","param":"None","code":"401"}}`
	for _, uri := range []string{
		"/openai/organization",
		"/openai/./organization",
		"/openai//organization",
		"/openai/x/../organization",
		"/openai/%2e/organization",
		"/openai/%2E%2E/openai/organization",
		"/openai/x%2F..%2Forganization",
		"/openai/organization/.",
		"/openai/organization%2F",
		"//openai/organization",
		"/openai/./organization?b=1",
	} {
		resp, body := rawRequest(t, g.URL, "GET "+uri)
		if resp.StatusCode != 401 || strings.TrimSpace(string(body)) != noKey {
			t.Errorf("GET %s without a key: %d %s; want 401 %s", uri, resp.StatusCode, body, noKey)
		}
	}
	if n := up.count(); n != 0 {
		t.Fatalf("the upstream received %d request(s) without the key, want 0", n)
	}
	// The prefix route still serves what is really below it, resolved the same way.
	for uri, want := range map[string]string{
		"/openai/models":               "/v1/models",
		"/openai/./models/":            "/v1/models/",
		"/openai//x/..//models":        "/v1/models",
		"/openai/organization2":        "/v1/organization2",
		"/openai/organization/members": "/v1/organization/members",
	} {
		resp, body := rawRequest(t, g.URL, "GET "+uri)
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %d %s, want 200", uri, resp.StatusCode, body)
			continue
		}
		if got := up.last(t).URI; got != want {
			t.Errorf("GET %s: upstream got %s, want %s", uri, got, want)
		}
	}
	// A path that climbs out of the prefix route is not served by it.
	resp, body := rawRequest(t, g.URL, "GET /openai/../admin")
	if resp.StatusCode != 404 {
		t.Errorf("GET /openai/../admin: %d %s, want 404", resp.StatusCode, body)
	}
}

// Sub-delimiters in a subpath reach the upstream as the client wrote them, also in a segment
// whose encoded slashes had to be resolved: "," and ";" are not re-escaped to %2C / %3B.
func TestSubpathKeepsCommaAndSemicolon(t *testing.T) {
	const cfg = `
general_settings:
  pass_through_endpoints:
    - {path: /s3, target: "{{UP}}/bucket", include_subpath: true, auth: false}
`
	up := startUpstream(t, jsonReply(200, `{}`))
	g := startGateway(t, cfg, up.URL)
	for uri, want := range map[string]string{
		"/s3/a,b;c=d":            "/bucket/a,b;c=d",
		"/s3/a,b/x%2F..%2Fc,d;e": "/bucket/a,b/c,d;e",
		"/s3/k;v%2F%2Fw,x":       "/bucket/k;v/w,x",
		"/s3/k%2Cv%3B":           "/bucket/k%2Cv%3B",
		"/s3/./a,b%2F.%2F;x":     "/bucket/a,b/;x",
	} {
		resp, body := rawRequest(t, g.URL, "GET "+uri)
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %d %s, want 200", uri, resp.StatusCode, body)
			continue
		}
		if got := up.last(t).URI; got != want {
			t.Errorf("GET %s: upstream got %s, want %s", uri, got, want)
		}
	}
}
