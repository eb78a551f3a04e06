package upstream_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/url"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/passthru/gateway/shared/upstream"
)

// ---- helpers ----

// bound is the generous limit on anything that should happen "at once": the machine is a noisy
// 2-core box, so tests wait this long before calling a thing late, never assert a short time.
const bound = 10 * time.Second

// testCtx is a context that ends the test's exchanges if something hangs.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// reply is what a raw server writes for one request.
type reply struct {
	raw      string // bytes written back ("" writes nothing)
	close    bool   // close the connection after raw
	reset    bool   // close with RST (SO_LINGER 0) instead of FIN
	received func() // called once the request was read (before raw is written)
}

// rawServer is a loopback TCP server that reads requests with http.ReadRequest and answers
// with the raw bytes its handler returns, so each test controls the wire exactly. It records
// accepted connections and when it saw each one end (EOF or reset from the client).
type rawServer struct {
	t       testing.TB
	ln      net.Listener
	url     string
	accepts atomic.Int32
	ended   chan int // accept index (1-based) of each connection the client closed
	done    chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   []net.Conn
}

// newRawServer serves each connection with handle(conn index, request index on it, request, body).
func newRawServer(t testing.TB, handle func(ci, ri int, req *http.Request, body []byte) reply) *rawServer {
	return newRawConnServer(t, func(s *rawServer, ci int, c net.Conn) {
		br := bufio.NewReader(c)
		for ri := 1; ; ri++ {
			req, err := http.ReadRequest(br)
			if err != nil {
				s.ended <- ci
				return
			}
			body, err := io.ReadAll(req.Body)
			if err != nil {
				s.ended <- ci
				return
			}
			r := handle(ci, ri, req, body)
			if r.received != nil {
				r.received()
			}
			if r.raw != "" {
				if _, err := io.WriteString(c, r.raw); err != nil {
					return
				}
			}
			if r.reset {
				_ = c.(*net.TCPConn).SetLinger(0)
			}
			if r.close || r.reset {
				_ = c.Close()
				return
			}
		}
	})
}

// newRawConnServer runs serve on each accepted connection.
func newRawConnServer(t testing.TB, serve func(s *rawServer, ci int, c net.Conn)) *rawServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{t: t, ln: ln, url: "http://" + ln.Addr().String(), ended: make(chan int, 1024), done: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			ci := int(s.accepts.Add(1))
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				serve(s, ci, c)
			}()
		}
	}()
	t.Cleanup(s.Close)
	return s
}

// Close stops the server and waits for its goroutines.
func (s *rawServer) Close() {
	select {
	case <-s.done:
		return
	default:
	}
	close(s.done)
	_ = s.ln.Close()
	s.mu.Lock()
	for _, c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	finished := make(chan struct{})
	go func() { s.wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(bound):
		s.t.Errorf("raw server goroutines did not end within %v", bound)
	}
}

// waitEnded waits until the server sees the client end connection ci.
func (s *rawServer) waitEnded(t testing.TB, ci int) {
	t.Helper()
	deadline := time.After(bound)
	for {
		select {
		case got := <-s.ended:
			if got == ci {
				return
			}
		case <-deadline:
			t.Fatalf("server did not see connection %d closed by the client within %v", ci, bound)
		}
	}
}

// endedSoFar returns the connection ends seen so far (non-blocking).
func (s *rawServer) endedSoFar() []int {
	var got []int
	for {
		select {
		case ci := <-s.ended:
			got = append(got, ci)
		default:
			return got
		}
	}
}

// newTransport returns an upstream.Transport over an http.Transport set like the gateway's
// (no transparent compression) and changed by mod, and a count of the dials made through
// HTTP.DialContext (both paths dial with it).
func newTransport(t testing.TB, mod func(*http.Transport)) (*upstream.Transport, *atomic.Int32) {
	dials := new(atomic.Int32)
	d := &net.Dialer{Timeout: bound}
	base := &http.Transport{
		DisableCompression: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return d.DialContext(ctx, network, addr)
		},
	}
	if mod != nil {
		mod(base)
	}
	tr := upstream.New(base)
	t.Cleanup(tr.CloseIdleConnections)
	return tr, dials
}

// viaTransport is a trace that records whether net/http's Transport took the request: it
// calls GetConn for every request it handles; the direct path never does.
func viaTransport(ctx context.Context) (context.Context, *atomic.Bool) {
	var took atomic.Bool
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GetConn: func(string) { took.Store(true) }}), &took
}

// post is a POST with an in-memory body (http.NewRequest sets GetBody and ContentLength).
func post(t testing.TB, ctx context.Context, url string, body []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func get(t testing.TB, ctx context.Context, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// streamed hides the reader's type, so the request has no GetBody: a streamed upload.
type streamed struct{ io.Reader }

func (streamed) Close() error { return nil }

// roundTrip makes the call and reads the whole body (checking for a clean end).
func roundTrip(t testing.TB, rt http.RoundTripper, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", req.Method, req.URL, err)
	}
	if err := resp.Body.Close(); err != nil {
		t.Fatalf("%s %s: closing body read to EOF: %v", req.Method, req.URL, err)
	}
	return resp, string(b)
}

// within runs f and fails the test if it does not return within bound.
func within(t testing.TB, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(bound):
		t.Fatalf("%s did not return within %v", what, bound)
	}
}

const okEmpty = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"

func okBody(s string) string {
	return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + strconv.Itoa(len(s)) + "\r\n\r\n" + s
}

// ---- 1. wire bytes ----

// captured is what a capture server saw of one request: the bytes of its first Read (a 64 KiB
// buffer) and the whole request.
type captured struct{ first, all []byte }

// newCaptureServer answers every request with an empty 200 and sends what it read on got.
func newCaptureServer(t testing.TB) (*rawServer, chan captured) {
	got := make(chan captured, 16)
	s := newRawConnServer(t, func(s *rawServer, ci int, c net.Conn) {
		buf := make([]byte, 64<<10)
		for {
			n, err := c.Read(buf)
			if err != nil {
				s.ended <- ci
				return
			}
			cp := captured{first: append([]byte(nil), buf[:n]...)}
			cp.all = append([]byte(nil), cp.first...)
			for !completeRequest(cp.all) {
				n, err := c.Read(buf)
				if err != nil {
					s.ended <- ci
					return
				}
				cp.all = append(cp.all, buf[:n]...)
			}
			got <- cp
			if _, err := io.WriteString(c, okEmpty); err != nil {
				return
			}
		}
	})
	return s, got
}

// completeRequest reports whether b holds one whole request and nothing after it.
func completeRequest(b []byte) bool {
	r := bytes.NewReader(b)
	req, err := http.ReadRequest(bufio.NewReader(r))
	if err != nil {
		return false
	}
	_, err = io.ReadAll(req.Body)
	return err == nil
}

