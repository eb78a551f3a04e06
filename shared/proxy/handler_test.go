package proxy_test

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"io"
	"mime/multipart"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The Cohere rerank config from the LiteLLM tutorial, with auth: true and forward_headers.
const cohereConfig = `
general_settings:
  master_key: sk-1234
  pass_through_endpoints:
    - path: "/v1/rerank"
      target: "{{UP}}/v1/rerank"
      headers:
        Authorization: "bearer os.environ/COHERE_API_KEY"
        content-type: application/json
        accept: application/json
      forward_headers: true
      auth: true
`

const rerankBody = `{"model":"rerank-english-v3.0",  "query":"capital of the US?","top_n":3,
 "metadata":{"user_id":"u-1"}, "id":"keep-me",
 "documents":["Carson City is the capital city of Nevada.","Washington, D.C. is the capital of the United States."]}`

const rerankReply = `{"id":"37103a5b","results":[{"index":1,"relevance_score":0.999}],"meta":{"api_version":{"version":"1"},"billed_units":{"search_units":1}}}`

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// LiteLLM reference §8.1: the credential is swapped, the body goes byte for byte (LiteLLM-reserved
// keys such as metadata and id included), config headers win over the client's.
func TestCohereRerankPassThrough(t *testing.T) {
	up := startUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Upstream", "cohere")
		jsonReply(http.StatusOK, rerankReply)(w, r)
	})
	g := startGateway(t, cohereConfig, up.URL)

	resp, body := do(t, "POST", g.URL+"/v1/rerank", strings.NewReader(rerankBody), map[string]string{
		"Authorization":   "Bearer " + masterKey,
		"Content-Type":    "application/json; charset=utf-8",
		"X-Custom":        "1",
		"Accept-Encoding": "br",
	})
	wantStatus(t, resp, body, http.StatusOK)
	wantBody(t, body, rerankReply)
	if got := resp.Header.Get("X-Upstream"); got != "cohere" {
		t.Errorf("upstream header X-Upstream = %q, want cohere", got)
	}
	if id := resp.Header.Get("X-Litellm-Call-Id"); !uuidPattern.MatchString(id) {
		t.Errorf("x-litellm-call-id = %q, want a v4 uuid", id)
	}

	got := up.last(t)
	if got.Method != "POST" || got.URI != "/v1/rerank" {
		t.Errorf("upstream request = %s %s, want POST /v1/rerank", got.Method, got.URI)
	}
	if !bytes.Equal(got.Body, []byte(rerankBody)) {
		t.Errorf("upstream body changed:\n%s\nwant\n%s", got.Body, rerankBody)
	}
	want := map[string]string{
		"Authorization":  "bearer co-xyz",
		"Content-Type":   "application/json",
		"Accept":         "application/json",
		"X-Custom":       "1",
		"Content-Length": strconv.Itoa(len(rerankBody)),
	}
	assertHeaders(t, got.Header, want, []string{"User-Agent"})
	rec := g.usage.Next(t)
	if rec.Route != "/v1/rerank" || rec.Status != 200 || rec.KeyAlias != "master_key" || rec.BytesIn != int64(len(rerankBody)) ||
		rec.BytesOut != int64(len(rerankReply)) || rec.CallID != resp.Header.Get("X-Litellm-Call-Id") || rec.Partial || rec.ErrorClass != "" {
		t.Errorf("usage record = %+v", rec)
	}
}

// assertHeaders checks that h holds exactly want, plus the names in also (any value).
func assertHeaders(t *testing.T, h http.Header, want map[string]string, also []string) {
	t.Helper()
	for k, v := range want {
		if got := h.Values(k); len(got) != 1 || got[0] != v {
			t.Errorf("upstream header %s = %q, want %q", k, got, v)
		}
	}
	for k := range h {
		if _, ok := want[k]; !ok && !slices.Contains(also, k) {
			t.Errorf("unexpected upstream header %s: %q", k, h[k])
		}
	}
}

