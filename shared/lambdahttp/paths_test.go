package lambdahttp_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/passthru/gateway/shared/auth"
	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/lambdahttp"
	"github.com/passthru/gateway/shared/proxy"
	"github.com/passthru/gateway/shared/route"
)

const pathsConfig = `
general_settings:
  master_key: sk-1234
  pass_through_endpoints:
    - path: /bedrock
      target: "http://127.0.0.1:4010/bedrock-runtime"
      include_subpath: true
    - path: /x
      target: "http://127.0.0.1:4010/x-up"
      include_subpath: true
`

// pathsAdapter serves pathsConfig (a Bedrock-style include_subpath route) with its upstream at u.
func pathsAdapter(t *testing.T, u string, opts lambdahttp.Options) *lambdahttp.Adapter {
	t.Helper()
	res := config.Parse([]byte(strings.ReplaceAll(pathsConfig, "http://127.0.0.1:4010", u)))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	table, err := route.NewTable(res.Config)
	if err != nil {
		t.Fatal(err)
	}
	opts.Logger = discard
	return lambdahttp.New(proxy.New(table, proxy.WithKeys(auth.NewMasterKey("sk-1234")), proxy.WithLogger(discard)), opts)
}

const bedrockARN = "arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3-5-sonnet-20240620-v1%3A0"

// The fixtures in events/ with encoded paths reach the upstream with the client's encoding, as
// far as each front door delivers it: REST and Function URL keep it, byte for byte; an HTTP API
// has already decoded the path, so the gateway re-encodes it the standard way.
//
// The *-encoded-path.json fixtures carry "%25", "%20", "%2F" and a UTF-8 "λ-世界" through the
// include_subpath route /x. The REST and Function URL ones hold the client's
// /x/reports/100%25%20off%2Fq3/%CE%BB-%E4%B8%96%E7%95%8C as sent (captures of both kinds:
// https://github.com/hotsock/voker/blob/main/vokerhttp/testdata/ingress-paths.json, whose
// requestContext.http.path in functionurl-request.json is the decoded one). The HTTP API ones hold
// what an HTTP API hands over for /x/reports/100%2525%20off%252Fq3/%CE%BB-%E4%B8%96%E7%95%8C:
// the same capture shows it decodes twice ("%2525" arrives as "%", "%252F" as "/") and refuses a
// plain "%25" (400, no invocation), so this is the closest path a client can get through it. The
// "%2F" is a "/" by then; the upstream sees an extra segment.
func TestEncodedPathFixtures(t *testing.T) {
	up := startUpstream(t)
	const (
		bedrockBody = `{"messages":[{"role":"user","content":[{"text":"Hello"}]}],"inferenceConfig":{"maxTokens":64}}`
		reportsBody = `{"input":"100% off","lang":"λ"}`
	)
	tests := []struct {
		fixture, uri, body string
	}{
		{"rest-bedrock-converse.json", "/bedrock-runtime/model/" + bedrockARN + "/converse", bedrockBody},
		{"function-url-bedrock-converse.json", "/bedrock-runtime/model/" + bedrockARN + "/converse", bedrockBody},
		{"http-api-bedrock-converse.json", "/bedrock-runtime/model/anthropic.claude-3-5-sonnet-20240620-v1:0/converse", bedrockBody},
		{"http-api-v1-bedrock-converse.json", "/bedrock-runtime/model/anthropic.claude-3-5-sonnet-20240620-v1:0/converse", bedrockBody},
		{"rest-encoded-path.json", "/x-up/reports/100%25%20off%2Fq3/%CE%BB-%E4%B8%96%E7%95%8C", reportsBody},
		{"function-url-encoded-path.json", "/x-up/reports/100%25%20off%2Fq3/%CE%BB-%E4%B8%96%E7%95%8C", reportsBody},
		{"http-api-encoded-path.json", "/x-up/reports/100%25%20off/q3/%CE%BB-%E4%B8%96%E7%95%8C", reportsBody},
		{"http-api-v1-encoded-path.json", "/x-up/reports/100%25%20off/q3/%CE%BB-%E4%B8%96%E7%95%8C", reportsBody},
	}
	for _, mode := range []lambdahttp.Mode{lambdahttp.Stream, lambdahttp.Buffered} {
		a := pathsAdapter(t, up.URL, lambdahttp.Options{RESTMode: mode, FunctionURLMode: mode})
		for _, tt := range tests {
			t.Run(mode.String()+" "+tt.fixture, func(t *testing.T) {
				resetUpstream(up)
				if r := invoke(t, a, fixture(t, tt.fixture)); r.status != 200 {
					t.Fatalf("status %d %q", r.status, r.body)
				}
				if got := upstreamURI(up); got != tt.uri {
					t.Fatalf("upstream request URI = %q, want %q", got, tt.uri)
				}
				up.mu.Lock()
				body := string(up.body)
				up.mu.Unlock()
				if body != tt.body {
					t.Errorf("upstream body = %q, want %q", body, tt.body)
				}
			})
		}
	}
}