func TestWireBytesMatchHTTPTransport(t *testing.T) {
	ctx := testCtx(t)
	body := bytes.Repeat([]byte("0123456789"), 20) // 200 bytes
	newReq := func(url string, b io.Reader) *http.Request {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/chat/completions?x=1&y=%20z", b)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer sk-test")
		req.Header.Set("X-Custom", "one")
		req.Header.Add("X-Multi", "a")
		req.Header.Add("X-Multi", "b")
		req.Header.Set("User-Agent", "passthru-test/1")
		req.Host = "api.example.test"
		return req
	}
	capture := func(rt http.RoundTripper, b func() io.Reader) (captured, bool) {
		t.Helper()
		s, got := newCaptureServer(t)
		dctx, took := viaTransport(ctx)
		req := newReq(s.url, b())
		req = req.WithContext(dctx)
		req.ContentLength = int64(len(body)) // a streamed body's length is known too
		roundTrip(t, rt, req)
		select {
		case c := <-got:
			return c, took.Load()
		case <-time.After(bound):
			t.Fatal("capture server got no request")
		}
		return captured{}, false
	}

	up, dials := newTransport(t, nil)
	std := &http.Transport{DisableCompression: true}
	t.Cleanup(std.CloseIdleConnections)

	mem := func() io.Reader { return bytes.NewReader(body) }
	fromUp, upTook := capture(up, mem)
	fromStd, _ := capture(std, mem)

	if upTook {
		t.Error("in-memory POST went to net/http's Transport (GetConn fired), want the direct path")
	}
	if !bytes.Equal(fromUp.all, fromStd.all) {
		t.Errorf("wire bytes differ from http.Transport's\nupstream:\n%q\nhttp.Transport:\n%q", fromUp.all, fromStd.all)
	}
	if !bytes.Equal(fromUp.first, fromUp.all) {
		t.Errorf("request did not arrive in one read: first read %d of %d bytes", len(fromUp.first), len(fromUp.all))
	}
	if !bytes.Contains(fromUp.all, []byte("\r\nContent-Length: 200\r\n")) || !bytes.HasSuffix(fromUp.all, body) {
		t.Errorf("request lacks its length or body:\n%q", fromUp.all)
	}
	if dials.Load() != 1 {
		t.Errorf("dials = %d, want 1", dials.Load())
	}

	// The same request with a streamed body (no GetBody) goes to the wrapped Transport, which
	// dials through the same DialContext: the trace's GetConn fires and a dial is counted.
	fromStream, streamTook := capture(up, func() io.Reader { return streamed{bytes.NewReader(body)} })
	if !streamTook {
		t.Error("streamed POST did not go to net/http's Transport")
	}
	if dials.Load() != 2 {
		t.Errorf("dials after the streamed request = %d, want 2", dials.Load())
	}
	if !bytes.Equal(fromStream.all, fromStd.all) {
		t.Errorf("streamed request's bytes differ:\n%q\n%q", fromStream.all, fromStd.all)
	}
}

func TestTraceHooksFireWhenWritten(t *testing.T) {
	ctx := testCtx(t)
	s := newRawServer(t, func(ci, ri int, req *http.Request, body []byte) reply { return reply{raw: okBody("x")} })
	up, _ := newTransport(t, nil)
	var events []string
	var mu sync.Mutex
	add := func(e string) { mu.Lock(); events = append(events, e); mu.Unlock() }
	trace := &httptrace.ClientTrace{
		GetConn:      func(string) { add("GetConn") },
		WroteHeaders: func() { add("WroteHeaders") },
		WroteRequest: func(i httptrace.WroteRequestInfo) { add(fmt.Sprintf("WroteRequest(%v)", i.Err)) },
	}
	req := post(t, httptrace.WithClientTrace(ctx, trace), s.url, []byte("hello"))
	resp, err := up.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	add("RoundTrip returned")
	_, _ = io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	want := []string{"WroteHeaders", "WroteRequest(<nil>)", "RoundTrip returned"}
	if !reflect.DeepEqual(events, want) {
		t.Errorf("trace events = %q, want %q", events, want)
	}
}

// ---- 2. response fidelity ----

// snapshot is what a caller can observe of a response.
type snapshot struct {
	Status           string
	StatusCode       int
	Proto            string
	Header           http.Header
	ContentLength    int64
	TransferEncoding []string
	Close            bool
	Body             string
	Trailer          http.Header
	SameRequest      bool
}

func snap(t *testing.T, req *http.Request, resp *http.Response) snapshot {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	if err := resp.Body.Close(); err != nil {
		t.Fatalf("close after EOF: %v", err)
	}
	return snapshot{
		Status: resp.Status, StatusCode: resp.StatusCode, Proto: resp.Proto, Header: resp.Header,
		ContentLength: resp.ContentLength, TransferEncoding: resp.TransferEncoding, Close: resp.Close,
		Body: string(b), Trailer: resp.Trailer, SameRequest: resp.Request == req,
	}
}

func TestResponseFidelity(t *testing.T) {
	cases := []struct {
		name     string
		method   string
		raw      string // response bytes; the server closes after them when the response says so
		closes   bool
		want     snapshot // the fields checked explicitly (Status, StatusCode, Body, ContentLength, Trailer)
		wantHdr  map[string][]string
		reusable bool // the connection may carry another request afterwards
	}{
		{
			name: "content-length", method: "POST",
			raw:     "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nX-A: 1\r\nX-A: 2\r\nContent-Length: 11\r\n\r\n{\"ok\":true}",
			want:    snapshot{StatusCode: 201, Status: "201 Created", Body: `{"ok":true}`, ContentLength: 11},
			wantHdr: map[string][]string{"Content-Type": {"application/json"}, "X-A": {"1", "2"}}, reusable: true,
		},
		{
			name: "chunked-trailers", method: "POST",
			raw:      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Usage\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nX-Usage: 42\r\n\r\n",
			want:     snapshot{StatusCode: 200, Status: "200 OK", Body: "hello world", ContentLength: -1, Trailer: http.Header{"X-Usage": {"42"}}},
			reusable: true,
		},
		{
			name: "head", method: "HEAD",
			raw:     "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nContent-Type: text/plain\r\n\r\n",
			want:    snapshot{StatusCode: 200, Status: "200 OK", Body: "", ContentLength: 1000},
			wantHdr: map[string][]string{"Content-Length": {"1000"}}, reusable: true,
		},
		{
			name: "204", method: "POST",
			raw:  "HTTP/1.1 204 No Content\r\nX-A: b\r\n\r\n",
			want: snapshot{StatusCode: 204, Status: "204 No Content", Body: "", ContentLength: 0}, reusable: true,
		},
		{
			name: "304", method: "GET",
			raw:  "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n",
			want: snapshot{StatusCode: 304, Status: "304 Not Modified", Body: "", ContentLength: 0}, reusable: true,
		},
		{
			name: "close-delimited", method: "POST", closes: true,
			raw:  "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: text/event-stream\r\n\r\ndata: 1\n\ndata: 2\n\n",
			want: snapshot{StatusCode: 200, Status: "200 OK", Body: "data: 1\n\ndata: 2\n\n", ContentLength: -1},
		},
		{
			name: "1xx-skipped", method: "POST",
			raw: "HTTP/1.1 100 Continue\r\n\r\n" +
				"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n" +
				"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
			want: snapshot{StatusCode: 200, Status: "200 OK", Body: "ok", ContentLength: 2}, reusable: true,
		},
		{
			name: "error-status", method: "POST",
			raw:  "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\nContent-Length: 4\r\n\r\nslow",
			want: snapshot{StatusCode: 429, Status: "429 Too Many Requests", Body: "slow", ContentLength: 4}, reusable: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			s := newRawServer(t, func(ci, ri int, req *http.Request, body []byte) reply {
				if req.URL.Path == "/next" {
					return reply{raw: okBody("next")}
				}
				return reply{raw: tc.raw, close: tc.closes}
			})
			up, _ := newTransport(t, nil)
			std := &http.Transport{DisableCompression: true}
			t.Cleanup(std.CloseIdleConnections)

			newReq := func() *http.Request {
				if tc.method == "POST" {
					return post(t, ctx, s.url+"/case", []byte(`{"q":1}`))
				}
				return get(t, ctx, tc.method, s.url+"/case")
			}
			req := newReq()
			resp, err := up.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			got := snap(t, req, resp)
			sreq := newReq()
			sresp, err := std.RoundTrip(sreq)
			if err != nil {
				t.Fatal(err)
			}
			want := snap(t, sreq, sresp)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("response differs from http.Transport's:\nupstream:       %+v\nhttp.Transport: %+v", got, want)
			}
			if got.StatusCode != tc.want.StatusCode || got.Status != tc.want.Status || got.Body != tc.want.Body ||
				got.ContentLength != tc.want.ContentLength || !reflect.DeepEqual(got.Trailer, tc.want.Trailer) && tc.want.Trailer != nil {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			for k, v := range tc.wantHdr {
				if !reflect.DeepEqual(got.Header[k], v) {
					t.Errorf("header %s = %q, want %q", k, got.Header[k], v)
				}
			}
			if !got.SameRequest {
				t.Error("resp.Request is not the request sent")
			}
			// Reuse after the response, as its framing allows.
			before := s.accepts.Load()
			roundTrip(t, up, post(t, ctx, s.url+"/next", nil))
			reused := s.accepts.Load() == before
			if reused != tc.reusable {
				t.Errorf("connection reused afterwards = %v, want %v (accepts %d -> %d)", reused, tc.reusable, before, s.accepts.Load())
			}
		})
	}
}