func TestAuthModes(t *testing.T) {
	const cfg = `
general_settings:
  master_key: sk-1234
  pass_through_endpoints:
    - path: /granted
      target: "{{UP}}/x"
      auth: true
    - path: /public
      target: "{{UP}}/x"
      auth: false
    - path: /anykey
      target: "{{UP}}/x"
`
	up := startUpstream(t, jsonReply(200, `{}`))
	g := startGateway(t, cfg, up.URL)
	noKey := errorJSON("401", "auth_error", "Authentication Error, No api key passed in.")
	badKey := errorJSON("401", "auth_error", "Authentication Error, Invalid proxy server token passed.")
	tests := []struct {
		path   string
		header map[string]string
		status int
		body   string
	}{
		{"/granted", nil, 401, noKey},
		{"/granted", map[string]string{"Authorization": "Bearer sk-wrong"}, 401, badKey},
		{"/granted", map[string]string{"Authorization": "Bearer sk-123"}, 401, badKey},
		{"/granted", map[string]string{"Authorization": "Bearer " + masterKey}, 200, `{}`},
		{"/anykey", nil, 401, noKey},
		{"/anykey", map[string]string{"X-Api-Key": masterKey}, 200, `{}`},
		{"/public", nil, 200, `{}`},
		{"/public", map[string]string{"Authorization": "Bearer whatever"}, 200, `{}`},
	}
	for _, tt := range tests {
		resp, body := do(t, "POST", g.URL+tt.path, strings.NewReader(`{}`), tt.header)
		if resp.StatusCode != tt.status || string(body) != tt.body {
			t.Errorf("%s %v: got %d %s, want %d %s", tt.path, tt.header, resp.StatusCode, body, tt.status, tt.body)
		}
		if tt.status == 401 && resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: 401 content-type = %q", tt.path, resp.Header.Get("Content-Type"))
		}
		if rec := g.usage.Next(t); rec.Status != tt.status || rec.Route != tt.path {
			t.Errorf("%s: record %+v", tt.path, rec)
		}
	}
	time.Sleep(50 * time.Millisecond) // a second record for any call would have been written by now
	if extra := g.usage.Drain(); len(extra) != 0 {
		t.Errorf("%d records more than calls: %+v", len(extra), extra)
	}
	if n := up.count(); n != 4 {
		t.Errorf("upstream got %d requests, want 4 (rejected calls must not reach it)", n)
	}
}

// Every place LiteLLM reads a key from works, and the header that carried it never goes upstream,
// even with forward_headers: true.
func TestKeySourcesAndKeyNeverForwarded(t *testing.T) {
	const cfg = `
general_settings:
  master_key: sk-1234
  pass_through_endpoints:
    - path: /fwd
      target: "{{UP}}/fwd"
      forward_headers: true
      auth: true
      headers:
        litellm_user_api_key: x-my-gateway-key
    - path: /langfuse
      target: "{{UP}}/lf"
      forward_headers: true
      custom_auth_parser: langfuse
      auth: true
`
	up := startUpstream(t, jsonReply(200, `{}`))
	g := startGateway(t, cfg, up.URL)
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	tests := []struct {
		name, path, header, value string
		status                    int
	}{
		{"x-litellm-api-key raw", "/fwd", "X-Litellm-Api-Key", masterKey, 200},
		{"x-litellm-api-key bearer", "/fwd", "X-Litellm-Api-Key", "Bearer " + masterKey, 200},
		{"authorization bearer", "/fwd", "Authorization", "Bearer " + masterKey, 200},
		{"authorization lower bearer", "/fwd", "Authorization", "bearer " + masterKey, 200},
		{"authorization basic password", "/fwd", "Authorization", basic("anything", masterKey), 200},
		{"authorization sigv4", "/fwd", "Authorization", "AWS4-HMAC-SHA256 Credential=Bearer " + masterKey + "/20240101/us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature=abc", 200},
		{"api-key", "/fwd", "Api-Key", masterKey, 200},
		{"x-api-key", "/fwd", "X-Api-Key", masterKey, 200},
		{"x-goog-api-key", "/fwd", "X-Goog-Api-Key", masterKey, 200},
		{"litellm_user_api_key header", "/fwd", "X-My-Gateway-Key", masterKey, 200},
		{"langfuse user part", "/langfuse", "Authorization", basic(masterKey, "anything"), 200},
		{"langfuse password part is not the key", "/langfuse", "Authorization", basic("anything", masterKey), 401},
		{"malformed authorization", "/fwd", "Authorization", masterKey, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := up.count()
			resp, body := do(t, "POST", g.URL+tt.path, strings.NewReader(`{}`), map[string]string{tt.header: tt.value, "X-Other": "kept"})
			wantStatus(t, resp, body, tt.status)
			if tt.status != 200 {
				if up.count() != before {
					t.Fatal("a rejected request reached the upstream")
				}
				return
			}
			got := up.last(t)
			if _, ok := got.Header[http.CanonicalHeaderKey(tt.header)]; ok {
				t.Errorf("key header %s was forwarded upstream", tt.header)
			}
			for k, vv := range got.Header {
				if strings.Contains(strings.Join(vv, " "), masterKey) {
					t.Errorf("gateway key leaked upstream in %s", k)
				}
			}
			if got.Header.Get("X-Other") != "kept" {
				t.Errorf("forward_headers dropped X-Other")
			}
		})
	}
	resp, body := do(t, "POST", g.URL+"/fwd", nil, map[string]string{"Authorization": masterKey})
	wantBody(t, body, errorJSON("401", "auth_error", "Malformed API Key passed in. Ensure Key has `Bearer ` prefix."))
	_ = resp
}

