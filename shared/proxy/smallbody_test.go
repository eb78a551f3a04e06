package proxy_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passthru/gateway/shared/proxy"
)

// writeLog records every Write the transport makes on its upstream connections.
type writeLog struct {
	mu     sync.Mutex
	writes [][]byte
}

type loggedConn struct {
	net.Conn
	log *writeLog
}

func (c loggedConn) Write(p []byte) (int, error) {
	c.log.mu.Lock()
	c.log.writes = append(c.log.writes, bytes.Clone(p))
	c.log.mu.Unlock()
	return c.Conn.Write(p)
}

func (l *writeLog) all() [][]byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.writes
}

// A small request body of known length goes upstream in the same write as the request headers;
// a large one, and one of unknown length, stream after the headers, as before. Every body
// arrives byte for byte. Both upstream paths are covered: package upstream's direct path, and
// net/http's Transport, which carries what the direct path does not (here a
// ResponseHeaderTimeout sends every call to it, as TestFallbackSettings in package upstream
// shows) and writes the headers on their own before a body it does not know to be in memory.
// Which path dialled is read from the dial's stack, so a change in what takes the direct path
// cannot quietly leave the Transport's case untested.
func TestSmallKnownLengthBodyLeavesInOneWrite(t *testing.T) {
	paths := []struct {
		name         string
		set          func(*http.Transport)
		viaTransport bool // the small bodies' calls go through net/http's Transport
	}{
		{"direct path", func(*http.Transport) {}, false},
		{"net/http Transport", func(h *http.Transport) { h.ResponseHeaderTimeout = time.Minute }, true},
	}
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) { testSmallBodyWrites(t, p.set, p.viaTransport) })
	}
}

func testSmallBodyWrites(t *testing.T, set func(*http.Transport), viaTransport bool) {
	cases := []struct {
		name     string
		size     int
		chunked  bool
		expect   bool
		oneWrite bool
	}{
		{name: "300 B, known length", size: 300, oneWrite: true},
		{name: "3 KiB, known length", size: 3 << 10, oneWrite: true},
		{name: "100 KiB, known length: streamed", size: 100 << 10},
		{name: "300 B, chunked: streamed", size: 300, chunked: true},
		{name: "300 B, client waits for 100 Continue: streamed", size: 300, expect: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []byte
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got, _ = io.ReadAll(r.Body)
				_, _ = io.WriteString(w, `{"ok":true}`)
			}))
			defer up.Close()
			log := &writeLog{}
			tr := proxy.NewTransport()
			tr.HTTP.Proxy = nil
			set(tr.HTTP)
			var dialedByTransport atomic.Bool // the one dial of this case
			tr.HTTP.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
				dialedByTransport.Store(strings.Contains(string(debug.Stack()), "net/http.(*Transport).dialConn"))
				c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
				return loggedConn{c, log}, err
			}
			g := startGateway(t, cohereConfig, up.URL, proxy.WithTransport(tr))
			body := bytes.Repeat([]byte(`{"q":"x"}`), tc.size/9+1)[:tc.size]
			var rd io.Reader = bytes.NewReader(body)
			if tc.chunked {
				rd = io.MultiReader(rd) // hides the length: the client sends it chunked
			}
			req, _ := http.NewRequest(http.MethodPost, g.URL+"/v1/rerank", rd)
			req.Header.Set("Authorization", "Bearer "+masterKey)
			if tc.expect {
				req.Header.Set("Expect", "100-continue")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !bytes.Equal(got, body) {
				t.Fatalf("status %d, upstream got %d bytes equal=%v; want 200 and the %d bytes sent", resp.StatusCode, len(got), bytes.Equal(got, body), len(body))
			}
			if tc.oneWrite && dialedByTransport.Load() != viaTransport {
				t.Fatalf("the call dialled through net/http's Transport: %v, want %v", dialedByTransport.Load(), viaTransport)
			}
			writes := log.all()
			if len(writes) == 0 {
				t.Fatal("no upstream writes logged")
			}
			first := string(writes[0])
			headersOnly := strings.HasSuffix(first, "\r\n\r\n")
			if tc.oneWrite && (len(writes) != 1 || !strings.HasSuffix(first, string(body))) {
				t.Errorf("%d writes, the first %d bytes ending in the body: %v; want one write of headers and body", len(writes), len(first), strings.HasSuffix(first, string(body)))
			}
			if !tc.oneWrite && !headersOnly {
				t.Errorf("first write %q does not end with the headers: a large or chunked body must stream, not be read whole", first[max(0, len(first)-40):])
			}
		})
	}
}
