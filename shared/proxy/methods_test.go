package proxy_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

const methodsCfg = `
general_settings:
  master_key: sk-1234
%CORS%
  pass_through_endpoints:
    - {path: /v1/models, target: "{{UP}}/models", methods: [GET], auth: false}
    - {path: /v1/chat, target: "{{UP}}/chat", methods: [POST], auth: true}
    - {path: /own, target: "{{UP}}/own", methods: [GET, OPTIONS], auth: false}
`

func methodsGateway(t *testing.T, cors string, up *upstream) *gw {
	t.Helper()
	return startGateway(t, strings.Replace(methodsCfg, "%CORS%", cors, 1), up.URL)
}

// wantHeaders checks exact header values ("" = absent).
func wantHeaders(t *testing.T, h http.Header, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := strings.Join(h.Values(k), ", "); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

// HEAD on a GET route goes upstream as HEAD and its answer comes back without a body.
func TestHeadForwardedOnGetRoute(t *testing.T) {
	up := startUpstream(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "17")
		w.Header().Set("X-Up", "yes")
	})
	g := methodsGateway(t, "", up)
	resp, body := do(t, "HEAD", g.URL+"/v1/models?limit=2", nil, nil)
	wantStatus(t, resp, body, 200)
	wantBody(t, body, "")
	wantHeaders(t, resp.Header, map[string]string{"Content-Length": "17", "X-Up": "yes", "Content-Type": "application/json"})
	if s := up.last(t); s.Method != "HEAD" || s.URI != "/models?limit=2" {
		t.Errorf("upstream got %s %s, want HEAD /models?limit=2", s.Method, s.URI)
	}
	rec := g.usage.Next(t)
	if rec.Method != "HEAD" || rec.Status != 200 || rec.Route != "/v1/models" || rec.ErrorClass != "" {
		t.Errorf("record method %q status %d route %q class %q, want HEAD 200 /v1/models none", rec.Method, rec.Status, rec.Route, rec.ErrorClass)
	}
	// HEAD on a POST-only route is still a 405 naming what is served.
	resp, body = do(t, "HEAD", g.URL+"/v1/chat", nil, nil)
	wantStatus(t, resp, body, 405)
	wantHeaders(t, resp.Header, map[string]string{"Allow": "POST"})
	if up.count() != 1 {
		t.Errorf("upstream got %d requests, want 1", up.count())
	}
}

// A WebSocket handshake is refused with a JSON error; nothing reaches the upstream.
func TestUpgradeRefused(t *testing.T) {
	up := startUpstream(t, jsonReply(426, `{"error":"upgrade required"}`))
	g := methodsGateway(t, "", up)
	for _, tt := range []struct{ upgrade, proto string }{
		{"websocket", "websocket"},
		{"WebSocket, h2c", "WebSocket"},
		{"foo/2", "foo/2"},
	} {
		resp, body := do(t, "GET", g.URL+"/v1/models", nil, map[string]string{"Connection": "Upgrade", "Upgrade": tt.upgrade, "Sec-WebSocket-Version": "13"})
		wantStatus(t, resp, body, 400)
		wantBody(t, body, errorJSON("400", "invalid_request_error",
			"Protocol upgrades are not supported: the gateway relays HTTP requests only, so a WebSocket (Upgrade: "+tt.proto+") cannot be opened through it."))
		rec := g.usage.Next(t)
		if rec.Status != 400 || rec.ErrorClass != "upgrade" || rec.Route != "/v1/models" {
			t.Errorf("record status %d class %q route %q, want 400 upgrade /v1/models", rec.Status, rec.ErrorClass, rec.Route)
		}
	}
	// The refusal needs no key, and comes before auth: a keyed route refuses it the same way.
	resp, body := do(t, "POST", g.URL+"/v1/chat", strings.NewReader("{}"), map[string]string{"Connection": "Upgrade", "Upgrade": "websocket"})
	wantStatus(t, resp, body, 400)
	if n := up.count(); n != 0 {
		t.Fatalf("upstream got %d requests, want none", n)
	}
	// h2c is an offer a server may ignore (RFC 9110 §7.8): the request is served in HTTP/1.1.
	resp, body = do(t, "GET", g.URL+"/v1/models", nil, map[string]string{"Connection": "Upgrade, HTTP2-Settings", "Upgrade": "h2c", "HTTP2-Settings": "AAMAAABkAAQCAAAAAAIAAAAA"})
	wantStatus(t, resp, body, 426)
	if s := up.last(t); s.Header.Get("Upgrade") != "" || s.Header.Get("Http2-Settings") != "" {
		t.Errorf("upstream got Upgrade %q HTTP2-Settings %q, want neither", s.Header.Get("Upgrade"), s.Header.Get("Http2-Settings"))
	}
}