func TestSwitchingProtocolsRefused(t *testing.T) {
	ctx := testCtx(t)
	s := newRawServer(t, func(ci, ri int, req *http.Request, body []byte) reply {
		return reply{raw: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"}
	})
	up, _ := newTransport(t, nil)
	resp, err := up.RoundTrip(post(t, ctx, s.url, []byte("x")))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("101 to a request without Upgrade: got %s, want an error", resp.Status)
	}
	if !strings.Contains(err.Error(), "101") {
		t.Errorf("error %q does not name the 101", err)
	}
	s.waitEnded(t, 1) // the connection is not kept
}

// ---- 3. pooling ----

func TestSequentialRequestsReuseOneConnection(t *testing.T) {
	ctx := testCtx(t)
	s := newRawServer(t, func(ci, ri int, req *http.Request, body []byte) reply {
		return reply{raw: okBody(fmt.Sprintf("conn %d req %d body %s", ci, ri, body))}
	})
	up, dials := newTransport(t, nil)
	for i := 1; i <= 3; i++ {
		_, got := roundTrip(t, up, post(t, ctx, s.url, []byte(fmt.Sprint(i))))
		if want := fmt.Sprintf("conn 1 req %d body %d", i, i); got != want {
			t.Errorf("request %d: %q, want %q", i, got, want)
		}
	}
	if s.accepts.Load() != 1 || dials.Load() != 1 {
		t.Errorf("accepts %d dials %d, want 1 and 1", s.accepts.Load(), dials.Load())
	}
}

func TestConnectionNotReused(t *testing.T) {
	cases := []struct {
		name    string
		reply   string
		reqMod  func(*http.Request)
		partial bool // the client closes the body before its end
	}{
		{name: "server-connection-close", reply: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"},
		{name: "request-close", reply: okBody("ok"), reqMod: func(r *http.Request) { r.Close = true }},
		{name: "http-1.0-response", reply: "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"},
		{name: "body-closed-before-eof", reply: "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + strings.Repeat("x", 1000), partial: true},
		{name: "extra-bytes-after-response", reply: okBody("ok") + "HTTP/1.1 200 OK\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			var gotClose atomic.Bool
			s := newRawServer(t, func(ci, ri int, req *http.Request, body []byte) reply {
				if ci == 1 {
					gotClose.Store(req.Close)
					return reply{raw: tc.reply} // the server does not close: the client must
				}
				return reply{raw: okBody("second")}
			})
			up, _ := newTransport(t, nil)
			req := post(t, ctx, s.url, []byte("x"))
			if tc.reqMod != nil {
				tc.reqMod(req)
			}
			resp, err := up.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			if tc.partial {
				buf := make([]byte, 10)
				if _, err := io.ReadFull(resp.Body, buf); err != nil {
					t.Fatal(err)
				}
			} else if _, err := io.ReadAll(resp.Body); err != nil {
				t.Fatal(err)
			}
			if err := resp.Body.Close(); err != nil {
				t.Errorf("Body.Close: %v (http.Transport returns nil)", err)
			}
			s.waitEnded(t, 1) // the client closed connection 1
			if tc.reqMod != nil && !gotClose.Load() {
				t.Error("request did not say Connection: close")
			}
			_, got := roundTrip(t, up, post(t, ctx, s.url, []byte("y")))
			if got != "second" || s.accepts.Load() != 2 {
				t.Errorf("second request: %q on %d connections, want a new connection", got, s.accepts.Load())
			}
		})
	}
}

func TestMaxIdleConnsPerHost(t *testing.T) {
	ctx := testCtx(t)
	const n = 3
	arrived := make(chan struct{}, n)
	release := make(chan struct{})
	s := newRawServer(t, func(ci, ri int, req *http.Request, body []byte) reply {
		if req.URL.Path == "/hold" {
			arrived <- struct{}{}
			<-release
		}
		return reply{raw: okBody("ok")}
	})
	up, _ := newTransport(t, func(h *http.Transport) { h.MaxIdleConnsPerHost = 1 })
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			resp, err := up.RoundTrip(post(t, ctx, s.url+"/hold", []byte("x")))
			if err != nil {
				errs <- err
				return
			}
			_, _ = io.ReadAll(resp.Body)
			_ = resp.Body.Close()
		})
	}
	for range n { // all n hold a connection at once
		select {
		case <-arrived:
		case <-time.After(bound):
			t.Fatal("requests did not arrive")
		}
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if s.accepts.Load() != n {
		t.Fatalf("accepts = %d, want %d", s.accepts.Load(), n)
	}
	// n-1 connections are closed by the client; one stays idle.
	ended := map[int]bool{}
	deadline := time.After(bound)
	for len(ended) < n-1 {
		select {
		case ci := <-s.ended:
			ended[ci] = true
		case <-deadline:
			t.Fatalf("client closed %d connections, want %d", len(ended), n-1)
		}
	}
	_, _ = roundTrip(t, up, post(t, ctx, s.url, []byte("y")))
	if s.accepts.Load() != n {
		t.Errorf("the idle connection was not reused: accepts = %d", s.accepts.Load())
	}
	if extra := s.endedSoFar(); len(extra) != 0 {
		t.Errorf("more connections closed than the limit requires: %v", extra)
	}
}

func TestIdleConnTimeoutClosesConnection(t *testing.T) {
	ctx := testCtx(t)
	s := newRawServer(t, func(ci, ri int, req *http.Request, body []byte) reply { return reply{raw: okBody("ok")} })
	up, _ := newTransport(t, func(h *http.Transport) { h.IdleConnTimeout = 100 * time.Millisecond })
	roundTrip(t, up, post(t, ctx, s.url, []byte("x")))
	s.waitEnded(t, 1) // closed by the timer, no other call made
	roundTrip(t, up, post(t, ctx, s.url, []byte("y")))
	if s.accepts.Load() != 2 {
		t.Errorf("accepts = %d, want 2 (a new connection after the idle one was closed)", s.accepts.Load())
	}
}

