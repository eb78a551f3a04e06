package proxy_test

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passthru/gateway/shared/auth"
	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/proxy"
	"github.com/passthru/gateway/shared/route"
	"github.com/passthru/gateway/shared/secrets"
	"github.com/passthru/gateway/shared/usage/usagetest"
)

const masterKey = "sk-1234"

var testSecrets = secrets.Inline{
	"COHERE_API_KEY":      "co-xyz",
	"LANGFUSE_PUBLIC_KEY": "pk-lf-1",
	"LANGFUSE_SECRET_KEY": "sk-lf-2",
	"ANTHROPIC_API_KEY":   "sk-ant-real",
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// gw is a gateway under test, served on loopback.
type gw struct {
	*httptest.Server
	usage *usagetest.Sink
	logs  *syncBuffer
}

// startGateway serves a LiteLLM config in which {{UP}} stands for the upstream's base URL.
func startGateway(t *testing.T, yamlText, upstream string, opts ...proxy.Option) *gw {
	t.Helper()
	return startWrappedGateway(t, yamlText, upstream, nil, opts...)
}

// startWrappedGateway is startGateway with the handler wrapped as an entry point would (nil: not).
func startWrappedGateway(t *testing.T, yamlText, upstream string, wrap func(http.Handler) http.Handler, opts ...proxy.Option) *gw {
	t.Helper()
	res := config.Parse([]byte(strings.ReplaceAll(yamlText, "{{UP}}", upstream)))
	if res.Err != nil {
		t.Fatalf("config: %v", res.Err)
	}
	table, err := route.NewTable(res.Config)
	if err != nil {
		t.Fatal(err)
	}
	g := &gw{usage: usagetest.NewSink(), logs: &syncBuffer{}}
	log := slog.New(slog.NewTextHandler(g.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	all := append([]proxy.Option{
		proxy.WithKeys(auth.NewMasterKey(masterKey)),
		proxy.WithSecrets(testSecrets),
		proxy.WithUsage(g.usage),
		proxy.WithLogger(log),
	}, opts...)
	var h http.Handler = proxy.New(table, all...)
	if wrap != nil {
		h = wrap(h)
	}
	g.Server = httptest.NewServer(h)
	t.Cleanup(g.Close)
	return g
}

// seen is what an upstream received.
type seen struct {
	Method string
	URI    string // request URI as it arrived on the wire
	Host   string
	Header http.Header
	Body   []byte
}

// upstream is a recording httptest upstream.
type upstream struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seen
}

func (u *upstream) last(t *testing.T) seen {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.reqs) == 0 {
		t.Fatal("upstream received no request")
	}
	return u.reqs[len(u.reqs)-1]
}

func (u *upstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.reqs)
}

// startUpstream records each request (body read whole) and then calls reply.
func startUpstream(t *testing.T, reply http.HandlerFunc) *upstream {
	t.Helper()
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("upstream read body: %v", err)
		}
		u.mu.Lock()
		u.reqs = append(u.reqs, seen{Method: r.Method, URI: r.RequestURI, Host: r.Host, Header: r.Header.Clone(), Body: body})
		u.mu.Unlock()
		if reply != nil {
			reply(w, r)
		}
	}))
	t.Cleanup(u.Close)
	return u
}

func jsonReply(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// do sends a request to the gateway and returns the response with its body read.
func do(t *testing.T, method, url string, body io.Reader, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	return resp, b
}

func wantStatus(t *testing.T, resp *http.Response, body []byte, want int) {
	t.Helper()
	if resp.StatusCode != want {
		t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, want, body)
	}
}

func wantBody(t *testing.T, got []byte, want string) {
	t.Helper()
	if string(got) != want {
		t.Fatalf("body =\n%s\nwant\n%s", got, want)
	}
}

func errorJSON(status, typ, msg string) string {
	return `{"error":{"message":` + jsonString(msg) + `,"type":"` + typ + `","param":"None","code":"` + status + `"}}`
}

func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '<':
			b.WriteString(`\u003c`)
		case '>':
			b.WriteString(`\u003e`)
		case '&':
			b.WriteString(`\u0026`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// rawRequest sends "METHOD URI" exactly as written (Go's client would clean or re-encode it).
func rawRequest(t *testing.T, base, line string) (*http.Response, []byte) {
	t.Helper()
	addr := strings.TrimPrefix(base, "http://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, line+" HTTP/1.1\r\nHost: "+addr+"\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

func startServer(t *testing.T, h http.Handler) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL
}