const corsAllowed = "  cors: {allow_origins: [\"https://app.example.com\"], max_age: 120}"

// Without general_settings.cors, OPTIONS is a 405 as in LiteLLM, unless a route lists it.
func TestOptionsWithoutCORS(t *testing.T) {
	up := startUpstream(t, jsonReply(200, `{"own":true}`))
	g := methodsGateway(t, "", up)
	resp, body := do(t, "OPTIONS", g.URL+"/v1/chat", nil, map[string]string{"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"})
	wantStatus(t, resp, body, 405)
	wantHeaders(t, resp.Header, map[string]string{"Allow": "POST", "Access-Control-Allow-Origin": ""})
	resp, body = do(t, "OPTIONS", g.URL+"/own", nil, nil)
	wantStatus(t, resp, body, 200)
	wantBody(t, body, `{"own":true}`)
	if s := up.last(t); s.Method != "OPTIONS" || s.URI != "/own" {
		t.Errorf("upstream got %s %s, want OPTIONS /own", s.Method, s.URI)
	}
}

func TestCORSPreflight(t *testing.T) {
	up := startUpstream(t, jsonReply(200, `{"own":true}`))
	g := methodsGateway(t, corsAllowed, up)
	preflight := map[string]string{"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST",
		"Access-Control-Request-Headers": "authorization, content-type, x-stainless-os"}
	resp, body := do(t, "OPTIONS", g.URL+"/v1/chat", nil, preflight)
	wantStatus(t, resp, body, 204)
	wantBody(t, body, "")
	wantHeaders(t, resp.Header, map[string]string{
		"Access-Control-Allow-Origin":      "https://app.example.com",
		"Access-Control-Allow-Methods":     "POST, OPTIONS",
		"Access-Control-Allow-Headers":     "authorization, content-type, x-stainless-os",
		"Access-Control-Max-Age":           "120",
		"Access-Control-Allow-Credentials": "",
		"Vary":                             "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
	})
	rec := g.usage.Next(t)
	if rec.Method != "OPTIONS" || rec.Status != 204 || rec.ErrorClass != "" || rec.UpstreamHost != "" {
		t.Errorf("record %s %d class %q upstream %q, want OPTIONS 204, no class, no upstream", rec.Method, rec.Status, rec.ErrorClass, rec.UpstreamHost)
	}
	// HEAD comes with GET in the grant.
	resp, body = do(t, "OPTIONS", g.URL+"/v1/models", nil, map[string]string{"Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"})
	wantStatus(t, resp, body, 204)
	wantHeaders(t, resp.Header, map[string]string{"Access-Control-Allow-Methods": "GET, HEAD, OPTIONS", "Access-Control-Allow-Headers": ""})
	// Another origin: refused.
	preflight["Origin"] = "https://evil.example.com"
	resp, body = do(t, "OPTIONS", g.URL+"/v1/chat", nil, preflight)
	wantStatus(t, resp, body, 403)
	wantBody(t, body, errorJSON("403", "permission_error", "Origin https://evil.example.com is not allowed by the gateway's general_settings.cors."))
	wantHeaders(t, resp.Header, map[string]string{"Access-Control-Allow-Origin": "", "Vary": "Origin"})
	// A plain OPTIONS (no preflight) gets the Allow list; an unknown path stays a 404; a route
	// that lists OPTIONS itself still forwards it.
	resp, body = do(t, "OPTIONS", g.URL+"/v1/models", nil, nil)
	wantStatus(t, resp, body, 204)
	wantHeaders(t, resp.Header, map[string]string{"Allow": "GET, HEAD, OPTIONS", "Access-Control-Allow-Origin": ""})
	resp, body = do(t, "OPTIONS", g.URL+"/nope", nil, map[string]string{"Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"})
	wantStatus(t, resp, body, 404)
	if up.count() != 0 {
		t.Fatalf("upstream got %d requests, want none", up.count())
	}
	resp, body = do(t, "OPTIONS", g.URL+"/own", nil, nil)
	wantStatus(t, resp, body, 200)
	wantBody(t, body, `{"own":true}`)
	// A 405 names OPTIONS once the gateway answers it.
	resp, body = do(t, "DELETE", g.URL+"/v1/chat", nil, nil)
	wantStatus(t, resp, body, 405)
	wantHeaders(t, resp.Header, map[string]string{"Allow": "POST, OPTIONS"})
}

