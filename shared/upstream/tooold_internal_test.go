package upstream

import (
	"io"
	"net/http"
	"testing"
	"time"
)

// A connection idle for longer than IdleConnTimeout by the wall clock is not reused even when
// its timer has not fired: the timer runs on the monotonic clock, which may not advance while
// a Lambda environment is frozen. The wall-clock age is set back by hand, as a thaw would find it.
func TestIdleByTheWallClockIsNotReused(t *testing.T) {
	s, accepts := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	tr := New(&http.Transport{DisableCompression: true, IdleConnTimeout: time.Hour})
	defer tr.CloseIdleConnections()
	post := func() {
		t.Helper()
		resp := postThrough(t, tr, s.URL, "{}")
		if b, _ := io.ReadAll(resp.Body); string(b) != "ok" {
			t.Fatalf("body %q", b)
		}
		_ = resp.Body.Close()
	}
	post()
	post()
	if n := accepts.Load(); n != 1 {
		t.Fatalf("%d connections for two calls in a row, want 1 (reused)", n)
	}
	forEachIdle(tr, func(c *conn) { c.idleAt = c.idleAt.Add(-2 * time.Hour) })
	post()
	if n := accepts.Load(); n != 2 {
		t.Errorf("%d connections, want 2: a connection idle for 2 h by the wall clock was reused", n)
	}
}
