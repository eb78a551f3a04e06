package upstream_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passthru/gateway/shared/proxy"
	"github.com/passthru/gateway/shared/upstream"
)

// tlsJunkServer answers its first request with a body of size bytes followed, in the same
// write (so the same TLS record), by bytes nobody asked for; later requests on a connection get
// "real". It counts accepted connections.
func tlsJunkServer(t *testing.T, size int, junk string) (addr string, conns *atomic.Int32) {
	t.Helper()
	cert := testCertificates()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: cert, NextProtos: []string{"http/1.1"}, DynamicRecordSizingDisabled: true /* 16 KB records, as nginx ssl_buffer_size 16k */})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	conns = new(atomic.Int32)
	var served atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func(c net.Conn) {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					_, _ = io.Copy(io.Discard, req.Body)
					if served.Add(1) == 1 { // the server's first answer only
						body := strings.Repeat("a", size)
						_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(size)+"\r\n\r\n"+body+junk)
					} else {
						_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nreal")
					}
				}
			}(c)
		}
	}()
	return ln.Addr().String(), conns
}

func readAllBig(t *testing.T, r io.Reader) string {
	var sb strings.Builder
	buf := make([]byte, 64<<10) // as big as a relay buffer: bufio hands it straight to the conn
	for {
		n, err := r.Read(buf)
		sb.Write(buf[:n])
		if err == io.EOF {
			return sb.String()
		}
		if err != nil {
			t.Fatalf("read body: %v", err)
		}
	}
}

// Bytes the upstream sent after a response (a wrong Content-Length, a desync) must not be
// taken as the answer to the next call on that connection. Over TLS, its bufio.Reader and a
// peek at the socket are not enough: bytes tls.Conn already holds are seen by neither (found by
// review; the connection is now also asked whether its TLS layer is quiet).
func TestTLSBytesAfterAResponseAreNotTheNextAnswer(t *testing.T) {
	const junk = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\njunk"
	insecure := &tls.Config{InsecureSkipVerify: true} // the test certificate
	cases := []struct {
		name string
		size int    // the first answer's body
		body []byte // nil: a GET
		rt   func() http.RoundTripper
	}{
		{"net/http", 10000, nil, func() http.RoundTripper {
			return &http.Transport{TLSClientConfig: insecure, DisableCompression: true}
		}},
		{"upstream", 10000, nil, func() http.RoundTripper {
			return upstream.New(&http.Transport{TLSClientConfig: insecure, DisableCompression: true})
		}},
		// The gateway's own settings (proxy.NewTransport: a 2 KiB ReadBufferSize) and its relay
		// buffer for a JSON answer over 2 KiB (64 KiB): a 6,000-byte answer is enough.
		{"gateway settings", 6000, []byte(`{"model":"m"}`), func() http.RoundTripper {
			tr := proxy.NewTransport()
			tr.HTTP.TLSClientConfig, tr.HTTP.Proxy = insecure, nil
			return tr
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			addr, conns := tlsJunkServer(t, c.size, junk)
			rt := c.rt()
			call := func() string {
				req := get(t, testCtx(t), http.MethodGet, "https://"+addr+"/")
				if c.body != nil {
					req = post(t, testCtx(t), "https://"+addr+"/v1/chat/completions", c.body)
				}
				resp, err := rt.RoundTrip(req)
				if err != nil {
					t.Fatalf("RoundTrip: %v", err)
				}
				defer resp.Body.Close()
				return readAllBig(t, resp.Body)
			}
			if got := call(); len(got) != c.size {
				t.Fatalf("first body %d bytes, want %d", len(got), c.size)
			}
			time.Sleep(100 * time.Millisecond)
			if got := call(); got != "real" {
				if len(got) > 40 {
					got = got[:40] + "..."
				}
				t.Errorf("second call (another client's, in the gateway) got %q from the upstream's leftover bytes (connections: %d); want \"real\"", got, conns.Load())
			}
		})
	}
}

// The direct path reads HTTP.TLSClientConfig at each handshake, and net/http's Transport writes
// it (nil -> its own config with h2 NextProtos) at its first RoundTrip or CloseIdleConnections:
// run with -race, this raced before the direct path ran that setup first.
func TestTLSClientConfigReadAfterTheTransportsSetup(t *testing.T) {
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer ts.Close()
	tr := upstream.New(&http.Transport{ForceAttemptHTTP2: true, DisableCompression: true})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		req, _ := http.NewRequest(http.MethodGet, ts.URL, nil)
		if resp, err := tr.RoundTrip(req); err == nil { // fails verification: the race is on the read
			resp.Body.Close()
		}
	}()
	go func() {
		defer wg.Done()
		tr.CloseIdleConnections() // or the first streamed upload through tr.HTTP
	}()
	wg.Wait()
}

