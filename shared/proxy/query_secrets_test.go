package proxy_test

import (
	"strings"
	"testing"

	"github.com/passthru/gateway/shared/proxy"
)

// os.environ/ in default_query_params and in the target's query is resolved per request, exactly
// as in headers (text before the reference kept), merged defaults < target < client, and the
// resolved values never reach a detailed-debug log line.
func TestQuerySecretsResolvedLikeHeaders(t *testing.T) {
	const cfg = `
general_settings:
  master_key: sk-1234
  pass_through_endpoints:
    - path: /g
      target: "{{UP}}/v1/models?token=tk-os.environ/ANTHROPIC_API_KEY&b=2"
      auth: false
      default_query_params: {key: "os.environ/COHERE_API_KEY", alt: sse, b: "1"}
`
	up := startUpstream(t, jsonReply(200, `{}`))
	g := startGateway(t, cfg, up.URL, proxy.WithDetailedDebug(true))
	tests := []struct{ query, want string }{
		{"", "/v1/models?key=co-xyz&alt=sse&b=2&token=tk-sk-ant-real"},
		{"?c=3&alt=json", "/v1/models?key=co-xyz&alt=json&b=2&token=tk-sk-ant-real&c=3"},
	}
	for _, tt := range tests {
		resp, body := do(t, "GET", g.URL+"/g"+tt.query, nil, nil)
		wantStatus(t, resp, body, 200)
		if got := up.last(t).URI; got != tt.want {
			t.Errorf("GET /g%s: upstream URI = %q, want %q", tt.query, got, tt.want)
		}
	}
	logs := g.logs.String()
	if !strings.Contains(logs, "upstream request") {
		t.Fatalf("no upstream request debug line in:\n%s", logs)
	}
	for _, secret := range []string{"co-xyz", "sk-ant-real"} {
		if strings.Contains(logs, secret) {
			t.Errorf("resolved query secret %q in logs:\n%s", secret, logs)
		}
	}
}

// A query value's missing secret answers the same 503 as a header's, and nothing goes upstream;
// a malformed client query is still the client's 400.
func TestQuerySecretMissingAnswers503(t *testing.T) {
	const cfg = `
general_settings:
  master_key: sk-1234
  pass_through_endpoints:
    - path: /d
      target: "{{UP}}/d"
      auth: false
      default_query_params: {key: "os.environ/ROTATED_AWAY"}
    - path: /t
      target: "{{UP}}/t?key=os.environ%2FGONE_TOO"
      auth: false
`
	up := startUpstream(t, jsonReply(200, `{}`))
	g := startGateway(t, cfg, up.URL)
	tests := []struct {
		path   string
		status int
		body   string
	}{
		{"/d", 503, errorJSON("503", "service_unavailable", `The provider credential for this route is unavailable: secret "ROTATED_AWAY" is not set.`)},
		{"/t?x=1", 503, errorJSON("503", "service_unavailable", `The provider credential for this route is unavailable: secret "GONE_TOO" is not set.`)},
		{"/d?x=%zz", 400, errorJSON("400", "invalid_request_error", `Invalid request URL: malformed value for query parameter "x"`)},
	}
	for _, tt := range tests {
		resp, body := do(t, "GET", g.URL+tt.path, nil, nil)
		wantStatus(t, resp, body, tt.status)
		wantBody(t, body, tt.body)
	}
	if up.count() != 0 {
		t.Fatalf("upstream got %d requests without their credential", up.count())
	}
	if logs := g.logs.String(); !strings.Contains(logs, `msg="secret missing"`) || !strings.Contains(logs, "secret=ROTATED_AWAY") {
		t.Errorf("no secret-missing log line naming the secret in:\n%s", logs)
	}
}
