package upstream

import (
	"bufio"
	"io"
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
	s, accepts := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = io.WriteString(w, "answer to "+string(b))
	}))
	base := &http.Transport{DisableCompression: true}
	tr := New(base)
	defer tr.CloseIdleConnections()
	var seen []int // the reader size each call's connection read its answer through
	for i, size := range []int{0, 2 << 10, 2 << 10, 8 << 10} {
		base.ReadBufferSize = size
		sent := strings.Repeat("x", i+1)
		resp := postThrough(t, tr, s.URL, sent)
		seen = append(seen, resp.Body.(*body).c.br.Size())
		if b, _ := io.ReadAll(resp.Body); string(b) != "answer to "+sent {
			t.Fatalf("call %d: answer %q, want %q", i, b, "answer to "+sent)
		}
		_ = resp.Body.Close()
		forEachIdle(tr, func(c *conn) {
			if c.br != nil {
				t.Errorf("call %d: an idle connection holds a %d-byte reader", i, c.br.Size())
			}
		})
	}
	if want := []int{4 << 10, 2 << 10, 2 << 10, 8 << 10}; !slices.Equal(seen, want) {
		t.Errorf("reader sizes %v, want %v", seen, want)
	}
	if n := accepts.Load(); n != 1 {
		t.Errorf("%d connections for 4 calls in a row, want 1 (reused)", n)
	}
}

// The readers idle connections give back are the ones later calls read through: a reused
// connection reads with a reader from the pool, not a new one each time. (Under -race a
// sync.Pool drops a quarter of what it is given, so the test asks for one reuse in 8 calls.)
func TestReadersAreReused(t *testing.T) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	defer s.Close()
	tr := New(&http.Transport{DisableCompression: true})
	defer tr.CloseIdleConnections()
	var prev *bufio.Reader
	reused := 0
	for i := range 8 {
		resp := postThrough(t, tr, s.URL, "{}")
		br := resp.Body.(*body).c.br
		if br == prev {
			reused++
		}
		prev = br
		if b, _ := io.ReadAll(resp.Body); string(b) != "ok" {
			t.Fatalf("call %d: answer %q", i, b)
		}
		_ = resp.Body.Close()
	}
	if reused == 0 {
		t.Error("no call read through the reader the previous call gave back")
	}
}

// A response body read to its end gives its connection back at once; reading or closing that
// body afterwards, while the next call uses the connection and the reader, must neither read
// the next call's bytes nor disturb them.
func TestFinishedBodyAfterItsConnectionMovedOn(t *testing.T) {
	var n atomic.Int32
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, strings.Repeat(string(rune('a'+n.Add(1)-1)), 64))
	}))
	defer s.Close()
	tr := New(&http.Transport{DisableCompression: true})
	defer tr.CloseIdleConnections()
	first := postThrough(t, tr, s.URL, "{}")
	if b, err := io.ReadAll(first.Body); err != nil || string(b) != strings.Repeat("a", 64) {
		t.Fatalf("first answer %q, %v", b, err)
	}
	second := postThrough(t, tr, s.URL, "{}") // takes the connection the first body gave back
	if c := second.Body.(*body).c; c != first.Body.(*body).c {
		t.Fatal("the second call did not reuse the first call's connection; the test needs it to")
	}
	buf := make([]byte, 8)
	if k, err := first.Body.Read(buf); k != 0 || err != io.EOF {
		t.Errorf("first body read again: %d bytes %q, %v; want 0, EOF", k, buf[:k], err)
	}
	if err := first.Body.Close(); err != nil {
		t.Errorf("first body Close: %v", err)
	}
	if b, err := io.ReadAll(second.Body); err != nil || string(b) != strings.Repeat("b", 64) {
		t.Errorf("second answer %q, %v; want 64 b's", b, err)
	}
	_ = second.Body.Close()
}
