package proxy_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"testing"
	"time"

	"github.com/passthru/gateway/shared/proxy"
)

const streamConfig = `
general_settings:
  master_key: sk-1234
  pass_through_endpoints:
    - path: /anthropic
      target: "{{UP}}"
      include_subpath: true
      auth: true
      timeout: %s
      headers: {x-api-key: "os.environ/ANTHROPIC_API_KEY"}
`

func sseEvent(i int) string {
	return fmt.Sprintf("event: content_block_delta\ndata: {\"index\":%d,\"delta\":{\"text\":\"tok%d\"}}\n\n", i, i)
}

// startStream posts a streaming request and returns the response; the body is the caller's.
func startStream(t *testing.T, ctx context.Context, url string) *http.Response {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(`{"stream":true}`))
	req.Header.Set("X-Api-Key", masterKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// Events emitted 50 ms apart reach the client one by one: each read holds exactly one event,
// and event i arrives before the upstream even sends event i+1.
func TestSSEEventsFlushedOneByOne(t *testing.T) {
	const events, gap = 5, 50 * time.Millisecond
	sent := make(chan time.Time, events)
	up := startUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range events {
			if i > 0 {
				time.Sleep(gap)
			}
			sent <- time.Now()
			_, _ = io.WriteString(w, sseEvent(i))
			w.(http.Flusher).Flush()
		}
	})
	g := startGateway(t, fmt.Sprintf(streamConfig, "5"), up.URL)
	resp := startStream(t, context.Background(), g.URL+"/anthropic/v1/messages")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d, content-type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var received []time.Time
	buf := make([]byte, 4096)
	for i := range events {
		n, err := resp.Body.Read(buf)
		received = append(received, time.Now())
		if got := string(buf[:n]); got != sseEvent(i) {
			t.Fatalf("read %d = %q (err %v), want exactly event %d: events were coalesced or split", i, got, err, i)
		}
	}
	if n, err := resp.Body.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("after the last event: %d bytes, %v; want a clean EOF", n, err)
	}
	var sentAt []time.Time
	for range events {
		sentAt = append(sentAt, <-sent)
	}
	for i := 0; i+1 < events; i++ {
		if !received[i].Before(sentAt[i+1]) {
			t.Errorf("event %d arrived %v after event %d was sent: the relay buffered it", i, received[i].Sub(sentAt[i+1]), i+1)
		}
		t.Logf("event %d: delivered %v after the upstream sent it", i, received[i].Sub(sentAt[i]))
	}
	rec := g.usage.Next(t)
	if !rec.Streamed || rec.Partial || rec.BytesOut != totalLen(events) || rec.TTFBMS <= 0 {
		t.Errorf("usage record %+v", rec)
	}
}

func totalLen(n int) int64 {
	var s int
	for i := range n {
		s += len(sseEvent(i))
	}
	return int64(s)
}

// Lock-step proof with no clock: the upstream sends event i+1 only after the client has read
// event i, so any buffering in the gateway deadlocks (and the test times out) instead of passing.
func TestSSELockStep(t *testing.T) {
	ack := make(chan struct{})
	up := startUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 3 {
			_, _ = io.WriteString(w, sseEvent(i))
			w.(http.Flusher).Flush()
			select {
			case <-ack:
			case <-time.After(5 * time.Second):
				return
			}
		}
	})
	g := startGateway(t, fmt.Sprintf(streamConfig, "10"), up.URL)
	resp := startStream(t, context.Background(), g.URL+"/anthropic/v1/messages")
	r := bufio.NewReader(resp.Body)
	for i := range 3 {
		got := readEvent(t, r)
		if got != sseEvent(i) {
			t.Fatalf("event %d = %q", i, got)
		}
		ack <- struct{}{}
	}
}

func readEvent(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	done := make(chan string, 1)
	go func() {
		var b strings.Builder
		for {
			line, err := r.ReadString('\n')
			b.WriteString(line)
			if err != nil || line == "\n" {
				done <- b.String()
				return
			}
		}
	}()
	select {
	case ev := <-done:
		return ev
	case <-time.After(3 * time.Second):
		t.Fatal("event not delivered while the upstream waits: the gateway is buffering")
		return ""
	}
}

