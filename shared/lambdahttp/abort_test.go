package lambdahttp_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/passthru/gateway/shared/lambdahttp"
)

// A buffered integration cannot return part of a response: when the upstream dies mid-body the
// caller gets a whole 502, and at the function's deadline a whole 504; either way the usage
// record says that status, keeps why the upstream's answer was cut, and is partial.
func TestBufferedAbortIsRecordedAsAnswered(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"partial":`)
		w.(http.Flusher).Flush()
		if r.URL.Path == "/x/reset" {
			conn, _, _ := http.NewResponseController(w).Hijack()
			conn.Close()
			return
		}
		select { // stalls past the function's time
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	t.Cleanup(up.Close)
	h, recs := publicRoute(t, up.URL)
	a := lambdahttp.New(h,
		lambdahttp.Options{RESTMode: lambdahttp.Buffered, Logger: discard, DeadlineReserve: 200 * time.Millisecond})
	for _, tt := range []struct {
		path, class, body string
		status            int
	}{
		{"/x/reset", "upstream_reset", `{"error":{"message":"The upstream response ended early; a buffered integration cannot return part of it.","type":"upstream_error","param":"None","code":"502"}}`, 502},
		{"/x/stall", "function_timeout", `{"error":{"message":"The gateway function ran out of time before the upstream response ended; a buffered integration cannot return part of it.","type":"timeout_error","param":"None","code":"504"}}`, 504},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		out, err := a.Invoke(ctx, event(t, restEvent(t, tt.path, nil, false)))
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		r := decode(t, out)
		rec := recs.take(t)
		if r.status != tt.status || r.body != tt.body {
			t.Errorf("%s: caller got %d %s", tt.path, r.status, r.body)
		}
		if rec.Status != tt.status || rec.ErrorClass != tt.class || !rec.Partial || rec.CallID != r.headers["X-Litellm-Call-Id"] {
			t.Errorf("%s: record %d %q partial %v call %q; want %d %q partial, call %q", tt.path, rec.Status, rec.ErrorClass,
				rec.Partial, rec.CallID, tt.status, tt.class, r.headers["X-Litellm-Call-Id"])
		}
	}
}

// A buffered handler that ignores its context cannot hold the invocation past its deadline:
// once the request's context has ended and the grace has passed, the caller gets a 504.
func TestStuckBufferedHandlerAnswers504InTime(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release; _, _ = io.WriteString(w, "late") })
	a := lambdahttp.New(h, lambdahttp.Options{RESTMode: lambdahttp.Buffered, Logger: discard, DeadlineReserve: 400 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second) // cut at 600 ms, 504 by 850 ms
	defer cancel()
	start := time.Now()
	out, err := a.Invoke(ctx, event(t, restEvent(t, "/x", nil, false)))
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	r := decode(t, out)
	want := `{"error":{"message":"The function ran out of time before the response was complete.","type":"timeout_error","param":"None","code":"504"}}`
	if r.status != 504 || r.body != want || took > 2*time.Second {
		t.Errorf("after %v: %d %s", took, r.status, r.body)
	}
	if dl, _ := ctx.Deadline(); time.Now().After(dl) {
		t.Errorf("answered %v after the invocation's deadline", time.Since(dl))
	}
}