// The gateway key is stripped from every client header, not only the one it was read from.
func TestKeyCopiesInOtherHeadersAreDropped(t *testing.T) {
	const cfg = `
general_settings:
  master_key: sk-1234
  pass_through_endpoints:
    - {path: /fwd, target: "{{UP}}/fwd", forward_headers: true, auth: true}
`
	up := startUpstream(t, jsonReply(200, `{}`))
	g := startGateway(t, cfg, up.URL)
	resp, body := do(t, "POST", g.URL+"/fwd", nil, map[string]string{
		"X-Litellm-Api-Key": masterKey,
		"Authorization":     "Bearer " + masterKey,
		"X-Pass-Trace":      "t-" + masterKey,
		"X-Forwarded-Auth":  "Basic " + base64.StdEncoding.EncodeToString([]byte("user:"+masterKey)),
		"X-Api-Key":         "sk-ant-caller-own",
	})
	wantStatus(t, resp, body, 200)
	got := up.last(t)
	assertHeaders(t, got.Header, map[string]string{"X-Api-Key": "sk-ant-caller-own"}, []string{"User-Agent", "Content-Length"})
}

func TestLangfuseIngestion(t *testing.T) {
	const cfg = `
general_settings:
  master_key: sk-1234
  pass_through_endpoints:
    - path: "/api/public/ingestion"
      target: "{{UP}}/api/public/ingestion"
      auth: true
      custom_auth_parser: "langfuse"
      headers:
        LANGFUSE_PUBLIC_KEY: "os.environ/LANGFUSE_PUBLIC_KEY"
        LANGFUSE_SECRET_KEY: "os.environ/LANGFUSE_SECRET_KEY"
`
	const reply = `{"successes":[{"id":"evt-1","status":201}],"errors":[]}`
	const batch = `{"batch":[{"id":"evt-1","type":"trace-create","timestamp":"2024-01-01T00:00:00Z","body":{"id":"t1","name":"x"}}]}`
	up := startUpstream(t, jsonReply(http.StatusMultiStatus, reply))
	g := startGateway(t, cfg, up.URL)
	resp, body := do(t, "POST", g.URL+"/api/public/ingestion", strings.NewReader(batch), map[string]string{
		"Authorization": "Basic c2stMTIzNDphbnl0aGluZw==", // sk-1234:anything
		"Content-Type":  "application/json",
	})
	wantStatus(t, resp, body, http.StatusMultiStatus)
	wantBody(t, body, reply)
	got := up.last(t)
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("pk-lf-1:sk-lf-2"))
	// Without forward_headers the body still travels with its Content-Type.
	assertHeaders(t, got.Header, map[string]string{"Authorization": want, "Content-Length": "113", "Content-Type": "application/json"}, nil)
	if string(got.Body) != batch {
		t.Errorf("body changed: %s", got.Body)
	}
}

