package upstream

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
)

// An idle connection holds no response reader; the call that reuses it gets one of the size
// the settings name at that call, and reads its answer through it.
func TestIdleConnectionsHoldNoReader(t *testing.T) {
	var accepts atomic.Int32
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = io.WriteString(w, "answer to "+string(b))
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			accepts.Add(1)
		}
	}
	s.Start()
	defer s.Close()
	base := &http.Transport{DisableCompression: true}
	tr := New(base)
	defer tr.CloseIdleConnections()
	var seen []int // the reader size each call's connection read its answer through
	for i, size := range []int{0, 2 << 10, 2 << 10, 8 << 10} {
		base.ReadBufferSize = size
		sent := strings.Repeat("x", i+1)
		req, _ := http.NewRequest(http.MethodPost, s.URL, strings.NewReader(sent))
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		seen = append(seen, resp.Body.(*body).c.br.Size())
		if b, _ := io.ReadAll(resp.Body); string(b) != "answer to "+sent {
			t.Fatalf("call %d: answer %q, want %q", i, b, "answer to "+sent)
		}
		_ = resp.Body.Close()
		tr.mu.Lock()
		for _, conns := range tr.idle {
			for _, c := range conns {
				if c.br != nil {
					t.Errorf("call %d: an idle connection holds a %d-byte reader", i, c.br.Size())
				}
			}
		}
		tr.mu.Unlock()
	}
	if want := []int{4 << 10, 2 << 10, 2 << 10, 8 << 10}; !slices.Equal(seen, want) {
		t.Errorf("reader sizes %v, want %v", seen, want)
	}
	if n := accepts.Load(); n != 1 {
		t.Errorf("%d connections for 4 calls in a row, want 1 (reused)", n)
	}
}
