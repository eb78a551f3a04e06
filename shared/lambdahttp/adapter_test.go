package lambdahttp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/passthru/gateway/shared/auth"
	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/lambdahttp"
	"github.com/passthru/gateway/shared/proxy"
	"github.com/passthru/gateway/shared/route"
	"github.com/passthru/gateway/shared/secrets"
	"github.com/passthru/gateway/shared/usage"
)

// upstream answers like the providers behind local/config.yaml and remembers what it got.
type upstream struct {
	*httptest.Server
	mu   sync.Mutex
	got  *http.Request
	body []byte
}

func startUpstream(t testing.TB) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.got, u.body = r.Clone(context.Background()), body
		u.mu.Unlock()
		switch r.URL.Path {
		case "/v1/rerank":
			w.Header().Set("Content-Type", "application/json")
			w.Header().Add("Set-Cookie", "a=1")
			w.Header().Add("Set-Cookie", "b=2")
			_, _ = io.WriteString(w, `{"results":[{"index":1,"relevance_score":0.99}]}`)
		case "/api/public/ingestion":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusMultiStatus)
			_, _ = io.WriteString(w, `{"successes":[{"id":"evt-1","status":201}],"errors":[]}`)
		case "/v1/chat/completions":
			w.Header().Set("Content-Type", "text/event-stream")
			for _, e := range chatEvents {
				_, _ = io.WriteString(w, e)
				w.(http.Flusher).Flush()
			}
		}
	}))
	t.Cleanup(u.Close)
	return u
}

var chatEvents = []string{
	"data: {\"choices\":[{\"delta\":{\"content\":\"Hello\"}}]}\n\n",
	"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":8,\"completion_tokens\":2}}\n\n",
	"data: [DONE]\n\n",
}