func TestRequestHeaderRules(t *testing.T) {
	const cfg = `
general_settings:
  master_key: sk-1234
  pass_through_endpoints:
    - path: /fwd
      target: "{{UP}}/fwd"
      forward_headers: true
      auth: false
      headers:
        anthropic-beta: from-config
        X-Api-Key: "os.environ/ANTHROPIC_API_KEY"
    - path: /nofwd
      target: "{{UP}}/nofwd"
      auth: false
      headers:
        accept: application/json
`
	up := startUpstream(t, jsonReply(200, `{}`))
	g := startGateway(t, cfg, up.URL)
	client := map[string]string{
		"X-Api-Key":             "client-value",
		"Anthropic-Version":     "2023-06-01",
		"X-Pass-Anthropic-Beta": "from-x-pass",
		"X-Pass-Authorization":  "evil",
		"X-Pass-Api-Key":        "evil",
		"X-Pass-X-Amz-Date":     "evil",
		"X-Pass-Host":           "evil.example",
		"X-Pass-X-Trace":        "abc",
		"Connection":            "X-Hop-Only",
		"X-Hop-Only":            "1",
		"Keep-Alive":            "timeout=5",
		"Te":                    "trailers",
		"Accept-Encoding":       "gzip",
		"X-Litellm-Tags":        "team-a, , exp-2",
	}
	resp, body := do(t, "POST", g.URL+"/fwd", strings.NewReader(`{}`), client)
	wantStatus(t, resp, body, 200)
	assertHeaders(t, up.last(t).Header, map[string]string{
		"X-Api-Key":         "sk-ant-real", // config wins over the client
		"Anthropic-Version": "2023-06-01",
		"Anthropic-Beta":    "from-x-pass", // x-pass- overrides config, as in LiteLLM
		"X-Trace":           "abc",
		"X-Litellm-Tags":    "team-a, , exp-2",
		"Content-Length":    "2",
	}, []string{"User-Agent"})
	if up.last(t).Host != strings.TrimPrefix(up.URL, "http://") {
		t.Errorf("upstream Host = %q", up.last(t).Host)
	}
	if rec := g.usage.Next(t); !slices.Equal(rec.Tags, []string{"team-a", "exp-2"}) {
		t.Errorf("tags = %q, want [team-a exp-2]", rec.Tags)
	}

	resp, body = do(t, "POST", g.URL+"/nofwd", strings.NewReader(`{}`), client)
	wantStatus(t, resp, body, 200)
	assertHeaders(t, up.last(t).Header, map[string]string{
		"Accept":         "application/json",
		"Anthropic-Beta": "from-x-pass",
		"X-Trace":        "abc",
		"Content-Length": "2",
	}, nil)
}

// Bodies go upstream byte for byte whatever their type, with their framing headers.
func TestBodiesForwardedByteForByte(t *testing.T) {
	const cfg = `
general_settings:
  master_key: sk-1234
  pass_through_endpoints:
    - {path: /up, target: "{{UP}}/up", forward_headers: true, auth: false}
`
	up := startUpstream(t, jsonReply(200, `{}`))
	g := startGateway(t, cfg, up.URL)

	binary := make([]byte, 256*4)
	for i := range binary {
		binary[i] = byte(i)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(rerankBody))
	_ = zw.Close()
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	fw, _ := mw.CreateFormFile("file", "a.mp3")
	_, _ = fw.Write(binary)
	_ = mw.WriteField("model", "whisper-1")
	fw, _ = mw.CreateFormFile("file", "b.mp3")
	_, _ = fw.Write([]byte("second"))
	_ = mw.Close()

	tests := []struct {
		name, contentType, encoding string
		body                        []byte
		chunked                     bool
	}{
		{"json with odd spacing", "application/json", "", []byte(rerankBody), false},
		{"binary", "application/octet-stream", "", binary, false},
		{"gzip", "application/json", "gzip", gz.Bytes(), false},
		{"multipart, repeated file parts", mw.FormDataContentType(), "", form.Bytes(), false},
		{"chunked upload of unknown length", "text/plain", "", bytes.Repeat([]byte("0123456789"), 10000), true},
		{"form-urlencoded stays form", "application/x-www-form-urlencoded", "", []byte("a=1&a=2&b=%20"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader = bytes.NewReader(tt.body)
			if tt.chunked {
				body = io.MultiReader(body) // hides the length: sent chunked
			}
			h := map[string]string{"Content-Type": tt.contentType}
			if tt.encoding != "" {
				h["Content-Encoding"] = tt.encoding
			}
			resp, rb := do(t, "PUT", g.URL+"/up", body, h)
			wantStatus(t, resp, rb, 200)
			got := up.last(t)
			if !bytes.Equal(got.Body, tt.body) {
				t.Fatalf("upstream body differs: %d bytes, want %d", len(got.Body), len(tt.body))
			}
			if got.Header.Get("Content-Type") != tt.contentType || got.Header.Get("Content-Encoding") != tt.encoding {
				t.Errorf("framing headers = %q %q", got.Header.Get("Content-Type"), got.Header.Get("Content-Encoding"))
			}
			if got.Method != "PUT" {
				t.Errorf("method = %s", got.Method)
			}
		})
	}
}