func TestIdleConnTimeoutRestartsOnReuse(t *testing.T) {
	// A connection taken from the idle list and put back must not be closed by the timer of
	// its previous idle period while it is in use.
	ctx := testCtx(t)
	inUse := make(chan struct{})
	release := make(chan struct{})
	s := newRawServer(t, func(ci, ri int, req *http.Request, body []byte) reply {
		if req.URL.Path == "/hold" {
			close(inUse)
			<-release
		}
		return reply{raw: okBody("ok")}
	})
	const idle = 100 * time.Millisecond
	up, _ := newTransport(t, func(h *http.Transport) { h.IdleConnTimeout = idle })
	roundTrip(t, up, post(t, ctx, s.url, []byte("x")))
	done := make(chan error, 1)
	go func() {
		resp, err := up.RoundTrip(post(t, ctx, s.url+"/hold", []byte("y")))
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		done <- err
	}()
	<-inUse
	if s.accepts.Load() != 1 {
		close(release)
		<-done
		t.Skipf("the machine took longer than the idle timeout (%v) between two calls: nothing to test", idle)
	}
	// Hold the connection for several idle timeouts; the timer must not close it.
	timer := time.NewTimer(4 * idle)
	<-timer.C
	close(release)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("a connection in use was closed by the idle timer: %v", err)
		}
	case <-time.After(bound):
		t.Fatal("held request did not finish")
	}
	if s.accepts.Load() != 1 {
		t.Errorf("accepts = %d, want 1", s.accepts.Load())
	}
}

func TestCloseIdleConnections(t *testing.T) {
	ctx := testCtx(t)
	s := newRawServer(t, func(ci, ri int, req *http.Request, body []byte) reply { return reply{raw: okBody("ok")} })
	up, _ := newTransport(t, nil)
	roundTrip(t, up, post(t, ctx, s.url, []byte("x")))
	if got := s.endedSoFar(); len(got) != 0 {
		t.Fatalf("connection closed before CloseIdleConnections: %v", got)
	}
	up.CloseIdleConnections()
	s.waitEnded(t, 1)
	roundTrip(t, up, post(t, ctx, s.url, []byte("y")))
	if s.accepts.Load() != 2 {
		t.Errorf("accepts = %d, want 2", s.accepts.Load())
	}
}

// ---- 4. stale connections and retries ----

func TestStaleIdleConnectionIsNotUsed(t *testing.T) {
	for _, how := range []string{"fin", "rst"} {
		t.Run(how, func(t *testing.T) {
			ctx := testCtx(t)
			closed := make(chan struct{}, 4)
			var posts atomic.Int32
			s := newRawConnServer(t, func(s *rawServer, ci int, c net.Conn) {
				br := bufio.NewReader(c)
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				_, _ = io.ReadAll(req.Body)
				posts.Add(1)
				_, _ = io.WriteString(c, okBody(fmt.Sprint(ci))) // keep-alive response...
				if how == "rst" {
					_ = c.(*net.TCPConn).SetLinger(0)
				}
				_ = c.Close() // ...then the server closes the idle connection
				closed <- struct{}{}
			})
			up, _ := newTransport(t, nil)
			_, got := roundTrip(t, up, post(t, ctx, s.url, []byte("a")))
			if got != "1" {
				t.Fatalf("first: %q", got)
			}
			<-closed
			// Not idempotent: if it went on the closed connection it would fail, not be retried.
			_, got = roundTrip(t, up, post(t, ctx, s.url, []byte("b")))
			if got != "2" || posts.Load() != 2 {
				t.Errorf("second POST: %q, upstream saw %d POSTs, want \"2\" and 2", got, posts.Load())
			}
		})
	}
}

func TestStaleConnectionHTTPTestServer(t *testing.T) {
	// The server closes each connection as soon as it goes idle; with TLS, tls.Conn.Close
	// sends a close_notify alert before the FIN, bytes the probe must also take as "dead".
	t.Run("http", func(t *testing.T) { testStaleHTTPTest(t, false) })
	t.Run("https", func(t *testing.T) { testStaleHTTPTest(t, true) })
}

func testStaleHTTPTest(t *testing.T, useTLS bool) {
	ctx := testCtx(t)
	closed := make(chan struct{}, 4)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok")
	}))
	var news atomic.Int32
	srv.Config.ConnState = func(c net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			news.Add(1)
		case http.StateIdle:
			_ = c.Close()
			closed <- struct{}{}
		}
	}
	var mod func(*http.Transport)
	if useTLS {
		srv.StartTLS()
		mod = func(h *http.Transport) { h.TLSClientConfig = trusting(srv) }
	} else {
		srv.Start()
	}
	defer srv.Close()
	up, _ := newTransport(t, mod)
	for i := range 3 {
		if _, got := roundTrip(t, up, post(t, ctx, srv.URL, []byte("x"))); got != "ok" {
			t.Fatalf("request %d: %q", i, got)
		}
		select {
		case <-closed:
		case <-time.After(bound):
			t.Fatal("server did not close the idle connection")
		}
	}
	if news.Load() != 3 {
		t.Errorf("connections = %d, want 3", news.Load())
	}
}

func TestRetryOnReusedConnectionThatBreaks(t *testing.T) {
	cases := []struct {
		name      string
		method    string
		header    string
		wantRetry bool
	}{
		{name: "GET", method: "GET", wantRetry: true},
		{name: "HEAD", method: "HEAD", wantRetry: true},
		{name: "POST", method: "POST", wantRetry: false},
		{name: "POST-Idempotency-Key", method: "POST", header: "Idempotency-Key", wantRetry: true},
		{name: "POST-X-Idempotency-Key", method: "POST", header: "X-Idempotency-Key", wantRetry: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			var tries atomic.Int32
			s := newRawServer(t, func(ci, ri int, req *http.Request, body []byte) reply {
				if req.URL.Path == "/first" {
					return reply{raw: okEmpty}
				}
				tries.Add(1)
				if ci == 1 {
					return reply{close: true} // read the request, close without a byte of answer
				}
				return reply{raw: okEmpty}
			})
			up, _ := newTransport(t, nil)
			roundTrip(t, up, get(t, ctx, "GET", s.url+"/first"))
			var req *http.Request
			if tc.method == "POST" {
				req = post(t, ctx, s.url+"/second", []byte("payload"))
			} else {
				req = get(t, ctx, tc.method, s.url+"/second")
			}
			if tc.header != "" {
				req.Header.Set(tc.header, "key-1")
			}
			resp, err := up.RoundTrip(req)
			if tc.wantRetry {
				if err != nil {
					t.Fatalf("want a retry that succeeds, got %v", err)
				}
				resp.Body.Close()
				if tries.Load() != 2 || s.accepts.Load() != 2 {
					t.Errorf("tries %d on %d connections, want 2 on 2", tries.Load(), s.accepts.Load())
				}
				return
			}
			if err == nil {
				resp.Body.Close()
				t.Fatal("non-idempotent POST on a broken reused connection succeeded: it was retried")
			}
			if !errors.Is(err, io.EOF) {
				t.Errorf("error %v, want one that is io.EOF (the connection closed before answering)", err)
			}
			if tries.Load() != 1 || s.accepts.Load() != 1 {
				t.Errorf("tries %d on %d connections, want 1 on 1", tries.Load(), s.accepts.Load())
			}
		})
	}
}

func TestNoRetryOnNewConnection(t *testing.T) {
	// A GET that fails on a connection dialled for it is not retried: only a reused one may
	// have been closed by the upstream in the meantime.
	ctx := testCtx(t)
	var tries atomic.Int32
	s := newRawServer(t, func(ci, ri int, req *http.Request, body []byte) reply {
		tries.Add(1)
		return reply{close: true}
	})
	up, _ := newTransport(t, nil)
	_, err := up.RoundTrip(get(t, ctx, "GET", s.url))
	if err == nil {
		t.Fatal("want an error")
	}
	if tries.Load() != 1 {
		t.Errorf("tries = %d, want 1", tries.Load())
	}
}

// ---- 5. cancellation ----