// gatewayFor serves local/config.yaml, the config the fixtures in events/ are written for, with
// its mock-upstream targets pointed at u.
func gatewayFor(t testing.TB, u string) http.Handler {
	t.Helper()
	data, err := os.ReadFile("../../local/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	res := config.Parse(bytes.ReplaceAll(data, []byte("http://127.0.0.1:4010"), []byte(u)))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	table, err := route.NewTable(res.Config)
	if err != nil {
		t.Fatal(err)
	}
	resolver := secrets.Inline{"COHERE_API_KEY": "co-xyz", "LANGFUSE_PUBLIC_KEY": "pk-lf-1", "LANGFUSE_SECRET_KEY": "sk-lf-2",
		"ANTHROPIC_API_KEY": "sk-ant", "OPENAI_API_KEY": "sk-oai"}
	return proxy.New(table, proxy.WithKeys(auth.NewMasterKey("sk-1234")), proxy.WithSecrets(resolver),
		proxy.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../../events/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// response is what a caller of the function sees, whatever the response type.
type response struct {
	kind     string
	status   int
	headers  map[string]string
	cookies  []string
	body     string
	readErr  error
	isBase64 bool
}

// decode reads a streaming response (prelude, 8 NULs, body) or a buffered one, from the bytes
// the runtime would post.
func decode(t *testing.T, out any) response {
	t.Helper()
	if b, ok := out.(*lambdahttp.BufferedResponse); ok {
		out = wire(t, b)
	}
	switch r := out.(type) {
	case *events.APIGatewayProxyStreamingResponse:
		return decodeStream(t, "rest-stream", r)
	case *events.LambdaFunctionURLStreamingResponse:
		return decodeStream(t, "url-stream", r)
	case events.APIGatewayProxyResponse:
		h := map[string]string{}
		for k, vv := range r.MultiValueHeaders {
			h[k] = strings.Join(vv, ",")
		}
		return response{kind: "rest-buffered", status: r.StatusCode, headers: h, cookies: r.MultiValueHeaders["Set-Cookie"], body: r.Body, isBase64: r.IsBase64Encoded}
	case events.APIGatewayV2HTTPResponse:
		return response{kind: "http-buffered", status: r.StatusCode, headers: r.Headers, cookies: r.Cookies, body: r.Body, isBase64: r.IsBase64Encoded}
	case events.LambdaFunctionURLResponse:
		return response{kind: "url-buffered", status: r.StatusCode, headers: r.Headers, cookies: r.Cookies, body: r.Body, isBase64: r.IsBase64Encoded}
	default:
		t.Fatalf("unexpected response type %T", out)
		return response{}
	}
}

// wire reads a buffered response as the runtime posts it (its JSON) back into its event type.
func wire(t *testing.T, b *lambdahttp.BufferedResponse) any {
	t.Helper()
	raw, err := io.ReadAll(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	v := reflect.New(reflect.TypeOf(b.Value))
	if err := json.Unmarshal(raw, v.Interface()); err != nil {
		t.Fatalf("buffered response %q: %v", raw, err)
	}
	if !reflect.DeepEqual(v.Elem().Interface(), b.Value) {
		t.Errorf("posted JSON %s does not round-trip to %+v", raw, b.Value)
	}
	return v.Elem().Interface()
}

func decodeStream(t *testing.T, kind string, r io.Reader) response {
	t.Helper()
	raw, err := io.ReadAll(r)
	prelude, body, ok := bytes.Cut(raw, make([]byte, 8))
	if !ok {
		t.Fatalf("no 8-NUL separator after the prelude in %q", raw)
	}
	var p struct {
		StatusCode int               `json:"statusCode"`
		Headers    map[string]string `json:"headers"`
		Cookies    []string          `json:"cookies"`
	}
	if err := json.Unmarshal(prelude, &p); err != nil {
		t.Fatalf("prelude %q: %v", prelude, err)
	}
	return response{kind: kind, status: p.StatusCode, headers: p.Headers, cookies: p.Cookies, body: string(body), readErr: err}
}

// event decodes a payload as the Lambda runtime does before calling the handler.
func event(t testing.TB, payload []byte) lambdahttp.Event {
	t.Helper()
	var e lambdahttp.Event
	if err := json.Unmarshal(payload, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

func invoke(t *testing.T, a *lambdahttp.Adapter, payload []byte) response {
	t.Helper()
	out, err := a.Invoke(context.Background(), event(t, payload))
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	return decode(t, out)
}

// Every fixture, through every mode its integration can have: the right response type, and the
// exact status, headers, cookies and body.
func TestFixtures(t *testing.T) {
	up := startUpstream(t)
	h := gatewayFor(t, up.URL)
	stream := lambdahttp.New(h, lambdahttp.Options{})
	buffered := lambdahttp.New(h, lambdahttp.Options{RESTMode: lambdahttp.Buffered, FunctionURLMode: lambdahttp.Buffered})
	rerank := `{"results":[{"index":1,"relevance_score":0.99}]}`
	ingest := `{"successes":[{"id":"evt-1","status":201}],"errors":[]}`
	chat := strings.Join(chatEvents, "")
	tests := []struct {
		fixture string
		adapter *lambdahttp.Adapter
		kind    string
		status  int
		body    string
		cookies string
	}{
		{"rest-rerank.json", stream, "rest-stream", 200, rerank, "a=1 b=2"},
		{"rest-rerank.json", buffered, "rest-buffered", 200, rerank, "a=1 b=2"},
		{"rest-langfuse.json", stream, "rest-stream", 207, ingest, ""},
		{"rest-langfuse.json", buffered, "rest-buffered", 207, ingest, ""},
		{"rest-chat-stream.json", stream, "rest-stream", 200, chat, ""},
		{"rest-chat-stream.json", buffered, "rest-buffered", 200, chat, ""},
		{"function-url-rerank.json", stream, "url-stream", 200, rerank, "a=1 b=2"},
		{"function-url-rerank.json", buffered, "url-buffered", 200, rerank, "a=1 b=2"},
		{"function-url-langfuse.json", stream, "url-stream", 207, ingest, ""},
		{"function-url-chat-stream.json", stream, "url-stream", 200, chat, ""},
		{"http-api-rerank.json", stream, "http-buffered", 200, rerank, "a=1 b=2"}, // HTTP APIs cannot stream
		{"http-api-langfuse.json", stream, "http-buffered", 207, ingest, ""},
		{"http-api-chat-stream.json", buffered, "http-buffered", 200, chat, ""},
	}
	for _, tt := range tests {
		t.Run(tt.fixture+" "+tt.kind, func(t *testing.T) {
			got := invoke(t, tt.adapter, fixture(t, tt.fixture))
			if got.kind != tt.kind || got.status != tt.status || got.body != tt.body || got.readErr != nil || got.isBase64 {
				t.Fatalf("got %s %d %q (read err %v, base64 %v), want %s %d %q", got.kind, got.status, got.body, got.readErr, got.isBase64, tt.kind, tt.status, tt.body)
			}
			if strings.Join(got.cookies, " ") != tt.cookies {
				t.Errorf("cookies = %q, want %q", got.cookies, tt.cookies)
			}
			if got.headers["X-Litellm-Call-Id"] == "" || got.headers["Content-Type"] == "" {
				t.Errorf("headers = %v", got.headers)
			}
			if _, ok := got.headers["Set-Cookie"]; ok && tt.kind != "rest-buffered" {
				t.Errorf("Set-Cookie must travel as cookies, not a header: %v", got.headers)
			}
		})
	}
}

// captured is the request a handler received.
type captured struct {
	method, url, host, remote, cookie, body, requestID string
	header                                             http.Header
}

// The event becomes the request the client made: stage stripped, repeated query keys and
// headers kept, cookies re-joined into Cookie, base64 bodies decoded, ids and source IP kept.
func TestEventToRequest(t *testing.T) {
	var got captured
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = captured{method: r.Method, url: r.URL.String(), host: r.Host, remote: r.RemoteAddr, cookie: r.Header.Get("Cookie"),
			body: string(b), header: r.Header.Clone()}
		w.WriteHeader(204)
	})
	a := lambdahttp.New(h, lambdahttp.Options{RESTMode: lambdahttp.Buffered})
	langfuseBody := `{"batch":[{"id":"evt-1","type":"trace-create","timestamp":"2026-11-21T18:00:00Z","body":{"id":"t1","name":"gateway-demo"}}]}`
	tests := []struct {
		fixture, url, cookie, body, tags string
	}{
		{"rest-rerank.json", "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/v1/rerank?trace=a&trace=b", "", "", ""},
		{"rest-langfuse.json", "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/api/public/ingestion", "", langfuseBody, ""},
		{"http-api-rerank.json", "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/v1/rerank?trace=a&trace=b", "", "", ""},
		{"function-url-langfuse.json", "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws/api/public/ingestion", "", langfuseBody, ""},
		{"function-url-chat-stream.json", "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws/openai/v1/chat/completions", "session=abc; theme=dark", "", "team-a, demo"},
		{"rest-chat-stream.json", "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/openai/v1/chat/completions", "", "", "team-a demo"},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			raw := fixture(t, tt.fixture)
			if r := invoke(t, a, raw); r.status != 204 {
				t.Fatalf("status %d", r.status)
			}
			if got.method != "POST" || got.url != tt.url || got.remote != "203.0.113.10" || got.cookie != tt.cookie {
				t.Errorf("request = %s %s remote %q cookie %q", got.method, got.url, got.remote, got.cookie)
			}
			if wantHost := strings.Split(strings.TrimPrefix(tt.url, "https://"), "/")[0]; got.host != wantHost {
				t.Errorf("host = %q, want %q", got.host, wantHost)
			}
			if tags := strings.Join(got.header.Values("X-Litellm-Tags"), " "); tt.tags != "" && tags != tt.tags {
				t.Errorf("x-litellm-tags = %q, want %q (every value of a repeated header)", tags, tt.tags)
			}
			if tt.body != "" && got.body != tt.body {
				t.Errorf("body = %q, want the decoded %q", got.body, tt.body)
			}
			if got.header.Get("Content-Type") != "application/json" || got.header.Get("Authorization") == "" {
				t.Errorf("headers = %v", got.header)
			}
		})
	}
}

// The request id and source IP reach the proxy's logs and usage records.
func TestRequestInfoReachesLogsAndUsage(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close() // connections to it are refused: the proxy logs a warning for the call
	var logs bytes.Buffer
	data, _ := os.ReadFile("../../local/config.yaml")
	res := config.Parse(bytes.ReplaceAll(data, []byte("http://127.0.0.1:4010"), []byte(dead.URL)))
	table, _ := route.NewTable(res.Config)
	rec := &recorder{}
	h := proxy.New(table, proxy.WithKeys(auth.NewMasterKey("sk-1234")), proxy.WithSecrets(secrets.Inline{"COHERE_API_KEY": "co"}),
		proxy.WithUsage(rec), proxy.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	a := lambdahttp.New(h, lambdahttp.Options{})
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "lambda-req-7"})
	out, err := a.Invoke(ctx, event(t, fixture(t, "rest-rerank.json")))
	if err != nil {
		t.Fatal(err)
	}
	if r := decode(t, out); r.status != 502 {
		t.Fatalf("status %d", r.status)
	}
	if len(rec.ids) != 1 || rec.ids[0] != "c6af9ac6-7b61-11e6-9a41-93e8deadbeef" {
		t.Errorf("usage request ids = %q", rec.ids)
	}
	for _, want := range []string{"request_id=c6af9ac6-7b61-11e6-9a41-93e8deadbeef", "lambda_request_id=lambda-req-7", "source_ip=203.0.113.10", "upstream request failed"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

type recorder struct {
	mu  sync.Mutex
	ids []string
}

func (r *recorder) Record(_ context.Context, u usage.Record) {
	r.mu.Lock()
	r.ids = append(r.ids, u.RequestID)
	r.mu.Unlock()
}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))