func TestQueryAndSubpath(t *testing.T) {
	const cfg = `
general_settings:
  master_key: sk-1234
  pass_through_endpoints:
    - path: /bria
      target: "{{UP}}/api?t=a"
      include_subpath: true
      auth: false
    - path: /merge
      target: "{{UP}}/m?keep=1&tenant=target"
      default_query_params: {v: "1", tenant: "default"}
      merge_query_params: true
      auth: false
    - path: /plain
      target: "{{UP}}/plain"
      auth: false
`
	up := startUpstream(t, jsonReply(200, `{}`))
	g := startGateway(t, cfg, up.URL)
	tests := []struct{ requestURI, upstreamURI string }{
		{"/bria", "/api?t=a"},
		{"/bria/v1/text-to-image/base/2.3", "/api/v1/text-to-image/base/2.3?t=a"},
		{"/bria/v1/run/", "/api/v1/run/?t=a"},
		{"/bria/x/../y/../admin", "/api/admin?t=a"},
		{"/bria/%2e%2e/bria/%2e/admin", "/api/admin?t=a"},
		{"/bria/x%2f..%2fadmin", "/api/admin?t=a"},
		{"/bria//x///y", "/api/x/y?t=a"},
		{"/bria/a%20b/c%3Fd", "/api/a%20b/c%3Fd?t=a"},
		{"/bria/x?t=client&z=1&z=2", "/api/x?t=client&z=1&z=2"},
		{"/merge?tenant=b&x=1", "/m?v=1&tenant=b&keep=1&x=1"},
		{"/merge", "/m?v=1&tenant=target&keep=1"}, // the target beats the defaults
		{"/plain?b=%7E&a=1&a=2", "/plain?b=%7E&a=1&a=2"},
	}
	for _, tt := range tests {
		resp, body := rawRequest(t, g.URL, "GET "+tt.requestURI)
		if resp.StatusCode != 200 {
			t.Errorf("%s: status %d %s", tt.requestURI, resp.StatusCode, body)
			continue
		}
		if got := up.last(t).URI; got != tt.upstreamURI {
			t.Errorf("%s: upstream got %s, want %s", tt.requestURI, got, tt.upstreamURI)
		}
	}
	// Resolved before the lookup (route.NormalizePath), a path climbing out of /bria is not /bria's.
	for _, out := range []string{"/bria/../../admin", "/bria/%2e%2e/%2e%2e/admin", "/bria/..%2f..%2fadmin"} {
		resp, body := rawRequest(t, g.URL, "GET "+out)
		if resp.StatusCode != 404 || !strings.Contains(string(body), `"type":"not_found_error"`) {
			t.Errorf("%s: got %d %s, want a 404 not_found_error", out, resp.StatusCode, body)
		}
	}
	for _, bad := range []string{"/bria/a%5C..%5C..%5Cadmin", "/plain?a=%zz"} {
		resp, body := rawRequest(t, g.URL, "GET "+bad)
		if resp.StatusCode != 400 || !strings.Contains(string(body), `"type":"invalid_request_error"`) {
			t.Errorf("%s: got %d %s, want a 400 invalid_request_error", bad, resp.StatusCode, body)
		}
	}
}

// On a public route a gateway key is not needed, but one that is sent is still never forwarded,
// nor is it forwarded from the query string; the caller's own credentials are.
func TestPublicRouteStripsGatewayKeyOnly(t *testing.T) {
	const cfg = `
general_settings:
  master_key: sk-1234
  pass_through_endpoints:
    - {path: /pub, target: "{{UP}}/pub", forward_headers: true, auth: false}
    - {path: /keyed, target: "{{UP}}/keyed", auth: true}
`
	up := startUpstream(t, jsonReply(200, `{}`))
	g := startGateway(t, cfg, up.URL)
	tests := []struct {
		name, uri, authorization string
		wantAuth, wantURI        string
	}{
		{"gateway key stripped", "/pub?x=1", "Bearer " + masterKey, "", "/pub?x=1"},
		{"caller's own credential forwarded", "/pub", "Bearer caller-own-token", "Bearer caller-own-token", "/pub"},
		{"gateway key in the query stripped", "/pub?key=" + masterKey + "&x=1", "Bearer " + masterKey, "", "/pub?x=1"},
		{"keyed route, key in the query", "/keyed?a=1&key=" + masterKey, "Bearer " + masterKey, "", "/keyed?a=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, "GET", g.URL+tt.uri, nil, map[string]string{"Authorization": tt.authorization})
			wantStatus(t, resp, body, 200)
			got := up.last(t)
			if got.Header.Get("Authorization") != tt.wantAuth || got.URI != tt.wantURI {
				t.Errorf("upstream got Authorization %q URI %q, want %q %q", got.Header.Get("Authorization"), got.URI, tt.wantAuth, tt.wantURI)
			}
		})
	}
}
