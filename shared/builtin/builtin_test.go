package builtin_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/passthru/gateway/shared/auth"
	"github.com/passthru/gateway/shared/builtin"
	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/secrets"
	"github.com/passthru/gateway/shared/usage"
	"github.com/passthru/gateway/shared/usage/usagetest"
	"github.com/passthru/gateway/shared/wiring"
)

const master = "sk-master-builtin"

// providerKeys are the provider credentials the gateway holds in these tests.
var providerKeys = secrets.Inline{
	"ANTHROPIC_API_KEY": "sk-ant-proxy", "OPENAI_API_KEY": "sk-oai-proxy", "AZURE_API_KEY": "az-proxy",
	"GEMINI_API_KEY": "AIza-proxy", "COHERE_API_KEY": "co-proxy", "MISTRAL_API_KEY": "mi-proxy",
	"LANGFUSE_PUBLIC_KEY": "pk-lf-proxy", "LANGFUSE_SECRET_KEY": "sk-lf-proxy",
}

// seen is one request as the upstream received it.
type seen struct {
	method, uri string // uri: the escaped path and the raw query, as sent
	header      http.Header
	body        []byte
}

// recorder is a mock upstream that records every request and answers with respond.
type recorder struct {
	mu   sync.Mutex
	reqs []seen
	srv  *httptest.Server
}

func newRecorder(t *testing.T) *recorder {
	rec := &recorder{}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, seen{r.Method, r.URL.RequestURI(), r.Header.Clone(), body})
		rec.mu.Unlock()
		respond(w, r)
	}))
	t.Cleanup(rec.srv.Close)
	return rec
}

func (rec *recorder) last(t *testing.T) (seen, bool) {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.reqs) == 0 {
		return seen{}, false
	}
	s := rec.reqs[len(rec.reqs)-1]
	rec.reqs = nil
	return s, true
}

// respond answers in the provider's shape for the usage records: an Anthropic message, a
// Gemini stream, or an OpenAI-shaped body.
func respond(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.Contains(r.URL.Path, ":streamGenerateContent"):
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, `data: {"candidates":[{"content":{"parts":[{"text":"Hi"}]}}],"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":1},"modelVersion":"gemini-2.0-flash"}`+"\r\n\r\n")
		w.(http.Flusher).Flush()
		_, _ = io.WriteString(w, `data: {"candidates":[{"content":{"parts":[{"text":"!"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":2,"totalTokenCount":6},"modelVersion":"gemini-2.0-flash"}`+"\r\n\r\n")
	case strings.HasSuffix(r.URL.Path, "/v1/messages"):
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Hi"}],"usage":{"input_tokens":10,"output_tokens":3}}`)
	default:
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}
}

// gateway serves the built-in routes of an empty configuration (plus yaml) with every base URL
// pointing at up and the given provider credentials.
func gateway(t *testing.T, up *recorder, keys secrets.Inline, yaml string, env map[string]string) (*httptest.Server, *usagetest.Sink) {
	t.Helper()
	all := map[string]string{
		"ANTHROPIC_API_BASE": up.srv.URL, "OPENAI_API_BASE": up.srv.URL, "AZURE_API_BASE": up.srv.URL,
		"GEMINI_API_BASE": up.srv.URL, "COHERE_API_BASE": up.srv.URL, "MISTRAL_API_BASE": up.srv.URL,
		"LANGFUSE_HOST": up.srv.URL,
	}
	for k, v := range env {
		all[k] = v
	}
	res := config.Parse([]byte("general_settings:\n  master_key: " + master + "\n" + yaml))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	table, _, err := builtin.NewTable(res.Config, builtin.Options{Env: func(k string) string { return all[k] }})
	if err != nil {
		t.Fatal(err)
	}
	sink := usagetest.NewSink()
	h := wiring.NewHandler(wiring.Sources{Routes: table, Secrets: keys, Keys: auth.NewMasterKey(master)}, sink, slog.New(slog.DiscardHandler), false)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, sink
}

type call struct {
	method, target string // target: path and query as sent
	header         map[string]string
	body           string
}