// frontDoor builds an event of one kind for a path as that front door delivers it.
type frontDoor struct {
	name    string
	encoded bool // the event carries the client's encoding (REST, Function URL) or the decoded path (HTTP API)
	event   func(t *testing.T, path string) []byte
}

var frontDoors = []frontDoor{
	{"rest", true, func(t *testing.T, p string) []byte {
		return setFields(t, "rest-rerank.json", map[string]any{"path": p, "queryStringParameters": nil, "multiValueQueryStringParameters": nil}, nil)
	}},
	{"function-url", true, func(t *testing.T, p string) []byte {
		return setFields(t, "function-url-rerank.json", map[string]any{"rawPath": p, "rawQueryString": ""}, nil)
	}},
	{"http-api-2.0", false, func(t *testing.T, p string) []byte {
		return setFields(t, "http-api-rerank.json", map[string]any{"rawPath": "/dev" + p, "rawQueryString": ""}, nil)
	}},
	{"http-api-1.0", false, func(t *testing.T, p string) []byte {
		return setFields(t, "rest-rerank.json", map[string]any{"version": "1.0", "path": "/dev" + p,
			"queryStringParameters": nil, "multiValueQueryStringParameters": nil}, map[string]any{"stage": "dev"})
	}},
}

// setFields is a fixture with some top-level and requestContext fields replaced.
func setFields(t *testing.T, name string, top, reqCtx map[string]any) []byte {
	t.Helper()
	var e map[string]any
	if err := json.Unmarshal(fixture(t, name), &e); err != nil {
		t.Fatal(err)
	}
	for k, v := range top {
		e[k] = v
	}
	for k, v := range reqCtx {
		e["requestContext"].(map[string]any)[k] = v
	}
	out, _ := json.Marshal(e)
	return out
}

