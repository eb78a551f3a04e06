package sdktest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/passthru/gateway/shared/usage"
	"github.com/passthru/gateway/shared/usage/usagetest"
	"github.com/passthru/gateway/shared/wiring"
)

// The gateway's keys (what the SDKs are given) and the provider credentials the gateway holds
// (what the upstream must receive instead).
const (
	masterKey         = "sk-master-e2e"
	virtualKey        = "sk-vkey-sdk-e2e" // alias virtualAlias, declared in the config
	virtualAlias      = "sdk-e2e"
	anthropicKey      = "sk-ant-upstream-e2e"
	openAIKey         = "sk-openai-upstream-e2e"
	azureKey          = "azure-upstream-e2e"
	geminiKey         = "gemini-upstream-e2e"
	cohereKey         = "co-upstream-e2e"
	mistralKey        = "mistral-upstream-e2e"
	langfusePublic    = "pk-lf-upstream-e2e"
	langfuseSecret    = "sk-lf-upstream-e2e"
	sdkLangfusePublic = "pk-lf-sdktest" // node/langfuse.mjs's public key
)

// gateway is the gateway in process, its providers' mock upstreams and what it wrote.
type gateway struct {
	URL   string
	mocks map[string]*mockUpstream
	sink  *usagetest.Sink
	logs  *syncBuffer
}