func (c call) do(t *testing.T, base string) (int, string) {
	t.Helper()
	method := c.method
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequest(method, base+c.target, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", "sdk/1.0") // a header of the client's like any other
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

const msgBody = `{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"Hi"}]}`

// TestProviderRoutes: for each provider, the exact upstream request (URL as sent, every header
// but Content-Length and the body bytes) and that the gateway key went nowhere upstream.
func TestProviderRoutes(t *testing.T) {
	up := newRecorder(t)
	gw, _ := gateway(t, up, providerKeys, "", nil)
	tests := []struct {
		name string
		call call
		uri  string            // the upstream's request URI
		want map[string]string // every upstream header but Content-Length
	}{
		{"anthropic, key in x-api-key",
			call{target: "/anthropic/v1/messages", body: msgBody, header: map[string]string{
				"X-Api-Key": master, "Anthropic-Version": "2023-06-01", "Anthropic-Beta": "tools-2024-04-04",
				"User-Agent": "Anthropic/JS 0.68.0", "X-Stainless-Lang": "js", "Content-Type": "application/json"}},
			"/v1/messages", map[string]string{"X-Api-Key": "sk-ant-proxy", "Anthropic-Version": "2023-06-01",
				"Anthropic-Beta": "tools-2024-04-04", "User-Agent": "Anthropic/JS 0.68.0", "X-Stainless-Lang": "js", "Content-Type": "application/json"}},
		{"anthropic, key as Bearer (SDK 1.x, ANTHROPIC_AUTH_TOKEN)",
			call{target: "/anthropic/v1/messages", body: msgBody, header: map[string]string{
				"Authorization": "Bearer " + master, "Anthropic-Version": "2023-06-01", "Content-Type": "application/json"}},
			"/v1/messages", map[string]string{"X-Api-Key": "sk-ant-proxy", "Anthropic-Version": "2023-06-01", "Content-Type": "application/json", "User-Agent": "sdk/1.0"}},
		{"anthropic, the gateway's key wins over the caller's own",
			call{target: "/anthropic/v1/messages", body: msgBody, header: map[string]string{
				"X-Litellm-Api-Key": master, "X-Api-Key": "sk-ant-api03-caller", "Content-Type": "application/json"}},
			"/v1/messages", map[string]string{"X-Api-Key": "sk-ant-proxy", "Content-Type": "application/json", "User-Agent": "sdk/1.0"}},
		{"anthropic, x-pass- headers; a credential cannot be passed",
			call{target: "/anthropic/v1/messages?beta=true", body: msgBody, header: map[string]string{
				"X-Api-Key": master, "X-Pass-Anthropic-Beta": "X", "X-Pass-Authorization": "Bearer sneaky", "Content-Type": "application/json"}},
			"/v1/messages?beta=true", map[string]string{"X-Api-Key": "sk-ant-proxy", "Anthropic-Beta": "X", "Content-Type": "application/json", "User-Agent": "sdk/1.0"}},
		{"openai, /v1 added, client headers not forwarded",
			call{target: "/openai/chat/completions", body: `{"model":"gpt-4o-mini","messages":[]}`, header: map[string]string{
				"Authorization": "Bearer " + master, "Openai-Organization": "org-1", "Content-Type": "application/json"}},
			"/v1/chat/completions", map[string]string{"Authorization": "Bearer sk-oai-proxy", "Api-Key": "sk-oai-proxy", "Content-Type": "application/json"}},
		{"openai_passthrough, verbatim",
			call{target: "/openai_passthrough/v1/responses", body: `{"model":"gpt-4o-mini","input":"Hi"}`, header: map[string]string{
				"Authorization": "Bearer " + master, "Content-Type": "application/json"}},
			"/v1/responses", map[string]string{"Authorization": "Bearer sk-oai-proxy", "Api-Key": "sk-oai-proxy", "Content-Type": "application/json"}},
		{"openai, Assistants paths get OpenAI-Beta",
			call{target: "/openai/v1/threads/thread_1/runs", body: `{"assistant_id":"asst_1"}`, header: map[string]string{
				"Authorization": "Bearer " + master, "Content-Type": "application/json"}},
			"/v1/threads/thread_1/runs", map[string]string{"Authorization": "Bearer sk-oai-proxy", "Api-Key": "sk-oai-proxy",
				"Openai-Beta": "assistants=v2", "Content-Type": "application/json"}},
		{"azure, api-key carrier, api-version forwarded",
			call{target: "/azure/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21", body: `{"messages":[]}`,
				header: map[string]string{"Api-Key": master, "Content-Type": "application/json"}},
			"/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21",
			map[string]string{"Authorization": "Bearer az-proxy", "Api-Key": "az-proxy", "Content-Type": "application/json"}},
		{"gemini, key in the query is replaced",
			call{target: "/gemini/v1beta/models/gemini-2.0-flash:generateContent?key=" + master, body: `{"contents":[]}`,
				header: map[string]string{"Content-Type": "application/json"}},
			"/v1beta/models/gemini-2.0-flash:generateContent?key=AIza-proxy", map[string]string{"Content-Type": "application/json"}},
		{"gemini, x-goog-api-key not forwarded, alt=sse kept, a caller's key= overwritten",
			call{target: "/gemini/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse&key=AIza-caller", body: `{"contents":[]}`,
				header: map[string]string{"X-Goog-Api-Key": master, "X-Goog-Api-Client": "genai-js/0.24.1", "Content-Type": "application/json"}},
			"/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse&key=AIza-proxy", map[string]string{"Content-Type": "application/json"}},
		{"cohere",
			call{target: "/cohere/v2/chat", body: `{"model":"command-r","messages":[]}`, header: map[string]string{
				"Authorization": "Bearer " + master, "X-Client-Name": "sdk", "Content-Type": "application/json"}},
			"/v2/chat", map[string]string{"Authorization": "Bearer co-proxy", "Content-Type": "application/json"}},
		{"mistral",
			call{target: "/mistral/v1/chat/completions", body: `{"model":"mistral-small-latest","messages":[]}`, header: map[string]string{
				"Authorization": "Bearer " + master, "Content-Type": "application/json"}},
			"/v1/chat/completions", map[string]string{"Authorization": "Bearer mi-proxy", "Content-Type": "application/json"}},
		{"langfuse, the gateway key is the Basic password",
			call{target: "/langfuse/api/public/ingestion", body: `{"batch":[]}`, header: map[string]string{
				"Authorization": basic("pk-lf-anything", master), "Content-Type": "application/json"}},
			"/api/public/ingestion", map[string]string{"Authorization": basic("pk-lf-proxy", "sk-lf-proxy"), "Content-Type": "application/json"}},
		{"encoded subpath goes as the client sent it",
			call{method: http.MethodGet, target: "/openai/v1/files/file%2Dabc%3A1/content", header: map[string]string{"Authorization": "Bearer " + master}},
			"/v1/files/file%2Dabc%3A1/content", map[string]string{"Authorization": "Bearer sk-oai-proxy", "Api-Key": "sk-oai-proxy"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := tt.call.do(t, gw.URL)
			if status != http.StatusOK {
				t.Fatalf("status %d: %s", status, body)
			}
			got, ok := up.last(t)
			if !ok {
				t.Fatal("the upstream got no request")
			}
			if got.uri != tt.uri || !bytes.Equal(got.body, []byte(tt.call.body)) {
				t.Errorf("upstream got %s %s %q; want %s %q", got.method, got.uri, got.body, tt.uri, tt.call.body)
			}
			hdr := map[string]string{}
			for name, vv := range got.header {
				if name != "Content-Length" {
					hdr[name] = strings.Join(vv, ", ")
				}
			}
			if !mapsEqual(hdr, tt.want) {
				t.Errorf("upstream headers\n got %v\nwant %v", hdr, tt.want)
			}
			if leaked(got, master) {
				t.Errorf("the gateway key went upstream: %+v", got)
			}
		})
	}
}

// leaked reports whether key appears in the request's URI or any header value (Basic decoded).
func leaked(s seen, key string) bool {
	if strings.Contains(s.uri, key) {
		return true
	}
	for _, vv := range s.header {
		for _, v := range vv {
			if strings.Contains(v, key) || strings.Contains(auth.BasicCredentials(v), key) {
				return true
			}
		}
	}
	return false
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestAnthropicWithoutCredential: the rows of LiteLLM's credential table for a gateway without
// ANTHROPIC_API_KEY: the caller's own Anthropic credential goes upstream, never the gateway
// key; with the gateway key alone the call is refused and the upstream never called.
func TestAnthropicWithoutCredential(t *testing.T) {
	up := newRecorder(t)
	keys := secrets.Inline{}
	gw, sink := gateway(t, up, keys, "", nil)
	tests := []struct {
		name   string
		header map[string]string
		want   map[string]string // nil: refused with 401
	}{
		{"gateway key only", map[string]string{"X-Api-Key": master}, nil},
		{"gateway key as Bearer only", map[string]string{"Authorization": "Bearer " + master}, nil},
		{"Claude Max OAuth token beside the gateway key",
			map[string]string{"X-Litellm-Api-Key": master, "Authorization": "Bearer sk-ant-oat01-caller"},
			map[string]string{"Authorization": "Bearer sk-ant-oat01-caller"}},
		{"caller's API key beside the gateway key as Bearer",
			map[string]string{"Authorization": "Bearer " + master, "X-Api-Key": "sk-ant-api03-caller"},
			map[string]string{"X-Api-Key": "sk-ant-api03-caller"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.header["Anthropic-Version"] = "2023-06-01"
			status, body := call{target: "/anthropic/v1/messages", body: msgBody, header: tt.header}.do(t, gw.URL)
			got, called := up.last(t)
			if tt.want == nil {
				const msg = `{"error":{"message":"The gateway has no anthropic credential for /anthropic: set ANTHROPIC_API_KEY (the environment locally, Secrets Manager on AWS), or send your own anthropic credential in x-api-key or Authorization with the gateway key in x-litellm-api-key.","type":"auth_error","param":"None","code":"401"}}`
				if status != http.StatusUnauthorized || body != msg || called {
					t.Errorf("got %d %s (upstream called: %v); want 401 %s", status, body, called, msg)
				}
				if rec := sink.Next(t); rec.ErrorClass != "no_credential" || rec.Provider != "anthropic" {
					t.Errorf("record class %q provider %q, want no_credential, anthropic", rec.ErrorClass, rec.Provider)
				}
				return
			}
			sink.Next(t)
			if status != http.StatusOK || !called {
				t.Fatalf("got %d %s, upstream called %v", status, body, called)
			}
			want := map[string]string{"Anthropic-Version": "2023-06-01", "User-Agent": "sdk/1.0"}
			for k, v := range tt.want {
				want[k] = v
			}
			hdr := map[string]string{}
			for name, vv := range got.header {
				if name != "Content-Length" && name != "Content-Type" {
					hdr[name] = strings.Join(vv, ", ")
				}
			}
			if !mapsEqual(hdr, want) || leaked(got, master) {
				t.Errorf("upstream headers %v, want %v", hdr, want)
			}
		})
	}
}

// A provider without its credential answers 401 naming the secret, never calling upstream with
// an empty key; one without its base URL (Azure) answers 404 saying which setting is missing;
// a disabled one is not served at all.
func TestProviderRoutesOff(t *testing.T) {
	up := newRecorder(t)
	gw, _ := gateway(t, up, secrets.Inline{"OPENAI_API_KEY": "sk-oai-proxy", "LANGFUSE_PUBLIC_KEY": "pk"},
		"  disabled_provider_routes: [mistral]\n", map[string]string{"AZURE_API_BASE": ""})
	tests := []struct {
		name, target string
		header       map[string]string
		status       int
		body         string
	}{
		{"gemini without GEMINI_API_KEY", "/gemini/v1beta/models/m:generateContent?key=" + master, nil, 401,
			`{"error":{"message":"The gateway has no gemini credential for /gemini: set GEMINI_API_KEY (the environment locally, Secrets Manager on AWS).","type":"auth_error","param":"None","code":"401"}}`},
		{"cohere without COHERE_API_KEY", "/cohere/v2/chat", map[string]string{"Authorization": "Bearer " + master}, 401,
			`{"error":{"message":"The gateway has no cohere credential for /cohere: set COHERE_API_KEY (the environment locally, Secrets Manager on AWS).","type":"auth_error","param":"None","code":"401"}}`},
		{"langfuse with half its credential", "/langfuse/api/public/ingestion", map[string]string{"Authorization": basic("pk", master)}, 401,
			`{"error":{"message":"The gateway has no langfuse credential for /langfuse: set LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY (the environment locally, Secrets Manager on AWS).","type":"auth_error","param":"None","code":"401"}}`},
		{"azure without AZURE_API_BASE", "/azure/openai/deployments/d/chat/completions", map[string]string{"Api-Key": master}, 404,
			`{"error":{"message":"The built-in /azure route is off: AZURE_API_BASE is not set (the provider's base URL).","type":"not_found_error","param":"None","code":"404"}}`},
		{"mistral disabled", "/mistral/v1/chat/completions", map[string]string{"Authorization": "Bearer " + master}, 404,
			`{"error":{"message":"Pass-through endpoint /mistral/v1/chat/completions not found.","type":"not_found_error","param":"None","code":"404"}}`},
		{"no gateway key", "/openai/v1/chat/completions", nil, 401,
			`{"error":{"message":"Authentication Error, No api key passed in.","type":"auth_error","param":"None","code":"401"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := call{target: tt.target, body: `{}`, header: tt.header}.do(t, gw.URL)
			if _, called := up.last(t); status != tt.status || body != tt.body || called {
				t.Errorf("got %d %s (upstream called: %v)\nwant %d %s", status, body, called, tt.status, tt.body)
			}
		})
	}
}

// Usage records of provider routes name the provider and the model (from the body, or the
// path for Gemini), with the tokens the parsers read, streamed calls included.
func TestProviderRouteUsage(t *testing.T) {
	up := newRecorder(t)
	gw, sink := gateway(t, up, providerKeys, "", nil)
	tests := []struct {
		name            string
		call            call
		provider, model string
		in, out         int64
	}{
		{"anthropic messages", call{target: "/anthropic/v1/messages", body: msgBody, header: map[string]string{"X-Api-Key": master}},
			"anthropic", "claude-sonnet-4-5", 10, 3},
		{"gemini stream", call{target: "/gemini/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse", body: `{"contents":[]}`,
			header: map[string]string{"X-Goog-Api-Key": master}}, "gemini", "gemini-2.0-flash", 4, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if status, body := tt.call.do(t, gw.URL); status != 200 {
				t.Fatalf("status %d: %s", status, body)
			}
			up.last(t)
			rec := sink.Next(t)
			if rec.Provider != tt.provider || rec.Model != tt.model || rec.Input == nil || *rec.Input != tt.in ||
				rec.Output == nil || *rec.Output != tt.out || rec.CostUSD == nil || *rec.CostUSD <= 0 {
				t.Errorf("record %+v; want %s %s %d/%d tokens, priced", rec, tt.provider, tt.model, tt.in, tt.out)
			}
		})
	}
}

// Configured endpoints win: one at a built-in prefix replaces the built-in route, one below it
// serves its own paths while the built-in route serves the rest.
func TestConfiguredEndpointsWin(t *testing.T) {
	up := newRecorder(t)
	own := newRecorder(t)
	gw, _ := gateway(t, up, providerKeys, `  pass_through_endpoints:
    - {path: /cohere, target: "`+own.srv.URL+`/mine", include_subpath: true, headers: {Authorization: "Bearer own"}}
    - {path: /openai/v1/models, target: "`+own.srv.URL+`/models", methods: [GET]}
`, nil)
	tests := []struct {
		target   string
		fromOwn  bool
		wantPath string
	}{
		{"/cohere/v2/chat", true, "/mine/v2/chat"},
		{"/openai/v1/models", true, "/models"},
		{"/openai/v1/embeddings", false, "/v1/embeddings"},
	}
	for _, tt := range tests {
		method := http.MethodPost
		if strings.HasSuffix(tt.target, "/models") {
			method = http.MethodGet
		}
		status, body := call{method: method, target: tt.target, header: map[string]string{"Authorization": "Bearer " + master}}.do(t, gw.URL)
		srv := up
		if tt.fromOwn {
			srv = own
		}
		got, ok := srv.last(t)
		if status != 200 || !ok || got.uri != tt.wantPath {
			t.Errorf("%s: %d %s, upstream %q (own: %v); want %s", tt.target, status, body, got.uri, tt.fromOwn, tt.wantPath)
		}
	}
}

// The path join per provider: OpenAI keeps its base path and adds /v1 only where neither has
// it; the others replace the base URL's path, as LiteLLM does.
func TestBasePaths(t *testing.T) {
	tests := []struct {
		env, base, target, uri string
	}{
		{"OPENAI_API_BASE", "/v1", "/openai/v1/embeddings", "/v1/embeddings"},
		{"OPENAI_API_BASE", "/v1", "/openai/embeddings", "/v1/embeddings"},
		{"OPENAI_API_BASE", "/proxy", "/openai/v1/embeddings", "/proxy/v1/embeddings"},
		{"OPENAI_API_BASE", "", "/openai/embeddings", "/v1/embeddings"},
		{"ANTHROPIC_API_BASE", "/ignored", "/anthropic/v1/messages", "/v1/messages"},
		{"AZURE_API_BASE", "/az", "/azure/openai/deployments/d/embeddings", "/az/openai/deployments/d/embeddings"},
	}
	for _, tt := range tests {
		up := newRecorder(t)
		gw, _ := gateway(t, up, providerKeys, "", map[string]string{tt.env: up.srv.URL + tt.base})
		status, body := call{target: tt.target, body: "{}", header: map[string]string{"Authorization": "Bearer " + master}}.do(t, gw.URL)
		if got, _ := up.last(t); status != 200 || got.uri != tt.uri {
			t.Errorf("%s=%s %s: %d %s, upstream %q; want %q", tt.env, tt.base, tt.target, status, body, got.uri, tt.uri)
		}
	}
}

// A virtual key reaches a built-in route only when granted it (the routes spend the gateway's
// provider credentials).
func TestBuiltinRoutesNeedGrant(t *testing.T) {
	if !slices.Contains(builtin.Names(), "anthropic") {
		t.Fatal("anthropic is not in the registry")
	}
	res := config.Parse([]byte("general_settings:\n  master_key: m\n"))
	table, _, err := builtin.NewTable(res.Config, builtin.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range table.Routes() {
		if r.Builtin != nil && r.Auth != config.AuthGranted {
			t.Errorf("%s: auth %s, want granted-keys", r.Path, r.Auth)
		}
	}
}

// invalidating records which secrets the proxy dropped after an upstream refused them.
type invalidating struct {
	secrets.Inline
	mu      sync.Mutex
	dropped []string
}

func (c *invalidating) Invalidate(refs ...string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropped = append(c.dropped, refs...)
	return true
}

// A provider that answers 401 gets its credential dropped from the cache (a rotated key is read
// again on the next call), as on configured routes.
func TestRejectedProviderCredentialIsDropped(t *testing.T) {
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(401) }))
	t.Cleanup(refusing.Close)
	res := config.Parse([]byte("general_settings:\n  master_key: " + master + "\n"))
	table, _, err := builtin.NewTable(res.Config, builtin.Options{Env: func(k string) string {
		if k == "COHERE_API_BASE" {
			return refusing.URL
		}
		return ""
	}})
	if err != nil {
		t.Fatal(err)
	}
	cache := &invalidating{Inline: providerKeys}
	gw := httptest.NewServer(wiring.NewHandler(wiring.Sources{Routes: table, Secrets: cache, Keys: auth.NewMasterKey(master)}, usage.Discard{}, slog.New(slog.DiscardHandler), false))
	t.Cleanup(gw.Close)
	if status, _ := (call{target: "/cohere/v2/chat", body: "{}", header: map[string]string{"Authorization": "Bearer " + master}}).do(t, gw.URL); status != 401 {
		t.Fatalf("status %d, want the upstream's 401", status)
	}
	cache.mu.Lock()
	defer cache.mu.Unlock()
	if !slices.Equal(cache.dropped, []string{"COHERE_API_KEY"}) {
		t.Errorf("dropped %q, want [COHERE_API_KEY]", cache.dropped)
	}
}
