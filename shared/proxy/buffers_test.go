package proxy_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// The upstream transport reads through a 2 KiB buffer and an event stream is relayed through a
// 2 KiB one (per-stream memory): response headers several times that size still arrive whole,
// and an event several times that size still arrives intact, before the next one is sent.
func TestResponsesBiggerThanTheBuffersArriveIntact(t *testing.T) {
	bigHeader := strings.Repeat("v", 3<<10)
	bigEvent := "event: content_block_delta\ndata: {\"delta\":{\"text\":\"" + strings.Repeat("t", 10<<10) + "\"}}\n\n"
	next := make(chan struct{})
	up := startUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 3 {
			w.Header().Set(fmt.Sprintf("X-Upstream-Big-%d", i), bigHeader)
		}
		_, _ = io.WriteString(w, bigEvent)
		w.(http.Flusher).Flush()
		<-next // the client has read all of the big event before the next one is written
		_, _ = io.WriteString(w, sseEvent(1))
	})
	g := startGateway(t, fmt.Sprintf(streamConfig, "5"), up.URL)
	resp := startStream(t, context.Background(), g.URL+"/anthropic/v1/messages")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for i := range 3 {
		if got := resp.Header.Get(fmt.Sprintf("X-Upstream-Big-%d", i)); got != bigHeader {
			t.Fatalf("header %d: %d bytes, want %d", i, len(got), len(bigHeader))
		}
	}
	got := make([]byte, len(bigEvent))
	if _, err := io.ReadFull(resp.Body, got); err != nil || string(got) != bigEvent {
		t.Fatalf("big event: %v; intact: %v", err, string(got) == bigEvent)
	}
	close(next)
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(rest) != sseEvent(1) {
		t.Fatalf("after the big event: %q, %v; want %q", rest, err, sseEvent(1))
	}
}