// An allowed origin's responses carry the gateway's grant, over the upstream's own, gateway
// errors included (a browser cannot read a 401 without it); other origins get none.
func TestCORSResponseHeaders(t *testing.T) {
	up := startUpstream(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "https://upstream-own.example")
		w.Header().Set("Access-Control-Allow-Credentials", "true")
		jsonReply(200, `{"data":[]}`)(w, nil)
	})
	tests := []struct {
		name, cors, origin, path string
		key                      bool
		status                   int
		want                     map[string]string
	}{
		{"allowed", corsAllowed, "https://app.example.com", "/v1/models", false, 200, map[string]string{
			"Access-Control-Allow-Origin": "https://app.example.com", "Access-Control-Expose-Headers": "*",
			"Access-Control-Allow-Credentials": "", "Vary": "Origin"}},
		{"any origin", `  cors: {allow_origins: ["*"]}`, "https://x.example", "/v1/models", false, 200, map[string]string{
			"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "*", "Access-Control-Allow-Credentials": "", "Vary": ""}},
		{"gateway 401", corsAllowed, "https://app.example.com", "/v1/chat", false, 401, map[string]string{
			"Access-Control-Allow-Origin": "https://app.example.com", "Access-Control-Expose-Headers": "*"}},
		{"gateway 404", corsAllowed, "https://app.example.com", "/nope", false, 404, map[string]string{
			"Access-Control-Allow-Origin": "https://app.example.com", "Access-Control-Expose-Headers": "*"}},
		{"keyed call", corsAllowed, "https://app.example.com", "/v1/chat", true, 405, map[string]string{
			"Access-Control-Allow-Origin": "https://app.example.com"}},
		{"other origin: upstream's headers as sent", corsAllowed, "https://evil.example.com", "/v1/models", false, 200, map[string]string{
			"Access-Control-Allow-Origin": "https://upstream-own.example", "Access-Control-Allow-Credentials": "true", "Access-Control-Expose-Headers": ""}},
		{"no cors setting: upstream's headers as sent", "", "https://app.example.com", "/v1/models", false, 200, map[string]string{
			"Access-Control-Allow-Origin": "https://upstream-own.example", "Access-Control-Expose-Headers": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := methodsGateway(t, tt.cors, up)
			hdr := map[string]string{"Origin": tt.origin}
			method := "GET"
			if tt.path == "/v1/chat" {
				method = "POST"
			}
			if tt.key {
				hdr["Authorization"], method = "Bearer sk-1234", "PUT"
			}
			resp, body := do(t, method, g.URL+tt.path, strings.NewReader(""), hdr)
			wantStatus(t, resp, body, tt.status)
			wantHeaders(t, resp.Header, tt.want)
			if !slices.Contains([]int{200}, tt.status) {
				return
			}
			wantBody(t, body, `{"data":[]}`)
		})
	}
}

// The CORS wrapper must not buffer a stream: lock-step as TestSSELockStep, from an allowed
// origin, so any buffering deadlocks (and fails on readEvent's bound) instead of passing.
func TestCORSStreamLockStep(t *testing.T) {
	ack := make(chan struct{})
	up := startUpstream(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 3 {
			_, _ = io.WriteString(w, sseEvent(i))
			w.(http.Flusher).Flush()
			select {
			case <-ack:
			case <-time.After(5 * time.Second):
				return
			}
		}
	})
	cfg := strings.Replace(streamConfig, "general_settings:\n", "general_settings:\n  cors: {allow_origins: [\"https://app.example.com\"]}\n", 1)
	g := startGateway(t, fmt.Sprintf(cfg, "10"), up.URL)
	req, _ := http.NewRequest("POST", g.URL+"/anthropic/v1/messages", strings.NewReader(`{"stream":true}`))
	req.Header.Set("X-Api-Key", masterKey)
	req.Header.Set("Origin", "https://app.example.com")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	wantHeaders(t, resp.Header, map[string]string{"Access-Control-Allow-Origin": "https://app.example.com", "Content-Type": "text/event-stream"})
	r := bufio.NewReader(resp.Body)
	for i := range 3 {
		if got := readEvent(t, r); got != sseEvent(i) {
			t.Fatalf("event %d = %q", i, got)
		}
		ack <- struct{}{}
	}
}
