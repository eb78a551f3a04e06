package main

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/passthru/gateway/shared/motoserver"
	"github.com/passthru/gateway/shared/usage"
)

// The real bootstrap under the fake Runtime API, with its usage records going to a Firehose
// endpoint that accepts connections and never answers: the caller's response ends when the
// upstream's does, the flush runs afterwards (bounded, before the next /next), and what it could
// not deliver is on stdout with the undelivered marker, with one ERROR line saying how many.
// At the invocation's deadline the request is stopped a reserve early: the stream ends with the
// runtime's error trailers, or a 504 when nothing was sent yet, and the record says
// function_timeout and is written before the invocation ends.

// chatUpstream streams three events and ends; with ?mode=stall it sends one event and falls
// silent, with ?mode=silent it never answers. upstreamDone gets the time each answer ended.
func chatUpstream(t *testing.T, upstreamDone chan<- time.Time) string {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { upstreamDone <- time.Now() }()
		_, _ = io.Copy(io.Discard, r.Body) // so that the server notices when the gateway hangs up
		mode := r.URL.Query().Get("mode")
		if mode != "silent" {
			w.Header().Set("Content-Type", "text/event-stream")
			for i := range 3 {
				_, _ = io.WriteString(w, sseEvent(i))
				w.(http.Flusher).Flush()
				if mode == "stall" {
					break
				}
			}
		}
		if mode != "" {
			select {
			case <-r.Context().Done():
			case <-time.After(20 * time.Second):
			}
		}
	}))
	t.Cleanup(up.Close)
	return up.URL
}

func startWithHangingFirehose(t *testing.T, upstream string) (*fakeRuntime, *function) {
	rt := startRuntime(t)
	fn := startFunction(t, buildBootstrap(t), strings.TrimPrefix(rt.URL, "http://"), upstream,
		"GATEWAY_USAGE_STREAM=gw-usage", "AWS_ENDPOINT_URL_FIREHOSE="+motoserver.SilentEndpoint(t), "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing", "AWS_EC2_METADATA_DISABLED=true")
	select {
	case <-rt.firstNext:
		<-rt.nexts
	case <-time.After(10 * time.Second):
		t.Fatal("the function never asked for an event")
	}
	return rt, fn
}

// nextAfter waits for the function's next /next request.
func nextAfter(t *testing.T, rt *fakeRuntime) time.Time {
	t.Helper()
	select {
	case at := <-rt.nexts:
		return at
	case <-time.After(10 * time.Second):
		t.Fatal("the function did not ask for the next event")
		return time.Time{}
	}
}

// eventually waits (up to 5 s) for the function's output to satisfy ok: the output reaches the
// test through a copying goroutine, a moment after the function wrote it.
func eventually(t *testing.T, fn *function, ok func(out string) bool) string {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if out := fn.out.String(); ok(out) || time.Now().After(end) {
			return out
		}
	}
}

// undelivered returns the stdout lines that carry undelivered usage records.
func undelivered(out string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, `{"`+usage.UndeliveredMarkerField+`":"`+usage.UndeliveredMarker+`"`) {
			lines = append(lines, l)
		}
	}
	return lines
}

func TestUsageFlushFollowsTheResponse(t *testing.T) {
	upstreamDone := make(chan time.Time, 4)
	rt, fn := startWithHangingFirehose(t, chatUpstream(t, upstreamDone))
	for i, fixture := range []string{"function-url-chat-stream.json", "http-api-chat-stream.json"} { // streamed, buffered
		rt.events <- mustRead(t, "../../events/"+fixture)
		res := rt.await(t)
		upEnd := <-upstreamDone
		next := nextAfter(t, rt)
		delay, flush := res.ended.Sub(upEnd), next.Sub(res.ended)
		t.Logf("%s: response ended %v after the upstream's; the flush took %v after it", fixture, delay.Round(time.Millisecond), flush.Round(time.Millisecond))
		if delay > 300*time.Millisecond {
			t.Errorf("%s: the caller's response ended %v after the upstream's: the flush held it", fixture, delay)
		}
		if flush < 800*time.Millisecond || flush > 3*time.Second {
			t.Errorf("%s: next event requested %v after the response; want the bounded (1 s) flush in between", fixture, flush)
		}
		const flushLog = `"msg":"usage records not delivered to Firehose; written to stdout with the USAGE_RECORD_UNDELIVERED marker"`
		out := eventually(t, fn, func(out string) bool { return strings.Count(out, flushLog) > i })
		if lines := undelivered(out); len(lines) != i+1 || !strings.Contains(lines[i], `"route":"/openai/v1/chat/completions"`) {
			t.Errorf("%s: undelivered lines %q, want one more for this call", fixture, lines)
		}
		if n := strings.Count(out, flushLog); n != i+1 {
			t.Errorf("%s: %d ERROR lines about the failed flush, want %d", fixture, n, i+1)
		}
	}
	for _, l := range strings.Split(fn.out.String(), "\n") {
		if strings.Contains(l, "not delivered to Firehose") && (!strings.Contains(l, `"level":"ERROR"`) ||
			!strings.Contains(l, `"undelivered":1,"total":1`) || strings.Contains(l, "call_id")) {
			t.Errorf("the flush's log line must be an ERROR with the counts and no record: %s", l)
		}
	}
}