// Every front door, every kind of escape: the exact request URI the upstream receives. What a
// client sent as "sent" arrives in REST and Function URL events as sent, and in HTTP API events
// decoded (public captures: hotsock/voker vokerhttp/testdata/ingress-paths.json).
func TestEncodedPathsPerFrontDoor(t *testing.T) {
	up := startUpstream(t)
	a := pathsAdapter(t, up.URL, lambdahttp.Options{})
	tests := []struct {
		sent                     string
		wantEncoded, wantDecoded string // upstream request URI from an encoded / a decoded event
	}{
		{"/bedrock/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse",
			"/bedrock-runtime/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse",
			"/bedrock-runtime/model/anthropic.claude-3-5-sonnet-20240620-v1:0/converse"},
		{"/bedrock/model/" + bedrockARN + "/converse-stream",
			"/bedrock-runtime/model/" + bedrockARN + "/converse-stream",
			"/bedrock-runtime/model/arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20240620-v1:0/converse-stream"},
		{"/x/100%25off", "/x-up/100%25off", "/x-up/100%25off"},
		{"/x/a%20b/%CE%BB-%E4%B8%96%E7%95%8C", "/x-up/a%20b/%CE%BB-%E4%B8%96%E7%95%8C", "/x-up/a%20b/%CE%BB-%E4%B8%96%E7%95%8C"},
		{"/x/v1%3a0", "/x-up/v1%3a0", "/x-up/v1:0"},
		{"/x/hash%23value", "/x-up/hash%23value", "/x-up/hash%23value"},
		// Resolved before the route lookup (route.NormalizePath): still /x's, so /x-up's.
		{"/x/y/%2e%2e/%2E%2E/x/admin", "/x-up/admin", "/x-up/admin"},
		{"/x/y%2F..%2Fadmin", "/x-up/admin", "/x-up/admin"},
	}
	for _, door := range frontDoors {
		for _, tt := range tests {
			t.Run(door.name+" "+tt.sent, func(t *testing.T) {
				p, want := tt.sent, tt.wantEncoded
				if !door.encoded {
					p, _ = url.PathUnescape(tt.sent)
					want = tt.wantDecoded
				}
				resetUpstream(up)
				if r := invoke(t, a, door.event(t, p)); r.status != 200 {
					t.Fatalf("status %d %q", r.status, r.body)
				}
				if got := upstreamURI(up); got != want {
					t.Fatalf("event path %q: upstream request URI = %q, want %q", p, got, want)
				}
			})
		}
	}
}

// A path that arrives still encoded but is not valid percent-encoding is a 400 in LiteLLM's
// shape, not a failed invocation, and nothing is called. The same bytes from an HTTP API are a
// decoded path (a literal '%') and go upstream re-encoded.
func TestUndecodablePathIs400(t *testing.T) {
	up := startUpstream(t)
	a := pathsAdapter(t, up.URL, lambdahttp.Options{})
	for _, door := range frontDoors {
		for path, msg := range map[string]string{
			"/x/%zz":     `invalid URL escape \"%zz\"`,
			"/x/100%off": `invalid URL escape \"%of\"`,
			"/x/a%4":     `invalid URL escape \"%4\"`,
		} {
			t.Run(door.name+" "+path, func(t *testing.T) {
				resetUpstream(up)
				r := invoke(t, a, door.event(t, path))
				if !door.encoded {
					want := "/x-up/" + url.PathEscape(strings.TrimPrefix(path, "/x/"))
					if got := upstreamURI(up); r.status != 200 || got != want {
						t.Fatalf("decoded %q: status %d, upstream %q; want 200 and %q", path, r.status, got, want)
					}
					return
				}
				want := `{"error":{"message":"Invalid request path: ` + msg + `.","type":"invalid_request_error","param":"None","code":"400"}}`
				if r.status != 400 || r.body != want || r.headers["Content-Type"] != "application/json" {
					t.Errorf("got %d %q %v, want 400 %q", r.status, r.body, r.headers, want)
				}
				if got := upstreamURI(up); got != "" {
					t.Errorf("the upstream was called: %s", got)
				}
			})
		}
	}
}

// The HTTP API stage and a custom domain's base path are stripped whatever the encoding.
func TestBasePathWithEncodedPath(t *testing.T) {
	up := startUpstream(t)
	a := pathsAdapter(t, up.URL, lambdahttp.Options{BasePath: "api"})
	resetUpstream(up)
	invoke(t, a, restEvent(t, "/api/x/v1%3A0", nil, false))
	if got := upstreamURI(up); got != "/x-up/v1%3A0?trace=a&trace=b" {
		t.Fatalf("upstream request URI = %q", got)
	}
}

// upstreamURI is the request URI the upstream last received ("" for none since the reset).
func upstreamURI(u *upstream) string {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.got == nil {
		return ""
	}
	return u.got.RequestURI
}

func resetUpstream(u *upstream) {
	u.mu.Lock()
	u.got, u.body = nil, nil
	u.mu.Unlock()
}
