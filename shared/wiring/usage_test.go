package wiring_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/passthru/gateway/shared/usage"
	"github.com/passthru/gateway/shared/usage/usagetest"
	"github.com/passthru/gateway/shared/wiring"
)

var anthropicEvents = []string{
	"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude-sonnet-4-5\",\"usage\":{\"input_tokens\":1000,\"cache_read_input_tokens\":200,\"output_tokens\":1}}}\n\n",
	"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n",
	"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" there\"}}\n\n",
	"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":50}}\n\n",
	"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
}

// startAnthropic serves the events gap apart on an api.anthropic.com-shaped path, recording when
// each was sent; hold, when set, is closed by the test to let the stream go past event 1.
func startAnthropic(t *testing.T, gap time.Duration, sent chan<- time.Time, hold chan struct{}) string {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i, e := range anthropicEvents {
			if i == 1 && hold != nil {
				select {
				case <-hold:
				case <-r.Context().Done():
					return
				}
			}
			if i > 0 {
				time.Sleep(gap)
			}
			if sent != nil {
				sent <- time.Now()
			}
			_, _ = io.WriteString(w, e)
			w.(http.Flusher).Flush()
		}
	}))
	t.Cleanup(up.Close)
	return up.URL
}

func gatewayWithUsage(t *testing.T, upstream string, sink usage.Sink) string {
	t.Helper()
	cfg := fmt.Sprintf("general_settings:\n  pass_through_endpoints:\n    - {path: /anthropic, target: %q, include_subpath: true, auth: false}\n", upstream)
	src, err := wiring.OpenSources(context.Background(), wiring.SourceOptions{ConfigYAML: cfg, Secrets: "inline", SecretsInline: "{}"}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(wiring.NewHandler(src, sink, quiet, false))
	t.Cleanup(srv.Close)
	return srv.URL
}

// With the real parsers metering the stream, every event still reaches the client before the
// upstream sends the next one, and the record has the exact tokens and cost.
func TestMeteredStreamIsNotDelayed(t *testing.T) {
	sent := make(chan time.Time, len(anthropicEvents))
	sink := usagetest.NewSink()
	url := gatewayWithUsage(t, startAnthropic(t, 50*time.Millisecond, sent, nil), sink)
	req, _ := http.NewRequest("POST", url+"/anthropic/v1/messages", strings.NewReader(`{"model":"claude-sonnet-4-5","stream":true}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var arrived []time.Time
	buf := make([]byte, 4096)
	for i := range anthropicEvents {
		n, _ := resp.Body.Read(buf)
		arrived = append(arrived, time.Now())
		if string(buf[:n]) != anthropicEvents[i] {
			t.Fatalf("read %d = %q, want event %d exactly", i, buf[:n], i)
		}
	}
	var sentAt []time.Time
	for range anthropicEvents {
		sentAt = append(sentAt, <-sent)
	}
	for i := range len(anthropicEvents) - 1 {
		if !arrived[i].Before(sentAt[i+1]) {
			t.Errorf("event %d reached the client after event %d was sent: metering delayed it", i, i+1)
		}
	}
	rec := sink.Next(t)
	// Anthropic's input_tokens excludes cache reads; the record's Input includes them.
	want := 1000*3e-6 + 200*0.3e-6 + 50*15e-6 // uncached input, cache reads, output (claude-sonnet-4-5)
	if rec.Provider != "anthropic" || rec.Model != "claude-sonnet-4-5" || *rec.Input != 1200 || *rec.Cached != 200 ||
		*rec.Output != 50 || rec.CostUSD == nil || fmt.Sprintf("%.9f", *rec.CostUSD) != fmt.Sprintf("%.9f", want) || rec.Partial {
		t.Errorf("record %+v cost %v", rec, rec.CostUSD)
	}
}

// A client that leaves mid-stream still yields a partial record with the tokens seen so far.
func TestClientDisconnectYieldsPartialRecord(t *testing.T) {
	hold := make(chan struct{})
	defer close(hold)
	sink := usagetest.NewSink()
	url := gatewayWithUsage(t, startAnthropic(t, 0, nil, hold), sink)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", url+"/anthropic/v1/messages", strings.NewReader(`{"model":"claude-sonnet-4-5","stream":true}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(resp.Body).ReadString('\n') // message_start has arrived
	if !strings.HasPrefix(line, "event: message_start") {
		t.Fatalf("first line %q", line)
	}
	cancel()
	rec := sink.Next(t)
	if !rec.Partial || rec.ErrorClass != "client_disconnect" || rec.Input == nil || *rec.Input != 1200 || rec.Model != "claude-sonnet-4-5" {
		t.Errorf("record %+v", rec)
	}
}