func TestCancelWhileWaitingForHeaders(t *testing.T) {
	for _, kind := range []string{"cancel", "deadline"} {
		t.Run(kind, func(t *testing.T) {
			got := make(chan struct{}, 1)
			s := newRawServer(t, func(ci, ri int, req *http.Request, body []byte) reply {
				if req.URL.Path == "/stall" {
					return reply{received: func() { got <- struct{}{} }} // and never answer
				}
				return reply{raw: okBody("ok")}
			})
			up, _ := newTransport(t, nil)
			roundTrip(t, up, get(t, testCtx(t), "GET", s.url+"/warm")) // a pooled connection, to make reuse possible
			var ctx context.Context
			var cancel context.CancelFunc
			wantErr := context.Canceled
			if kind == "cancel" {
				ctx, cancel = context.WithCancel(context.Background())
				go func() { <-got; cancel() }()
			} else {
				ctx, cancel = context.WithTimeout(context.Background(), 500*time.Millisecond)
				wantErr = context.DeadlineExceeded
			}
			defer cancel()
			// The stall is on request 2 of connection 1: answer on the warm one, stall the next.
			var err error
			within(t, "RoundTrip after cancellation", func() {
				var resp *http.Response
				resp, err = up.RoundTrip(post(t, ctx, s.url+"/stall", []byte("x")))
				if err == nil {
					resp.Body.Close()
				}
			})
			if !errors.Is(err, wantErr) {
				t.Fatalf("err = %v, want %v", err, wantErr)
			}
			s.waitEnded(t, 1) // the cancelled connection is closed, not pooled
			_, body := roundTrip(t, up, post(t, testCtx(t), s.url, []byte("y")))
			if body != "ok" || s.accepts.Load() != 2 {
				t.Errorf("after cancel: %q on %d connections, want ok on a new one", body, s.accepts.Load())
			}
		})
	}
}

func TestCancelWhileReadingBody(t *testing.T) {
	s := newRawServer(t, func(ci, ri int, req *http.Request, body []byte) reply {
		if ci == 1 {
			return reply{raw: "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nfirst"} // then stalls
		}
		return reply{raw: okBody("ok")}
	})
	up, _ := newTransport(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp, err := up.RoundTrip(post(t, ctx, s.url, []byte("x")))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "first" {
		t.Fatalf("read %q, %v", buf, err)
	}
	readErr := make(chan error, 1)
	go func() {
		_, err := resp.Body.Read(make([]byte, 100)) // blocks: the server stalls
		readErr <- err
	}()
	cancel()
	select {
	case err := <-readErr:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Read after cancel: %v, want context.Canceled", err)
		}
	case <-time.After(bound):
		t.Fatal("Read did not return after cancel")
	}
	_ = resp.Body.Close()
	s.waitEnded(t, 1)
	roundTrip(t, up, post(t, testCtx(t), s.url, []byte("y")))
	if s.accepts.Load() != 2 {
		t.Errorf("accepts = %d, want 2", s.accepts.Load())
	}
}

func TestCloseBodyWhileReadBlocked(t *testing.T) {
	// A relay closes the body from another goroutine when its client leaves.
	s := newRawServer(t, func(ci, ri int, req *http.Request, body []byte) reply {
		return reply{raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n"} // then stalls
	})
	up, _ := newTransport(t, nil)
	resp, err := up.RoundTrip(post(t, testCtx(t), s.url, []byte("x")))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatal(err)
	}
	readErr := make(chan error, 1)
	go func() {
		_, err := resp.Body.Read(make([]byte, 100))
		readErr <- err
	}()
	within(t, "Body.Close with a Read blocked", func() { _ = resp.Body.Close() })
	select {
	case err := <-readErr:
		if err == nil {
			t.Error("blocked Read returned no error after Close")
		}
	case <-time.After(bound):
		t.Fatal("blocked Read did not return after Close")
	}
	s.waitEnded(t, 1)
}

func TestCancelAfterBodyEOFKeepsConnection(t *testing.T) {
	s := newRawServer(t, func(ci, ri int, req *http.Request, body []byte) reply { return reply{raw: okBody("ok")} })
	up, _ := newTransport(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	roundTrip(t, up, post(t, ctx, s.url, []byte("x")))
	cancel() // as a handler's context ends after it relayed the whole response
	roundTrip(t, up, post(t, testCtx(t), s.url, []byte("y")))
	if s.accepts.Load() != 1 {
		t.Errorf("accepts = %d, want 1: a finished exchange's cancellation must not spoil its pooled connection", s.accepts.Load())
	}
}

func TestNoGoroutineLeak(t *testing.T) {
	base := runtime.NumGoroutine()
	func() {
		s := newRawServer(t, func(ci, ri int, req *http.Request, body []byte) reply {
			switch req.URL.Path {
			case "/stall-head":
				return reply{}
			case "/stall-body":
				return reply{raw: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab"}
			}
			return reply{raw: okBody("ok")}
		})
		defer s.Close()
		up, _ := newTransport(t, func(h *http.Transport) { h.IdleConnTimeout = time.Minute })
		// In a goroutine, bounded: without working cancellation these calls would block until
		// the deferred s.Close.
		var err error
		within(t, "the exchanges", func() {
			for i := 0; i < 5 && err == nil; i++ {
				err = leakRound(t, up, s.url)
			}
		})
		if err != nil {
			t.Error(err)
		}
		up.CloseIdleConnections()
	}()
	deadline := time.Now().Add(bound)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines: %d, baseline %d\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
		time.Sleep(10 * time.Millisecond) // polling, not an assertion
	}
}

// leakRound makes one exchange of each ending: read to EOF, headers cancelled, body cancelled,
// body closed unread.
func leakRound(t *testing.T, up *upstream.Transport, base string) error {
	newPost := func(ctx context.Context, path string) *http.Request {
		req, _ := http.NewRequestWithContext(ctx, "POST", base+path, strings.NewReader("x"))
		return req
	}
	resp, err := up.RoundTrip(newPost(testCtx(t), "/ok"))
	if err != nil {
		return err
	}
	if _, err := io.ReadAll(resp.Body); err != nil {
		return err
	}
	resp.Body.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := up.RoundTrip(newPost(ctx, "/stall-head")); !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("stall-head: %v", err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	resp, err = up.RoundTrip(newPost(ctx, "/stall-body"))
	if err != nil {
		return err
	}
	cancel()
	if _, err := io.ReadAll(resp.Body); !errors.Is(err, context.Canceled) {
		return fmt.Errorf("stall-body: %v", err)
	}
	resp.Body.Close()

	resp, err = up.RoundTrip(newPost(testCtx(t), "/ok"))
	if err != nil {
		return err
	}
	resp.Body.Close() // before reading: closes the connection
	return nil
}

// ---- 6. TLS ----

// newTLSServer is an HTTP/2-enabled TLS server offering protos by ALPN (nil: httptest's
// default, "h2" alone). It counts connections and HTTP/1 requests.
func newTLSServer(t *testing.T, protos []string) (*httptest.Server, *atomic.Int32, *atomic.Int32) {
	var conns, h1 atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.ProtoMajor == 1 {
			h1.Add(1)
		}
		fmt.Fprintf(w, "%s %s", r.Proto, b)
	}))
	srv.EnableHTTP2 = true
	if protos != nil {
		srv.TLS = &tls.Config{NextProtos: protos}
	}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshakes are the test's
	srv.Config.ConnState = func(c net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, &conns, &h1
}

func trusting(srv *httptest.Server) *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return &tls.Config{RootCAs: pool}
}

func TestTLSOverHTTP1WithReuse(t *testing.T) {
	t.Run("h2-and-http1.1", func(t *testing.T) { testTLSOverHTTP1(t, []string{"h2", "http/1.1"}, "http/1.1") })
	// An h2-only ALPN list: crypto/tls lets an http/1.1-only client in without a protocol.
	t.Run("h2-only", func(t *testing.T) { testTLSOverHTTP1(t, nil, "") })
}