func TestFunctionTimeoutEndsTheCallInTime(t *testing.T) {
	upstreamDone := make(chan time.Time, 4)
	rt, fn := startWithHangingFirehose(t, chatUpstream(t, upstreamDone))
	const timeout = 4 * time.Second
	rt.setTimeout(timeout)

	// Mid-stream: the first event, then the runtime's error trailers.
	deadline := time.Now().Add(timeout)
	rt.events <- withQuery(t, mustRead(t, "../../events/function-url-chat-stream.json"), "mode=stall")
	res := rt.await(t)
	next := nextAfter(t, rt)
	if body := afterPrelude(t, res); body != sseEvent(0) {
		t.Errorf("body = %q, want the first event", body)
	}
	errBody, _ := base64.StdEncoding.DecodeString(res.trailer.Get("Lambda-Runtime-Function-Error-Body"))
	if !strings.Contains(string(errBody), "the function's time limit was reached") {
		t.Errorf("trailers %v (body %s), want the runtime's error trailers naming the time limit", res.trailer, errBody)
	}
	checkEndedInTime(t, "stream", deadline, res.ended, next)
	out := eventually(t, fn, func(out string) bool { return len(undelivered(out)) == 1 })
	if lines := undelivered(out); len(lines) != 1 || !strings.Contains(lines[0], `"status":200`) ||
		!strings.Contains(lines[0], `"error_class":"function_timeout","partial":true`) {
		t.Errorf("records %q, want one function_timeout record, partial", lines)
	}

	// Before the headers: a 504 in LiteLLM's shape.
	deadline = time.Now().Add(timeout)
	rt.events <- withQuery(t, mustRead(t, "../../events/function-url-chat-stream.json"), "mode=silent")
	res = rt.await(t)
	next = nextAfter(t, rt)
	var all []byte
	for _, c := range res.chunks {
		all = append(all, c.data...)
	}
	prelude, body, _ := strings.Cut(string(all), "\x00\x00\x00\x00\x00\x00\x00\x00")
	want := `{"error":{"message":"The gateway function ran out of time before the upstream answered.","type":"timeout_error","param":"None","code":"504"}}`
	if !strings.Contains(prelude, `"statusCode":504`) || body != want {
		t.Errorf("got %s %s, want 504 %s", prelude, body, want)
	}
	checkEndedInTime(t, "504", deadline, res.ended, next)
	out = eventually(t, fn, func(out string) bool { return len(undelivered(out)) == 2 })
	if lines := undelivered(out); len(lines) != 2 || !strings.Contains(lines[1], `"status":504`) ||
		!strings.Contains(lines[1], `"error_class":"function_timeout"`) {
		t.Errorf("records %q, want a second one with 504 function_timeout", lines)
	}
}

// checkEndedInTime: the response ends about the reserve (1.5 s with the default 1 s flush
// timeout) before the deadline, not much earlier, and the invocation ends before the deadline.
func checkEndedInTime(t *testing.T, what string, deadline, ended, next time.Time) {
	t.Helper()
	t.Logf("%s: response ended %v before the deadline, the invocation %v before it", what,
		deadline.Sub(ended).Round(time.Millisecond), deadline.Sub(next).Round(time.Millisecond))
	if left := deadline.Sub(ended); left < time.Second || left > 2500*time.Millisecond {
		t.Errorf("%s: response ended %v before the deadline; want about 1.5 s", what, left)
	}
	if !next.Before(deadline) {
		t.Errorf("%s: the invocation ended %v after its deadline", what, next.Sub(deadline))
	}
}