// An upstream that ends a connection after a response with a TLS close_notify (and has not yet
// closed the TCP connection) is not a live connection either: tls.Conn has read the alert with
// the response's last record, so neither br nor the socket peek sees it, and the next call, a
// POST that may not be retried, fails instead of going out on a new connection.
func TestTLSCloseNotifyAfterAResponse(t *testing.T) {
	cert := testCertificates()
	cfg := &tls.Config{Certificates: cert, DynamicRecordSizingDisabled: true}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns atomic.Int32
	go func() {
		for {
			raw, err := ln.Accept()
			if err != nil {
				return
			}
			n := conns.Add(1)
			hc := &holdConn{Conn: raw}
			go func(c *tls.Conn) {
				defer c.Close()
				br := bufio.NewReader(c)
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, req.Body)
				if n == 1 {
					hc.hold = true // the response's record and the alert leave in one segment
					_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 6000\r\n\r\n"+strings.Repeat("a", 6000))
					_ = c.CloseWrite() // close_notify; the TCP close follows later
					hc.flush()
					time.Sleep(2 * time.Second)
					return
				}
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\nreal")
			}(tls.Server(hc, cfg))
		}
	}()
	for _, name := range []string{"net/http", "upstream"} {
		t.Run(name, func(t *testing.T) {
			conns.Store(0)
			base := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableCompression: true}
			var rt http.RoundTripper = base
			if name == "upstream" {
				rt = upstream.New(base)
			}
			post := func() (string, error) {
				req := post(t, testCtx(t), "https://"+ln.Addr().String()+"/", []byte("{}"))
				resp, err := rt.RoundTrip(req)
				if err != nil {
					return "", err
				}
				defer resp.Body.Close()
				return readAllBig(t, resp.Body), nil
			}
			if got, err := post(); err != nil || len(got) != 6000 {
				t.Fatalf("first: %d bytes, %v", len(got), err)
			}
			time.Sleep(100 * time.Millisecond)
			if got, err := post(); err != nil || got != "real" {
				t.Errorf("second POST: %q, %v (connections: %d); want \"real\" on a new connection", got, err, conns.Load())
			}
		})
	}
}

// holdConn holds what is written while hold is set, until flush.
type holdConn struct {
	net.Conn
	hold bool
	buf  []byte
}

func (c *holdConn) Write(p []byte) (int, error) {
	if c.hold {
		c.buf = append(c.buf, p...)
		return len(p), nil
	}
	return c.Conn.Write(p)
}

func (c *holdConn) flush() {
	_ = c.Conn.SetWriteDeadline(time.Time{}) // CloseWrite set it to now
	_, _ = c.Conn.Write(c.buf)
	c.buf, c.hold = nil, false
}

// Without a socket to peek at (a DialContext whose conn is not a syscall.Conn), a pooled
// connection the upstream has closed would be used for the next call, and a POST on it would
// fail: retryable does not repeat a POST that got no answer. Such connections are not pooled
// (and on a GOOS without the peek, probe_other.go, every call goes to the Transport).
func TestConnectionsTheProbeCannotReadAreNotPooled(t *testing.T) {
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	s.Config.IdleTimeout = 50 * time.Millisecond // the upstream closes idle connections
	s.Start()
	defer s.Close()
	type wrapped struct{ net.Conn } // hides syscall.Conn, as any net.Conn wrapper does
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return wrapped{c}, nil
	}
	for _, name := range []string{"net/http", "upstream"} {
		t.Run(name, func(t *testing.T) {
			base := &http.Transport{DialContext: dial, DisableCompression: true}
			var rt http.RoundTripper = base
			if name == "upstream" {
				rt = upstream.New(base)
			}
			post := func() error {
				req := post(t, testCtx(t), s.URL, []byte("{}"))
				resp, err := rt.RoundTrip(req)
				if err != nil {
					return err
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				return resp.Body.Close()
			}
			if err := post(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(300 * time.Millisecond) // the server closed the idle connection
			if err := post(); err != nil {
				t.Errorf("second POST: %v", err)
			}
		})
	}
}

// testCertificates are httptest's TLS server certificates, for a hand-made TLS server.
func testCertificates() []tls.Certificate {
	ts := httptest.NewTLSServer(http.NotFoundHandler())
	defer ts.Close()
	return ts.TLS.Certificates
}
