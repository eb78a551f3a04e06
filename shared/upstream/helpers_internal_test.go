package upstream

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// countingServer starts a server for h that counts the connections it accepts, so a test can
// tell a reused connection from a new one.
func countingServer(t *testing.T, h http.Handler) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var accepts atomic.Int32
	s := httptest.NewUnstartedServer(h)
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			accepts.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s, &accepts
}

// postThrough POSTs body to url through tr, failing the test on a transport error; the caller
// reads and closes the answer.
func postThrough(t *testing.T, tr *Transport, url, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	return resp
}

// forEachIdle calls f on every idle connection of tr, under tr's lock.
func forEachIdle(tr *Transport, f func(*conn)) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, conns := range tr.idle {
		for _, c := range conns {
			f(c)
		}
	}
}
