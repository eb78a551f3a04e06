package proxy_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/passthru/gateway/shared/proxy"
)

// cutAfter ends each request's context after d with the cause an entry point gives it when the
// function's own time runs out (lambdahttp does so a reserve before the invocation's deadline).
func cutAfter(d time.Duration) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeoutCause(r.Context(), d, proxy.ErrFunctionTimeout)
			defer cancel()
			h.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// When the function's time runs out, the call is recorded as function_timeout, not as a client
// disconnect: before the upstream answered the caller gets a 504, and mid-stream the stream is
// cut (no clean end) so the caller sees an error.
func TestFunctionTimeout(t *testing.T) {
	up := startUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/slow-headers" {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, sseEvent(0))
			w.(http.Flusher).Flush()
		}
		select { // silent for longer than the function has
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	g := startWrappedGateway(t, fmt.Sprintf(streamConfig, "30"), up.URL, cutAfter(300*time.Millisecond))

	resp, body := do(t, "POST", g.URL+"/anthropic/slow-headers", strings.NewReader(`{}`), map[string]string{"X-Api-Key": masterKey})
	wantStatus(t, resp, body, 504)
	wantBody(t, body, errorJSON("504", "timeout_error", "The gateway function ran out of time before the upstream answered."))
	if rec := g.usage.Next(t); rec.ErrorClass != "function_timeout" || rec.Status != 504 || rec.Partial {
		t.Errorf("record %+v", rec)
	}

	resp = startStream(t, context.Background(), g.URL+"/anthropic/v1/messages")
	got, err := io.ReadAll(resp.Body)
	if string(got) != sseEvent(0) || err == nil {
		t.Fatalf("stream: got %q, err %v; want the first event then an error", got, err)
	}
	if rec := g.usage.Next(t); rec.ErrorClass != "function_timeout" || !rec.Partial || rec.Status != 200 {
		t.Errorf("record %+v", rec)
	}
	if logs := g.logs.String(); !strings.Contains(logs, "the function's time ran out mid-stream") {
		t.Errorf("no log line for the cut stream:\n%s", logs)
	}
}