// An upstream that dies mid-stream cuts the client's stream too (no clean end) and the record
// says partial.
func TestUpstreamDiesMidStream(t *testing.T) {
	up := startUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, sseEvent(0))
		w.(http.Flusher).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	g := startGateway(t, fmt.Sprintf(streamConfig, "5"), up.URL)
	resp := startStream(t, context.Background(), g.URL+"/anthropic/v1/messages")
	body, err := io.ReadAll(resp.Body)
	if string(body) != sseEvent(0) || err == nil {
		t.Fatalf("client got %q, err %v; want the first event then an error", body, err)
	}
	rec := g.usage.Next(t)
	if !rec.Partial || rec.ErrorClass != "upstream_reset" || rec.Status != 200 || rec.BytesOut != int64(len(sseEvent(0))) {
		t.Errorf("record %+v", rec)
	}
}

func TestUpstreamTimeouts(t *testing.T) {
	up := startUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow-headers" {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, sseEvent(0))
		w.(http.Flusher).Flush()
		select { // silence longer than the idle timeout
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	g := startGateway(t, fmt.Sprintf(streamConfig, "0.2"), up.URL)

	resp, body := do(t, "POST", g.URL+"/anthropic/slow-headers", strings.NewReader(`{}`), map[string]string{"X-Api-Key": masterKey})
	wantStatus(t, resp, body, 504)
	wantBody(t, body, errorJSON("504", "timeout_error", "Upstream did not respond within the 200ms timeout."))
	if rec := g.usage.Next(t); rec.ErrorClass != "upstream_no_answer" || rec.Status != 504 || !rec.CostUnknown {
		t.Errorf("record %+v", rec)
	}

	resp = startStream(t, context.Background(), g.URL+"/anthropic/idle")
	got, err := io.ReadAll(resp.Body)
	if string(got) != sseEvent(0) || err == nil {
		t.Fatalf("idle stream: got %q, err %v; want the first event then an error", got, err)
	}
	if rec := g.usage.Next(t); rec.ErrorClass != "upstream_timeout" || !rec.Partial {
		t.Errorf("record %+v", rec)
	}
}

func TestUpstreamUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close()
	g := startGateway(t, fmt.Sprintf(streamConfig, "5"), dead)
	// Full duplex is on for these (they carry a body); the connection must survive the 502.
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	var reused []bool
	for range 3 { // and the gateway keeps serving
		req, _ := http.NewRequest("POST", g.URL+"/anthropic/v1/messages", strings.NewReader(strings.Repeat("x", 64<<10)))
		req.Header.Set("X-Api-Key", masterKey)
		trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = append(reused, i.Reused) }}
		resp, err := client.Do(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantStatus(t, resp, body, 502)
		wantBody(t, body, errorJSON("502", "upstream_error", "Upstream request failed: connection refused."))
		if rec := g.usage.Next(t); rec.ErrorClass != "upstream_connect" || rec.Status != 502 {
			t.Errorf("record %+v", rec)
		}
	}
	if fmt.Sprint(reused) != "[false true true]" {
		t.Errorf("connection reuse = %v, want [false true true]", reused)
	}
}

// A client that goes away mid-stream cancels the upstream request.
func TestClientDisconnectCancelsUpstream(t *testing.T) {
	cancelled := make(chan struct{})
	up := startUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, sseEvent(0))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
			close(cancelled)
		case <-time.After(10 * time.Second):
		}
	})
	g := startGateway(t, fmt.Sprintf(streamConfig, "30"), up.URL)
	ctx, cancel := context.WithCancel(context.Background())
	resp := startStream(t, ctx, g.URL+"/anthropic/v1/messages")
	readEvent(t, bufio.NewReader(resp.Body))
	cancel()
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("upstream request still running after the client left")
	}
	if rec := g.usage.Next(t); !rec.Partial || rec.ErrorClass != "client_disconnect" {
		t.Errorf("record %+v", rec)
	}
}

