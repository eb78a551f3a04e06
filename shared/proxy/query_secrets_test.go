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

// Detailed-debug lines hide every credential-like query value the client sent (Azure SAS `sig`,
// OAuth `code`, `api_key`...), in the client's URL and the upstream's, and keep the others.
func TestDetailedDebugRedactsQueryCredentials(t *testing.T) {
	const cfg = `
general_settings:
  master_key: sk-1234
  pass_through_endpoints:
    - path: /blob
      target: "{{UP}}/blob"
      auth: false
`
	up := startUpstream(t, jsonReply(200, `{}`))
	g := startGateway(t, cfg, up.URL, proxy.WithDetailedDebug(true))
	resp, body := do(t, "GET", g.URL+"/blob?sv=2024&sig=SIGVALUE1&code=CODEVALUE2&api_key=KEYVALUE3&pwd=PWDVALUE4", nil, nil)
	wantStatus(t, resp, body, 200)
	logs := g.logs.String()
	for _, line := range []string{"client request", "upstream request"} {
		if !strings.Contains(logs, `msg="`+line+`"`) {
			t.Fatalf("no %q line in:\n%s", line, logs)
		}
	}
	for _, v := range []string{"SIGVALUE1", "CODEVALUE2", "KEYVALUE3", "PWDVALUE4"} {
		if strings.Contains(logs, v) {
			t.Errorf("query credential %s in logs:\n%s", v, logs)
		}
	}
	if !strings.Contains(logs, "sv=2024") {
		t.Errorf("non-credential parameter sv hidden too:\n%s", logs)
	}
}

// A transport failure's log line (which carries the Go error) never shows a resolved query secret.
func TestUpstreamFailureLogHidesQuerySecret(t *testing.T) {
	const cfg = `
general_settings:
  master_key: sk-1234
  pass_through_endpoints:
    - path: /g
      target: "{{UP}}/v1"
      auth: false
      default_query_params: {key: "os.environ/COHERE_API_KEY"}
`
	up := startUpstream(t, nil)
	up.Close() // connection refused
	g := startGateway(t, cfg, up.URL)
	resp, body := do(t, "GET", g.URL+"/g", nil, nil)
	wantStatus(t, resp, body, 502)
	logs := g.logs.String()
	if !strings.Contains(logs, `msg="upstream request failed"`) {
		t.Fatalf("no failure line in:\n%s", logs)
	}
	if strings.Contains(logs, "co-xyz") || strings.Contains(string(body), "co-xyz") {
		t.Errorf("resolved query secret in the log or the answer:\n%s\n%s", logs, body)
	}
}

// A client's own os.environ/ text is never resolved: otherwise any caller could have a secret
// sent to a URL it reads, on routes with and without query references alike.
func TestClientQueryReferencesAreNotResolved(t *testing.T) {
	const cfg = `
general_settings:
  master_key: sk-1234
  pass_through_endpoints:
    - path: /with
      target: "{{UP}}/with"
      auth: false
      default_query_params: {alt: "os.environ/COHERE_API_KEY"}
    - path: /without
      target: "{{UP}}/without?a=1"
      auth: false
`
	up := startUpstream(t, jsonReply(200, `{}`))
	g := startGateway(t, cfg, up.URL)
	tests := []struct{ path, want string }{
		{"/with?x=os.environ/ANTHROPIC_API_KEY", "/with?alt=co-xyz&x=os.environ%2FANTHROPIC_API_KEY"},
		{"/with?alt=os.environ/ANTHROPIC_API_KEY", "/with?alt=os.environ%2FANTHROPIC_API_KEY"},
		{"/without?x=os.environ%2FANTHROPIC_API_KEY", "/without?a=1&x=os.environ%2FANTHROPIC_API_KEY"},
	}
	for _, tt := range tests {
		resp, body := do(t, "GET", g.URL+tt.path, nil, nil)
		wantStatus(t, resp, body, 200)
		if got := up.last(t).URI; got != tt.want {
			t.Errorf("GET %s: upstream URI = %q, want %q", tt.path, got, tt.want)
		}
	}
}