// startGateway starts one mock upstream per provider and the gateway with the built-in routes'
// base URL overrides pointing at them. The overrides and credentials are read from the
// environment when the route table is built, so they are set before OpenSources.
func startGateway(t *testing.T) *gateway {
	t.Helper()
	g := &gateway{sink: usagetest.NewSink(), logs: &syncBuffer{}, mocks: map[string]*mockUpstream{
		"anthropic": startMock(t, answerAnthropic),
		"openai":    startMock(t, answerOpenAI),
		"azure":     startMock(t, answerAzure),
		"gemini":    startMock(t, answerGemini),
		"cohere":    startMock(t, answerCohere),
		"mistral":   startMock(t, answerMistral),
		"langfuse":  startMock(t, answerLangfuse),
	}}
	for name, value := range map[string]string{
		"ANTHROPIC_API_BASE": g.mocks["anthropic"].URL, "ANTHROPIC_API_KEY": anthropicKey,
		"OPENAI_API_BASE": g.mocks["openai"].URL, "OPENAI_API_KEY": openAIKey,
		"AZURE_API_BASE": g.mocks["azure"].URL, "AZURE_API_KEY": azureKey,
		"GEMINI_API_BASE": g.mocks["gemini"].URL, "GEMINI_API_KEY": geminiKey,
		"COHERE_API_BASE": g.mocks["cohere"].URL, "COHERE_API_KEY": cohereKey,
		"MISTRAL_API_BASE": g.mocks["mistral"].URL, "MISTRAL_API_KEY": mistralKey,
		"LANGFUSE_HOST": g.mocks["langfuse"].URL, "LANGFUSE_PUBLIC_KEY": langfusePublic, "LANGFUSE_SECRET_KEY": langfuseSecret,
	} {
		t.Setenv(name, value)
	}
	log := slog.New(slog.NewJSONHandler(g.logs, nil))
	cfg := "general_settings:\n  master_key: " + masterKey + "\nkeys:\n  - {alias: " + virtualAlias + ", key: " + virtualKey + ", routes: [/]}\n"
	src, err := wiring.OpenSources(context.Background(), wiring.SourceOptions{ConfigYAML: cfg, Secrets: "env"}, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(wiring.NewHandler(src, g.sink, log, false)) // 127.0.0.1
	t.Cleanup(srv.Close)
	g.URL = srv.URL
	return g
}

// syncBuffer is the gateway's log, written from many goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// expectCall is one SDK call: what the SDK must return, what it must have sent, what the
// upstream must receive and the usage record the gateway must write.
type expectCall struct {
	call   string // the script's name for the call
	text   string
	chunks int
	usage  string // a JSON object: each of its fields must be in the SDK's usage, equal

	sentPath string // the path the SDK called on the gateway
	keyIn    header // where the SDK put the gateway key (the header, and its exact value)

	method string
	path   string            // upstream
	query  url.Values        // upstream, exactly
	want   map[string]string // upstream headers with exactly these values
	absent []string          // upstream headers that must not be there
	policy string            // forwardAll or forwardNone

	provider, model string
	in, out         *int64 // nil: not reported
	streamed        bool
	status          int
}

type header struct{ name, value string }

// The routes' client header policies.
const (
	// forwardAll: every header the SDK set, but its credentials and the framing ones, reaches
	// the upstream unchanged (Anthropic: anthropic-version, anthropic-beta, user-agent, x-stainless-*).
	forwardAll = "all"
	// forwardNone: the upstream gets the body's Content-Type and Content-Length and the
	// credential, nothing else of the client's.
	forwardNone = "none"
)

// notForwarded are the client headers forwardAll does not forward.
var notForwarded = []string{"authorization", "x-api-key", "x-litellm-api-key", "host", "content-length", "connection", "accept-encoding"}

type flow struct {
	script string
	mock   string
	calls  []expectCall
}

func n(v int64) *int64 { return &v }

func bearer(key string) string { return "Bearer " + key }

func basic(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// anthropicCalls: messages.create then messages.stream, with the key as apiKey then as
// authToken; apiKeyIn is where this SDK line sends apiKey.
func anthropicCalls(key, model string, apiKeyIn header) []expectCall {
	var calls []expectCall
	for _, auth := range []struct {
		name string
		in   header
	}{{"apiKey", apiKeyIn}, {"authToken", header{"authorization", bearer(key)}}} {
		base := expectCall{
			text: "Hello from Anthropic", usage: `{"input_tokens":12,"output_tokens":5}`,
			sentPath: "/anthropic/v1/messages", keyIn: auth.in,
			method: "POST", path: "/v1/messages", query: url.Values{},
			want:   map[string]string{"X-Api-Key": anthropicKey},
			absent: []string{"Authorization", "X-Litellm-Api-Key"}, policy: forwardAll,
			provider: "anthropic", model: model, in: n(12), out: n(5), status: 200,
		}
		json, stream := base, base
		json.call = auth.name + "/json"
		stream.call, stream.chunks, stream.streamed = auth.name+"/stream", 3, true
		calls = append(calls, json, stream)
	}
	return calls
}

// flows are the SDK scripts and what each call must do, the SDKs being given key.
func flows(key string) []flow {
	openAIBase := expectCall{
		method: "POST", query: url.Values{}, keyIn: header{"authorization", bearer(key)},
		want: map[string]string{"Authorization": bearer(openAIKey), "Api-Key": openAIKey}, policy: forwardNone, provider: "openai", status: 200,
	}
	chat, responses, embeddings := openAIBase, openAIBase, openAIBase
	chat.call, chat.text, chat.chunks, chat.streamed = "chat/stream", "Hello from OpenAI", 6, true
	chat.usage, chat.sentPath, chat.path = `{"prompt_tokens":9,"completion_tokens":3}`, "/openai/v1/chat/completions", "/v1/chat/completions"
	chat.model, chat.in, chat.out = "gpt-4o-mini", n(9), n(3)
	responses.call, responses.text, responses.usage = "responses", "Hello from Responses", `{"input_tokens":8,"output_tokens":3}`
	responses.sentPath, responses.path, responses.model, responses.in, responses.out = "/openai/v1/responses", "/v1/responses", "gpt-4.1-mini", n(8), n(3)
	embeddings.call, embeddings.text, embeddings.usage = "embeddings", "[0.5,-0.25,0.125]", `{"prompt_tokens":2,"total_tokens":2}`
	embeddings.sentPath, embeddings.path, embeddings.model, embeddings.in, embeddings.out = "/openai/v1/embeddings", "/v1/embeddings", "text-embedding-3-small", n(2), n(0)

	azureBase := expectCall{
		text: "Hello from Azure", method: "POST", keyIn: header{"api-key", key},
		sentPath: "/azure/openai/deployments/gpt-4o-deploy/chat/completions",
		path:     "/openai/deployments/gpt-4o-deploy/chat/completions", query: url.Values{"api-version": {"2024-10-21"}},
		want: map[string]string{"Api-Key": azureKey, "Authorization": bearer(azureKey)}, policy: forwardNone,
		provider: "azure", model: "gpt-4o", status: 200,
	}
	azureJSON, azureStream := azureBase, azureBase
	azureJSON.call, azureJSON.usage, azureJSON.in, azureJSON.out = "chat/json", `{"prompt_tokens":9,"completion_tokens":4}`, n(9), n(4)
	azureStream.call, azureStream.usage, azureStream.in, azureStream.out = "chat/stream", `{"prompt_tokens":9,"completion_tokens":3}`, n(9), n(3)
	azureStream.chunks, azureStream.streamed = 6, true

	geminiBase := expectCall{
		text: "Hello from Gemini", method: "POST", keyIn: header{"x-goog-api-key", key},
		absent: []string{"X-Goog-Api-Key"}, policy: forwardNone, provider: "gemini", model: "gemini-2.0-flash", in: n(4), status: 200,
	}
	gemJSON, gemStream := geminiBase, geminiBase
	gemJSON.call, gemJSON.usage, gemJSON.out = "generateContent", `{"promptTokenCount":4,"candidatesTokenCount":4,"totalTokenCount":8}`, n(4)
	gemJSON.sentPath, gemJSON.path = "/gemini/v1beta/models/gemini-2.0-flash:generateContent", "/v1beta/models/gemini-2.0-flash:generateContent"
	gemJSON.query = url.Values{"key": {geminiKey}}
	gemStream.call, gemStream.usage, gemStream.out = "streamGenerateContent", `{"promptTokenCount":4,"candidatesTokenCount":3,"totalTokenCount":7}`, n(3)
	gemStream.sentPath, gemStream.path = "/gemini/v1beta/models/gemini-2.0-flash:streamGenerateContent", "/v1beta/models/gemini-2.0-flash:streamGenerateContent"
	gemStream.query, gemStream.chunks, gemStream.streamed = url.Values{"key": {geminiKey}, "alt": {"sse"}}, 3, true

	return []flow{
		{"anthropic0.mjs", "anthropic", anthropicCalls(key, "claude-3-5-haiku-20241022", header{"x-api-key", key})},
		{"anthropic1.mjs", "anthropic", anthropicCalls(key, "claude-sonnet-4-5", header{"authorization", bearer(key)})},
		{"openai.mjs", "openai", []expectCall{chat, responses, embeddings}},
		{"azure.mjs", "azure", []expectCall{azureJSON, azureStream}},
		{"gemini.mjs", "gemini", []expectCall{gemJSON, gemStream}},
		{"cohere.mjs", "cohere", []expectCall{{
			call: "chat/stream", text: "Hello from Cohere", chunks: 3,
			usage:    `{"billedUnits":{"inputTokens":5,"outputTokens":3},"tokens":{"inputTokens":70,"outputTokens":3}}`, // the SDK camel-cases
			sentPath: "/cohere/v2/chat", keyIn: header{"authorization", bearer(key)},
			method: "POST", path: "/v2/chat", query: url.Values{}, want: map[string]string{"Authorization": bearer(cohereKey)}, policy: forwardNone,
			provider: "cohere", model: "command-r-plus-08-2024", in: n(5), out: n(3), streamed: true, status: 200,
		}}},
		{"mistral.mjs", "mistral", []expectCall{{
			call: "chat/stream", text: "Hello from Mistral", chunks: 5, usage: `{"promptTokens":6,"completionTokens":3}`,
			sentPath: "/mistral/v1/chat/completions", keyIn: header{"authorization", bearer(key)},
			method: "POST", path: "/v1/chat/completions", query: url.Values{}, want: map[string]string{"Authorization": bearer(mistralKey)}, policy: forwardNone,
			provider: "mistral", model: "mistral-small-latest", in: n(6), out: n(3), streamed: true, status: 200,
		}}},
		{"langfuse.mjs", "langfuse", []expectCall{{
			call: "ingestion", text: "trace-sdktest-1", usage: "null",
			sentPath: "/langfuse/api/public/ingestion", keyIn: header{"authorization", basic(sdkLangfusePublic, key)},
			method: "POST", path: "/api/public/ingestion", query: url.Values{},
			want: map[string]string{"Authorization": basic(langfusePublic, langfuseSecret)}, policy: forwardNone,
			provider: "langfuse", status: 207,
		}}},
	}
}

// TestSDKsThroughGateway runs every SDK flow through the gateway's built-in provider routes,
// once with the master key and once with a virtual key.
func TestSDKsThroughGateway(t *testing.T) {
	requireSDKs(t)
	g := startGateway(t)
	for _, caller := range []struct{ name, key, alias string }{{"master", masterKey, "master_key"}, {"virtual", virtualKey, virtualAlias}} {
		for _, f := range flows(caller.key) {
			t.Run(caller.name+"/"+strings.TrimSuffix(f.script, ".mjs"), func(t *testing.T) {
				res := runScript(t, f.script, g.URL, caller.key)
				ups := g.mocks[f.mock].take()
				checkCalls(t, f.calls, res)
				checkUpstream(t, g.URL, caller.key, f.calls, res.Sent, ups)
				checkRecords(t, caller.alias, f.calls, g.sink)
			})
		}
	}
	for _, secret := range []string{masterKey, virtualKey, anthropicKey, openAIKey, azureKey, geminiKey, cohereKey, mistralKey, langfuseSecret} {
		if strings.Contains(g.logs.String(), secret) {
			t.Errorf("the gateway's log holds the secret %q", secret)
		}
	}
	if t.Failed() {
		t.Logf("gateway log:\n%s", g.logs.String())
	}
}

// checkCalls: the SDK returned the mock's text, assembled from the expected number of stream
// chunks, and the mock's usage.
func checkCalls(t *testing.T, want []expectCall, res scriptResult) {
	t.Helper()
	if len(res.Calls) != len(want) {
		t.Fatalf("the script made %d calls, want %d: %+v", len(res.Calls), len(want), res.Calls)
	}
	for i, w := range want {
		got := res.Calls[i]
		if got.Call != w.call || got.Text != w.text || got.Chunks != w.chunks {
			t.Errorf("call %d: SDK got (%q, text %q, %d chunks), want (%q, %q, %d)", i, got.Call, got.Text, got.Chunks, w.call, w.text, w.chunks)
		}
		if err := usageHas(got.Usage, w.usage); err != nil {
			t.Errorf("%s: SDK usage: %v", w.call, err)
		}
	}
}

// usageHas reports whether the JSON object got has every field of want with an equal value
// (want "null": got must be null).
func usageHas(got json.RawMessage, want string) error {
	var g, w map[string]any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		return fmt.Errorf("expected usage %s: %w", want, err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		return fmt.Errorf("%s: %w", got, err)
	}
	if (g == nil) != (w == nil) {
		return fmt.Errorf("got %s, want %s", got, want)
	}
	for k, v := range w {
		if !reflect.DeepEqual(g[k], v) {
			return fmt.Errorf("%s = %v, want %v (usage %s)", k, g[k], v, got)
		}
	}
	return nil
}

// checkUpstream: one upstream request per SDK request, each with the expected method, path,
// query and credential, the exact body the SDK sent, and the gateway key nowhere in its
// headers, query or path.
func checkUpstream(t testing.TB, gatewayURL, key string, want []expectCall, sent []sentRequest, ups []upstreamRequest) {
	t.Helper()
	if len(sent) != len(want) || len(ups) != len(want) {
		t.Fatalf("the SDK sent %d requests and the upstream received %d, want %d each", len(sent), len(ups), len(want))
	}
	for i, w := range want {
		s, u := sent[i], ups[i]
		if got := strings.TrimPrefix(s.URL, gatewayURL); !strings.HasPrefix(got, w.sentPath) {
			t.Errorf("%s: the SDK called %s, want the path %s", w.call, s.URL, w.sentPath)
		}
		if s.Headers[w.keyIn.name] != w.keyIn.value {
			t.Errorf("%s: the SDK sent %s: %q, want %q (headers %v)", w.call, w.keyIn.name, s.Headers[w.keyIn.name], w.keyIn.value, s.Headers)
		}
		if u.Method != w.method || s.Method != w.method || u.Path != w.path {
			t.Errorf("%s: upstream got %s %s (SDK sent %s), want %s %s", w.call, u.Method, u.Path, s.Method, w.method, w.path)
		}
		if q, err := url.ParseQuery(u.RawQuery); err != nil || !reflect.DeepEqual(q, w.query) {
			t.Errorf("%s: upstream query %q, want %v", w.call, u.RawQuery, w.query.Encode())
		}
		for name, value := range w.want {
			if got := u.Header.Values(name); len(got) != 1 || got[0] != value {
				t.Errorf("%s: upstream %s: %q, want exactly %q", w.call, name, got, value)
			}
		}
		for _, name := range w.absent {
			if got, ok := u.Header[http.CanonicalHeaderKey(name)]; ok {
				t.Errorf("%s: upstream got %s: %q, want none", w.call, name, got)
			}
		}
		checkPolicy(t, w, s, u)
		if !bytes.Equal(u.Body, s.Body) {
			t.Errorf("%s: upstream body differs from the SDK's\n got: %s\nwant: %s", w.call, u.Body, s.Body)
		}
		if where := leaks(u, key); len(where) > 0 {
			t.Errorf("%s: the gateway key reached the upstream in %s", w.call, strings.Join(where, ", "))
		}
	}
}

// checkPolicy checks the route's client header policy on one request.
func checkPolicy(t testing.TB, w expectCall, s sentRequest, u upstreamRequest) {
	t.Helper()
	switch w.policy {
	case forwardAll:
		for name, value := range s.Headers {
			if slices.Contains(notForwarded, name) {
				continue
			}
			if got := u.Header.Values(name); len(got) != 1 || got[0] != value {
				t.Errorf("%s: the SDK sent %s: %q, the upstream got %q", w.call, name, value, got)
			}
		}
	case forwardNone:
		for name, values := range u.Header {
			if _, cred := w.want[name]; !cred && name != "Content-Type" && name != "Content-Length" {
				t.Errorf("%s: upstream got the client's %s: %q", w.call, name, values)
			}
		}
		if got := u.Header.Get("Content-Type"); got != s.Headers["content-type"] {
			t.Errorf("%s: upstream Content-Type %q, the SDK sent %q", w.call, got, s.Headers["content-type"])
		}
	default:
		t.Fatalf("%s: no header policy", w.call)
	}
}

// leaks lists where key appears in r: any header value (Basic credentials decoded too), the
// query (raw and decoded) or the path. The body is not the gateway's to police.
func leaks(r upstreamRequest, key string) []string {
	var where []string
	for name, values := range r.Header {
		for _, v := range values {
			if strings.Contains(v, key) || strings.Contains(decodeBasic(v), key) {
				where = append(where, "header "+name)
			}
		}
	}
	if q, _ := url.QueryUnescape(r.RawQuery); strings.Contains(r.RawQuery, key) || strings.Contains(q, key) {
		where = append(where, "query")
	}
	if strings.Contains(r.Path, key) {
		where = append(where, "path")
	}
	return where
}

func decodeBasic(v string) string {
	enc, ok := strings.CutPrefix(v, "Basic ")
	if !ok {
		return ""
	}
	dec, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	return string(dec)
}

// checkRecords: one usage record per call with the provider, model, tokens, streamed flag,
// status and the caller's key alias. Records are written once a response has been relayed, so the SDK may already have
// made its next call: they are compared as a set.
func checkRecords(t *testing.T, alias string, want []expectCall, sink *usagetest.Sink) {
	t.Helper()
	var got, exp []string
	for range want {
		got = append(got, recordKey(sink.Next(t)))
	}
	for _, extra := range sink.Drain() {
		got = append(got, recordKey(extra))
	}
	for _, w := range want {
		exp = append(exp, recordKey(usage.Record{Status: w.status, Streamed: w.streamed, KeyAlias: alias,
			Tokens: usage.Tokens{Provider: w.provider, Model: w.model, Input: w.in, Output: w.out}}))
	}
	slices.Sort(got)
	slices.Sort(exp)
	if !slices.Equal(got, exp) {
		t.Errorf("usage records (provider model in out streamed status alias):\n got %q\nwant %q", got, exp)
	}
}

func recordKey(r usage.Record) string {
	tok := func(p *int64) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprint(*p)
	}
	return fmt.Sprintf("%s %s %s %s streamed=%v %d alias=%s", r.Provider, r.Model, tok(r.Input), tok(r.Output), r.Streamed, r.Status, r.KeyAlias)
}

// With a key the gateway does not know, each SDK raises its own authentication error from the
// gateway's LiteLLM-shaped 401 on its first call, no upstream is called, and the refusal is
// recorded.
func TestSDKsWithUnknownKey(t *testing.T) {
	requireSDKs(t)
	g := startGateway(t)
	const unknownKey = "sk-unknown-e2e"
	want := map[string]struct {
		class  string
		status int // 0: the SDK's error has none (Langfuse's message carries it)
	}{
		"anthropic0.mjs": {"AuthenticationError", 401},
		"anthropic1.mjs": {"AuthenticationError", 401},
		"openai.mjs":     {"AuthenticationError", 401},
		"azure.mjs":      {"AuthenticationError", 401},
		"gemini.mjs":     {"GoogleGenerativeAIFetchError", 401},
		"cohere.mjs":     {"UnauthorizedError", 401},
		"mistral.mjs":    {"SDKError", 401},
		"langfuse.mjs":   {"Error", 0},
	}
	for _, f := range flows(unknownKey) {
		t.Run(strings.TrimSuffix(f.script, ".mjs"), func(t *testing.T) {
			got := runFailingScript(t, f.script, g.URL, unknownKey)
			w := want[f.script]
			if got.Class != w.class || got.Status != w.status || !strings.Contains(got.Message, "Invalid proxy server token passed.") {
				t.Errorf("the SDK raised %+v, want a %s with status %d carrying the gateway's message", got, w.class, w.status)
			}
			if ups := g.mocks[f.mock].take(); len(ups) != 0 {
				t.Errorf("the upstream was called %d times", len(ups))
			}
			recs := append([]usage.Record{g.sink.Next(t)}, g.sink.Drain()...)
			if len(recs) != 1 || recs[0].Status != 401 || recs[0].ErrorClass != "auth" || recs[0].Provider != f.calls[0].provider {
				t.Errorf("records %+v, want one: status 401, error_class auth, provider %s", recs, f.calls[0].provider)
			}
		})
	}
}