// --detailed-debug logs the exchange but never a key or a secret.
func TestDetailedDebugRedactsSecrets(t *testing.T) {
	const cfg = `
general_settings:
  master_key: sk-1234
  pass_through_endpoints:
    - path: /lf
      target: "{{UP}}/lf?api_key=qs-secret-1"
      forward_headers: true
      auth: true
      headers:
        LANGFUSE_PUBLIC_KEY: os.environ/LANGFUSE_PUBLIC_KEY
        LANGFUSE_SECRET_KEY: os.environ/LANGFUSE_SECRET_KEY
        X-Tenant-Ref: "t-os.environ/COHERE_API_KEY"
`
	up := startUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Echo", "tenant t-co-xyz") // an upstream echoing a credential back
		jsonReply(200, `{}`)(w, r)
	})
	g := startGateway(t, cfg, up.URL, proxy.WithDetailedDebug(true))
	resp, body := do(t, "POST", g.URL+"/lf?token=qs-secret-2&note=has-"+masterKey, strings.NewReader(`{}`), map[string]string{
		"X-Litellm-Api-Key": masterKey,
		"Cookie":            "session=cookie-secret",
		"X-Client-Note":     "copy " + masterKey,
	})
	wantStatus(t, resp, body, 200)
	logs := g.logs.String()
	for _, want := range []string{"client request", "upstream request", "upstream response", proxy.Redacted} {
		if !strings.Contains(logs, want) {
			t.Errorf("debug log lacks %q:\n%s", want, logs)
		}
	}
	for _, secret := range []string{masterKey, "pk-lf-1", "sk-lf-2", "co-xyz", "cGstbGYtMTpzay1sZi0y", "qs-secret-1", "qs-secret-2", "cookie-secret"} {
		if strings.Contains(logs, secret) {
			t.Errorf("debug log contains secret %q:\n%s", secret, logs)
		}
	}
}

// The timeout is for upstream silence: an upload that keeps sending and a client that reads
// slowly are not cut however long they take.
func TestTimeoutCountsOnlyUpstreamSilence(t *testing.T) {
	up := startUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 3 {
			time.Sleep(20 * time.Millisecond) // separate reads, each well inside the timeout
			_, _ = io.WriteString(w, sseEvent(i))
			w.(http.Flusher).Flush()
		}
	})
	g := startGateway(t, fmt.Sprintf(streamConfig, "0.15"), up.URL)

	// An upload of 8 chunks 50 ms apart takes 0.35 s, over twice the timeout.
	pr, pw := io.Pipe()
	go func() {
		for range 8 {
			time.Sleep(50 * time.Millisecond)
			_, _ = pw.Write([]byte("chunk;"))
		}
		pw.Close()
	}()
	resp, body := do(t, "POST", g.URL+"/anthropic/v1/messages", pr, map[string]string{"X-Api-Key": masterKey})
	wantStatus(t, resp, body, 200)
	if string(up.last(t).Body) != strings.Repeat("chunk;", 8) {
		t.Errorf("upload arrived as %q", up.last(t).Body)
	}

	// A client whose every write takes 0.3 s, twice the timeout, still gets the whole stream.
	h := g.Config.Handler
	slow := &slowWriter{ResponseRecorder: httptest.NewRecorder(), delay: 300 * time.Millisecond}
	req := httptest.NewRequest("POST", "/anthropic/v1/messages", strings.NewReader(`{}`))
	req.Header.Set("X-Api-Key", masterKey)
	h.ServeHTTP(slow, req)
	if got, want := slow.Body.String(), sseEvent(0)+sseEvent(1)+sseEvent(2); got != want {
		t.Errorf("slow client got %q, want all three events", got)
	}
	for range 2 {
		if rec := g.usage.Next(t); rec.Partial || rec.ErrorClass != "" {
			t.Errorf("record %+v", rec)
		}
	}
}

type slowWriter struct {
	*httptest.ResponseRecorder
	delay time.Duration
}

func (s *slowWriter) Write(p []byte) (int, error) {
	time.Sleep(s.delay)
	return s.ResponseRecorder.Write(p)
}