func testTLSOverHTTP1(t *testing.T, protos []string, wantALPN string) {
	ctx := testCtx(t)
	srv, conns, h1 := newTLSServer(t, protos)
	up, _ := newTransport(t, func(h *http.Transport) {
		h.TLSClientConfig = trusting(srv)
		h.ForceAttemptHTTP2 = true // as the gateway: the streamed path may speak HTTP/2
	})
	for i := range 3 {
		req := post(t, ctx, srv.URL, []byte(fmt.Sprint(i)))
		resp, body := roundTrip(t, up, req)
		if want := fmt.Sprintf("HTTP/1.1 %d", i); body != want {
			t.Errorf("body %q, want %q", body, want)
		}
		if resp.TLS == nil || resp.TLS.NegotiatedProtocol != wantALPN || !resp.TLS.HandshakeComplete {
			t.Errorf("resp.TLS = %+v, want a completed handshake with ALPN %q", resp.TLS, wantALPN)
		}
		if resp.ProtoMajor != 1 {
			t.Errorf("resp.Proto = %s", resp.Proto)
		}
	}
	if conns.Load() != 1 || h1.Load() != 3 {
		t.Errorf("connections %d, HTTP/1 requests %d, want 1 and 3", conns.Load(), h1.Load())
	}
	// A streamed upload goes to the wrapped Transport, which negotiates HTTP/2 with this server.
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL, streamed{strings.NewReader("s")})
	resp, body := roundTrip(t, up, req)
	if resp.ProtoMajor != 2 || body != "HTTP/2.0 s" {
		t.Errorf("streamed upload: %s %q, want HTTP/2 through the wrapped Transport", resp.Proto, body)
	}
}

func TestTLSVerificationErrors(t *testing.T) {
	srv, _, _ := newTLSServer(t, []string{"h2", "http/1.1"})
	cases := []struct {
		name  string
		cfg   func() *tls.Config
		check func(error) bool
	}{
		{"unknown-authority", func() *tls.Config { return &tls.Config{RootCAs: x509.NewCertPool()} }, func(err error) bool {
			var u x509.UnknownAuthorityError
			return errors.As(err, &u)
		}},
		{"wrong-name", func() *tls.Config { c := trusting(srv); c.ServerName = "wrong.example"; return c }, func(err error) bool {
			var h x509.HostnameError
			return errors.As(err, &h)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			up, _ := newTransport(t, func(h *http.Transport) { h.TLSClientConfig = tc.cfg() })
			_, err := up.RoundTrip(post(t, testCtx(t), srv.URL, []byte("x")))
			var cv *tls.CertificateVerificationError
			if !errors.As(err, &cv) || !tc.check(err) {
				t.Fatalf("err = %v (%T), want a *tls.CertificateVerificationError wrapping the x509 error", err, err)
			}
		})
	}
}

// ---- 7. what goes to the wrapped Transport ----

func TestFallbackToWrappedTransport(t *testing.T) {
	s := newRawServer(t, func(ci, ri int, req *http.Request, body []byte) reply {
		return reply{raw: okBody("ok")}
	})
	body := func() []byte { return []byte("0123456789") }
	cases := []struct {
		name   string
		req    func(ctx context.Context) *http.Request
		direct bool
	}{
		{"GET-no-body", func(ctx context.Context) *http.Request { return get(t, ctx, "GET", s.url) }, true},
		{"POST-in-memory", func(ctx context.Context) *http.Request { return post(t, ctx, s.url, body()) }, true},
		{"POST-NoBody", func(ctx context.Context) *http.Request {
			r, _ := http.NewRequestWithContext(ctx, "POST", s.url, http.NoBody)
			return r
		}, true},
		{"POST-in-memory-64KiB", func(ctx context.Context) *http.Request {
			return post(t, ctx, s.url, bytes.Repeat([]byte("a"), 64<<10))
		}, true},
		{"POST-in-memory-over-64KiB", func(ctx context.Context) *http.Request { // a signed Bedrock body, say: streamed, not copied
			return post(t, ctx, s.url, bytes.Repeat([]byte("a"), 64<<10+1))
		}, false},
		{"POST-streamed-known-length", func(ctx context.Context) *http.Request {
			r, _ := http.NewRequestWithContext(ctx, "POST", s.url, streamed{bytes.NewReader(body())})
			r.ContentLength = 10
			return r
		}, false},
		{"POST-chunked", func(ctx context.Context) *http.Request {
			r := post(t, ctx, s.url, body())
			r.ContentLength = -1
			r.TransferEncoding = []string{"chunked"}
			return r
		}, false},
		{"POST-unknown-length-with-GetBody", func(ctx context.Context) *http.Request {
			r := post(t, ctx, s.url, body())
			r.ContentLength = -1
			return r
		}, false},
		{"Expect-100-continue", func(ctx context.Context) *http.Request {
			r := post(t, ctx, s.url, body())
			r.Header.Set("Expect", "100-continue")
			return r
		}, false},
		{"Upgrade", func(ctx context.Context) *http.Request {
			r := get(t, ctx, "GET", s.url)
			r.Header.Set("Upgrade", "h2c")
			r.Header.Set("Connection", "Upgrade")
			return r
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			up, _ := newTransport(t, nil)
			ctx, took := viaTransport(testCtx(t))
			resp, err := up.RoundTrip(tc.req(ctx))
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if took.Load() == tc.direct {
				t.Errorf("went to the wrapped Transport: %v, want %v", took.Load(), !tc.direct)
			}
		})
	}
}

// Settings the direct path does not implement send every call to the wrapped Transport, which
// does: they are honoured, never silently ignored.
func TestFallbackSettings(t *testing.T) {
	cases := []struct {
		name string
		set  func(*http.Transport)
	}{
		{"DialTLSContext", func(h *http.Transport) { h.DialTLSContext = (&tls.Dialer{}).DialContext }},
		{"DisableKeepAlives", func(h *http.Transport) { h.DisableKeepAlives = true }},
		{"transparent gzip", func(h *http.Transport) { h.DisableCompression = false }},
		{"ResponseHeaderTimeout", func(h *http.Transport) { h.ResponseHeaderTimeout = time.Minute }},
		{"MaxConnsPerHost", func(h *http.Transport) { h.MaxConnsPerHost = 8 }},
	}
	s := newRawServer(t, func(ci, ri int, req *http.Request, body []byte) reply { return reply{raw: okBody("ok")} })
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			up, _ := newTransport(t, c.set)
			ctx, took := viaTransport(testCtx(t))
			roundTrip(t, up, post(t, ctx, s.url, []byte("x")))
			if !took.Load() {
				t.Errorf("with %s set, the request did not go to the wrapped Transport", c.name)
			}
		})
	}
}

func TestFallbackProxy(t *testing.T) {
	var proxied atomic.Value
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxied.Store(r.RequestURI)
		_, _ = io.WriteString(w, "from proxy")
	}))
	defer proxy.Close()
	target := newRawServer(t, func(ci, ri int, req *http.Request, body []byte) reply { return reply{raw: okBody("direct")} })
	pu, _ := url.Parse(proxy.URL)
	up, _ := newTransport(t, func(h *http.Transport) { h.Proxy = http.ProxyURL(pu) })
	_, body := roundTrip(t, up, post(t, testCtx(t), target.url+"/v1/x", []byte("x")))
	if body != "from proxy" || proxied.Load() != target.url+"/v1/x" || target.accepts.Load() != 0 {
		t.Errorf("body %q, proxy saw %v, target accepts %d: want the request through the proxy", body, proxied.Load(), target.accepts.Load())
	}

	// A proxy function that fails fails the call.
	boom := errors.New("boom")
	up2, _ := newTransport(t, func(h *http.Transport) { h.Proxy = func(*http.Request) (*url.URL, error) { return nil, boom } })
	if _, err := up2.RoundTrip(post(t, testCtx(t), target.url, []byte("x"))); !errors.Is(err, boom) {
		t.Errorf("err = %v, want the proxy function's error", err)
	}
	// No proxy for this URL (nil): direct.
	up3, _ := newTransport(t, func(h *http.Transport) { h.Proxy = func(*http.Request) (*url.URL, error) { return nil, nil } })
	ctx, took := viaTransport(testCtx(t))
	roundTrip(t, up3, post(t, ctx, target.url, []byte("x")))
	if took.Load() {
		t.Error("with no proxy for the URL, the request went to the wrapped Transport")
	}
}

func TestInvalidRequestsFailAsHTTPTransport(t *testing.T) {
	s := newRawServer(t, func(ci, ri int, req *http.Request, body []byte) reply { return reply{raw: okBody("ok")} })
	cases := []struct {
		name string
		mod  func(*http.Request)
	}{
		{"value-LF", func(r *http.Request) { r.Header.Set("X-Evil", "a\nInjected: 1") }},
		{"value-CR", func(r *http.Request) { r.Header.Set("X-Evil", "a\rb") }},
		{"value-NUL", func(r *http.Request) { r.Header["X-Evil"] = []string{"a\x00b"} }},
		{"name-space", func(r *http.Request) { r.Header["Bad Name"] = []string{"v"} }},
		{"name-colon", func(r *http.Request) { r.Header["Bad:Name"] = []string{"v"} }},
		{"method", func(r *http.Request) { r.Method = "PO ST" }},
		{"scheme", func(r *http.Request) { r.URL.Scheme = "ftp" }},
		{"no-host", func(r *http.Request) { r.URL.Host = "" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			up, _ := newTransport(t, nil)
			std := &http.Transport{DisableCompression: true}
			defer std.CloseIdleConnections()
			r1, r2 := post(t, testCtx(t), s.url, []byte("x")), post(t, testCtx(t), s.url, []byte("x"))
			tc.mod(r1)
			tc.mod(r2)
			_, err1 := up.RoundTrip(r1)
			_, err2 := std.RoundTrip(r2)
			if err1 == nil || err2 == nil || err1.Error() != err2.Error() {
				t.Errorf("upstream: %v\nhttp.Transport: %v\nwant the same error", err1, err2)
			}
		})
	}
	if s.accepts.Load() != 0 {
		t.Errorf("an invalid request reached the server (%d connections)", s.accepts.Load())
	}
}

// ---- 8. dial errors ----

func TestDialErrorsKeepTheirType(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	for _, scheme := range []string{"http", "https"} {
		t.Run(scheme, func(t *testing.T) {
			up, _ := newTransport(t, nil)
			ctx, took := viaTransport(testCtx(t))
			_, err := up.RoundTrip(post(t, ctx, scheme+"://"+addr+"/x", []byte("x")))
			var op *net.OpError
			if !errors.Is(err, syscall.ECONNREFUSED) || !errors.As(err, &op) || op.Op != "dial" {
				t.Errorf("err = %v (%T), want ECONNREFUSED in a *net.OpError with Op dial", err, err)
			}
			if took.Load() {
				t.Error("went to the wrapped Transport")
			}
		})
	}
	// A call cancelled while its connection is being dialled ends with the cancel, on the
	// direct path (a call cancelled before it starts is TestCancelledBeforeRoundTripSendsNothing).
	t.Run("cancelled-dial", func(t *testing.T) {
		dialing := make(chan struct{})
		up, _ := newTransport(t, func(h *http.Transport) {
			h.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
				close(dialing)
				<-ctx.Done() // a dial that never completes on its own
				return nil, ctx.Err()
			}
		})
		ctx, cancel := context.WithCancel(testCtx(t))
		go func() { <-dialing; cancel() }()
		ctx, took := viaTransport(ctx)
		_, err := up.RoundTrip(post(t, ctx, "http://"+addr, []byte("x")))
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		if took.Load() {
			t.Error("went to the wrapped Transport")
		}
	})
}

// ---- 9. concurrency ----

func TestConcurrentRequests(t *testing.T) {
	t.Run("steady", func(t *testing.T) { testConcurrent(t, false) })
	// Idle connections closed all the time, by a 1 ms IdleConnTimeout and by
	// CloseIdleConnections in a loop, while the workers take and return them.
	t.Run("churn", func(t *testing.T) { testConcurrent(t, true) })
}

func testConcurrent(t *testing.T, churn bool) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Echo-Len", fmt.Sprint(len(b)))
		_, _ = w.Write(bytes.ToUpper(b))
	}))
	defer srv.Close()
	up, _ := newTransport(t, func(h *http.Transport) {
		h.MaxIdleConnsPerHost = 32
		if churn {
			h.IdleConnTimeout = time.Millisecond
		}
	})
	const workers, each = 32, 50
	var wg sync.WaitGroup
	var failures atomic.Int32
	ctx := testCtx(t)
	if churn {
		stop := make(chan struct{})
		closer := make(chan struct{})
		go func() {
			defer close(closer)
			for {
				select {
				case <-stop:
					return
				default:
					up.CloseIdleConnections()
					runtime.Gosched()
				}
			}
		}()
		defer func() { close(stop); <-closer }()
	}
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				msg := fmt.Sprintf("worker %d request %d %s", w, i, strings.Repeat("z", (w*each+i)%300))
				req := post(t, ctx, srv.URL, []byte(msg))
				resp, err := up.RoundTrip(req)
				if err != nil {
					t.Errorf("worker %d request %d: %v", w, i, err)
					failures.Add(1)
					return
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || string(b) != strings.ToUpper(msg) || resp.Header.Get("X-Echo-Len") != fmt.Sprint(len(msg)) {
					t.Errorf("worker %d request %d: body %q, %v", w, i, b, err)
					failures.Add(1)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestIdleConnectionsHoldNoGoroutines(t *testing.T) {
	// net/http's Transport keeps a reading and a writing goroutine per connection; this
	// transport keeps none: only the server's goroutine per connection is added.
	const n = 8
	arrived := make(chan struct{}, n)
	release := make(chan struct{})
	s := newRawServer(t, func(ci, ri int, req *http.Request, body []byte) reply {
		arrived <- struct{}{}
		<-release
		return reply{raw: okBody("ok")}
	})
	up, _ := newTransport(t, func(h *http.Transport) { h.MaxIdleConnsPerHost = n })
	base := runtime.NumGoroutine()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			resp, err := up.RoundTrip(post(t, testCtx(t), s.url, []byte("x")))
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
		})
	}
	for range n {
		<-arrived
	}
	close(release)
	wg.Wait()
	if s.accepts.Load() != n {
		t.Fatalf("accepts = %d, want %d", s.accepts.Load(), n)
	}
	// n idle connections now; the server's n goroutines wait on them. A little slack for the
	// runtime's own; polled, as the callers' goroutines may not have exited yet.
	deadline := time.Now().Add(bound)
	for got := runtime.NumGoroutine() - base; got > n+2; got = runtime.NumGoroutine() - base {
		if time.Now().After(deadline) {
			t.Fatalf("%d more goroutines with %d idle connections, want at most %d (the server's)", got, n, n+2)
		}
		time.Sleep(10 * time.Millisecond) // polling, not an assertion
	}
}

// ---- 10. benchmark ----

func BenchmarkRoundTrip(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"x","choices":[{"message":{"content":"hi"}}]}`)
	}))
	defer srv.Close()
	payload := bytes.Repeat([]byte("a"), 512)
	run := func(b *testing.B, rt http.RoundTripper) {
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/chat/completions", bytes.NewReader(payload))
			req.Header.Set("Content-Type", "application/json")
			resp, err := rt.RoundTrip(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	b.Run("upstream", func(b *testing.B) {
		up := upstream.New(&http.Transport{DisableCompression: true})
		defer up.CloseIdleConnections()
		run(b, up)
	})
	b.Run("net-http", func(b *testing.B) {
		std := &http.Transport{DisableCompression: true}
		defer std.CloseIdleConnections()
		run(b, std)
	})
}

func TestCancelledBeforeRoundTripSendsNothing(t *testing.T) {
	// A call whose context has already ended must not reach the upstream, even with a pooled
	// connection at hand (net/http's Transport checks the context before sending).
	var seen atomic.Int32
	s := newRawServer(t, func(ci, ri int, req *http.Request, body []byte) reply {
		if req.URL.Path == "/charged" {
			seen.Add(1)
		}
		return reply{raw: okBody("ok")}
	})
	up, _ := newTransport(t, nil)
	for range 20 {
		roundTrip(t, up, post(t, testCtx(t), s.url+"/warm", []byte("x"))) // a pooled connection
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := up.RoundTrip(post(t, ctx, s.url+"/charged", []byte("x"))); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	}
	roundTrip(t, up, post(t, testCtx(t), s.url+"/warm", []byte("x"))) // the server has read all before it
	if n := seen.Load(); n != 0 {
		t.Errorf("the upstream received %d of 20 requests whose context had ended before RoundTrip", n)
	}
	if n := s.accepts.Load(); n != 1 {
		t.Errorf("%d connections, want 1: a call that sent nothing must leave the pooled one", n)
	}
}

func TestTruncatedBody(t *testing.T) {
	s := newRawServer(t, func(ci, ri int, req *http.Request, body []byte) reply {
		return reply{raw: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this", close: true}
	})
	up, _ := newTransport(t, nil)
	resp, err := up.RoundTrip(post(t, testCtx(t), s.url, []byte("x")))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "only this" || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("read %q, %v; want the bytes sent and io.ErrUnexpectedEOF", b, err)
	}
}

func TestResponseHeadersTooLarge(t *testing.T) {
	// net/http's Transport refuses a response head (1xx responses included) past
	// MaxResponseHeaderBytes (10 MB by default): an upstream cannot make the gateway buffer
	// headers without end.
	const limit = 64 << 10
	for _, kind := range []string{"one-head", "many-1xx"} {
		t.Run(kind, func(t *testing.T) {
			s := newRawServer(t, func(ci, ri int, req *http.Request, body []byte) reply {
				var b strings.Builder
				pad := "X-Pad: " + strings.Repeat("a", 1000) + "\r\n"
				for b.Len() < 2*limit {
					if kind == "many-1xx" {
						b.WriteString("HTTP/1.1 103 Early Hints\r\n" + pad + "\r\n")
					} else {
						b.WriteString(pad)
					}
				}
				if kind == "many-1xx" {
					return reply{raw: b.String() + okBody("ok")}
				}
				return reply{raw: "HTTP/1.1 200 OK\r\n" + b.String() + "Content-Length: 2\r\n\r\nok"}
			})
			up, _ := newTransport(t, func(h *http.Transport) { h.MaxResponseHeaderBytes = limit })
			std := &http.Transport{DisableCompression: true, MaxResponseHeaderBytes: limit}
			defer std.CloseIdleConnections()
			for name, rt := range map[string]http.RoundTripper{"upstream": up, "http.Transport": std} {
				ctx, took := viaTransport(testCtx(t))
				resp, err := rt.RoundTrip(post(t, ctx, s.url, []byte("x")))
				if err == nil {
					resp.Body.Close()
					t.Errorf("%s: %d bytes of headers accepted (limit %d)", name, 2*limit, limit)
				} else if want := fmt.Sprintf("net/http: server response headers exceeded %d bytes; aborted", limit); !strings.Contains(err.Error(), want) {
					t.Errorf("%s: error %q, want it to say %q", name, err, want)
				}
				if name == "upstream" && took.Load() {
					t.Error("the call went to the wrapped Transport: the direct path's limit went untested")
				}
			}
		})
	}
}

func TestTLSHandshakeTimeout(t *testing.T) {
	// A server that accepts and never speaks TLS: the handshake ends after
	// HTTP.TLSHandshakeTimeout with a timeout error (the gateway answers 504 for a net.Error
	// that says Timeout), while the caller's own context is still live.
	s := newRawConnServer(t, func(s *rawServer, ci int, c net.Conn) { _, _ = io.Copy(io.Discard, c); s.ended <- ci })
	up, _ := newTransport(t, func(h *http.Transport) { h.TLSHandshakeTimeout = 100 * time.Millisecond })
	ctx := testCtx(t)
	traced, took := viaTransport(ctx)
	var err error
	within(t, "RoundTrip with a stalled handshake", func() {
		_, err = up.RoundTrip(post(t, traced, "https://"+s.ln.Addr().String(), []byte("x")))
	})
	if took.Load() {
		t.Error("the call went to the wrapped Transport: the direct path's handshake timeout went untested")
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("err = %v (%T), want a net.Error whose Timeout() is true", err, err)
	}
	if ctx.Err() != nil {
		t.Error("the caller's context ended")
	}
	s.waitEnded(t, 1) // the half-made connection is closed
}

func TestSettingsOutOfRangeReadAsTheTransportReadsThem(t *testing.T) {
	// A setting below its range means what net/http's Transport takes it to mean, on both
	// paths: MaxResponseHeaderBytes not above 0 is the 10 MB default (so a 128 KiB head
	// passes), and a negative MaxIdleConnsPerHost keeps no idle connection (so each call
	// dials). Each row runs through this package and through a bare http.Transport set alike.
	bigHead := "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-Pad: "+strings.Repeat("a", 1000)+"\r\n", 128) + "Content-Length: 2\r\n\r\nok"
	cases := []struct {
		name      string
		set       func(*http.Transport)
		raw       string
		wantConns int32 // connections the server accepted for the two calls
	}{
		{"MaxResponseHeaderBytes=-1", func(h *http.Transport) { h.MaxResponseHeaderBytes = -1 }, bigHead, 1},
		{"MaxResponseHeaderBytes=0", func(h *http.Transport) { h.MaxResponseHeaderBytes = 0 }, bigHead, 1},
		{"MaxIdleConnsPerHost=-1", func(h *http.Transport) { h.MaxIdleConnsPerHost = -1 }, okBody("ok"), 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			std := &http.Transport{DisableCompression: true}
			tc.set(std)
			defer std.CloseIdleConnections()
			up, _ := newTransport(t, tc.set)
			for name, rt := range map[string]http.RoundTripper{"upstream": up, "http.Transport": std} {
				s := newRawServer(t, func(ci, ri int, req *http.Request, body []byte) reply { return reply{raw: tc.raw} })
				for i := 1; i <= 2; i++ {
					ctx, took := viaTransport(testCtx(t))
					resp, err := rt.RoundTrip(post(t, ctx, s.url, []byte("x")))
					if err != nil {
						t.Fatalf("%s, call %d: %v", name, i, err)
					}
					b, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					if err != nil || string(b) != "ok" {
						t.Errorf("%s, call %d: read %q, %v; want \"ok\"", name, i, b, err)
					}
					if name == "upstream" && took.Load() {
						t.Fatalf("call %d went to the wrapped Transport: the direct path went untested", i)
					}
				}
				if got := s.accepts.Load(); got != tc.wantConns {
					t.Errorf("%s: %d connections for two calls, want %d", name, got, tc.wantConns)
				}
			}
		})
	}
}
