package proxy_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passthru/gateway/shared/proxy"
	"github.com/passthru/gateway/shared/usage"
)

// recordCost is the part of a record that says what a call cost and why it failed.
type recordCost struct {
	Status     int
	Class      string
	Cost       any // nil: unknown
	Source     string
	Unknown    bool
	BytesOut   int64
	SourceIP   string
	UpstreamOK bool // the record names the upstream host
}

func costOf(rec usage.Record) recordCost {
	return recordCost{rec.Status, rec.ErrorClass, deref(rec.CostUSD), rec.CostSource, rec.CostUnknown, rec.BytesOut, rec.SourceIP, rec.UpstreamHost != ""}
}

// A call the upstream received but never answered may still be billed: its cost is unknown
// (null, flagged), never 0; one that never reached the upstream cost nothing. Gateway error
// bodies count in bytes_out.
func TestCostOfUnansweredCalls(t *testing.T) {
	received := make(chan struct{}, 4)
	up := startUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		received <- struct{}{}
		switch r.URL.Path {
		case "/silent": // never answers
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		case "/hangup": // reads the call, then closes without a response
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
			}
		}
	})
	g := startGateway(t, fmt.Sprintf(streamConfig, "0.3"), up.URL, proxy.WithPricing(fixedPricer(1)))
	key := map[string]string{"X-Api-Key": masterKey}

	timeout := errorJSON("504", "timeout_error", "Upstream did not respond within the 300ms timeout.")
	resp, body := do(t, "POST", g.URL+"/anthropic/silent", strings.NewReader(`{}`), key)
	wantStatus(t, resp, body, 504)
	wantBody(t, body, timeout)
	want := recordCost{504, "upstream_no_answer", nil, "", true, int64(len(timeout)), "127.0.0.1", true}
	if got := costOf(g.usage.Next(t)); got != want {
		t.Errorf("idle timeout: record %+v, want %+v", got, want)
	}

	closed := errorJSON("502", "upstream_error", "Upstream request failed: the upstream closed the connection before responding.")
	resp, body = do(t, "POST", g.URL+"/anthropic/hangup", strings.NewReader(`{}`), key)
	wantStatus(t, resp, body, 502)
	wantBody(t, body, closed)
	want = recordCost{502, "upstream_no_answer", nil, "", true, int64(len(closed)), "127.0.0.1", true}
	if got := costOf(g.usage.Next(t)); got != want {
		t.Errorf("closed before responding: record %+v, want %+v", got, want)
	}

	// The caller leaves once the upstream has the call, before any response header: 499.
	for len(received) > 0 {
		<-received
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-received:
		case <-time.After(5 * time.Second):
		}
		cancel()
	}()
	req, _ := http.NewRequestWithContext(ctx, "POST", g.URL+"/anthropic/silent", strings.NewReader(`{}`))
	req.Header.Set("X-Api-Key", masterKey)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("client got %d, want its own cancellation", resp.StatusCode)
	} else if !errors.Is(err, context.Canceled) {
		t.Fatalf("client error %v", err)
	}
	want = recordCost{499, "client_disconnect", nil, "", true, 0, "127.0.0.1", true}
	if got := costOf(g.usage.Next(t)); got != want {
		t.Errorf("caller gone before headers: record %+v, want %+v", got, want)
	}
}

// A refused connection never reached the upstream: it cost nothing, as a gateway refusal.
func TestCostOfUnreachableUpstream(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close()
	g := startGateway(t, fmt.Sprintf(streamConfig, "5"), dead, proxy.WithPricing(fixedPricer(1)))
	resp, body := do(t, "POST", g.URL+"/anthropic/v1/messages", strings.NewReader(`{"model":"m"}`), map[string]string{"X-Api-Key": masterKey})
	want := errorJSON("502", "upstream_error", "Upstream request failed: connection refused.")
	wantStatus(t, resp, body, 502)
	wantBody(t, body, want)
	rec := g.usage.Next(t)
	if got, w := costOf(rec), (recordCost{502, "upstream_connect", 0.0, usage.CostNoUpstreamCall, false, int64(len(want)), "127.0.0.1", true}); got != w {
		t.Errorf("record %+v, want %+v", got, w)
	}
	if rec.BytesIn != 0 { // the transport never read the body: nothing went anywhere
		t.Errorf("bytes_in = %d, want 0", rec.BytesIn)
	}
}

// A request the gateway refuses still counts what it received (bytes_in) and what it answered
// (bytes_out); the source IP is the front door's when an entry point supplies it.
func TestRefusedRequestSizesAndSourceIP(t *testing.T) {
	up := startUpstream(t, jsonReply(200, `{}`))
	withInfo := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			info := proxy.RequestInfo{RequestID: "req-1", SourceIP: "203.0.113.7"}
			next.ServeHTTP(w, r.WithContext(proxy.WithRequestInfo(r.Context(), info)))
		})
	}
	g := startWrappedGateway(t, cohereConfig, up.URL, withInfo)
	reqBody := strings.Repeat("x", 3000)
	tests := []struct {
		name, path string
		header     map[string]string
		status     int
		wantBody   string
		wantIn     int64
	}{
		{"no key", "/v1/rerank", nil, 401, "", int64(len(reqBody))},
		{"no route", "/nowhere", nil, 404, errorJSON("404", "not_found_error", "Pass-through endpoint /nowhere not found."), int64(len(reqBody))},
		{"waits for 100-continue: nothing asked", "/v1/rerank", map[string]string{"Expect": "100-continue"}, 401, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, "POST", g.URL+tt.path, strings.NewReader(reqBody), tt.header)
			wantStatus(t, resp, body, tt.status)
			if tt.wantBody != "" {
				wantBody(t, body, tt.wantBody)
			}
			rec := g.usage.Next(t)
			if rec.BytesOut != int64(len(body)) || rec.BytesIn != tt.wantIn || rec.SourceIP != "203.0.113.7" || rec.RequestID != "req-1" {
				t.Errorf("bytes_in %d bytes_out %d source_ip %q request_id %q; want %d %d 203.0.113.7 req-1",
					rec.BytesIn, rec.BytesOut, rec.SourceIP, rec.RequestID, tt.wantIn, len(body))
			}
		})
	}
	if up.count() != 0 {
		t.Errorf("upstream called %d times", up.count())
	}
}

// An endpoint's provider: names the provider in its records over what the meter detected; an
// endpoint without one keeps the meter's.
func TestRecordProviderFromRoute(t *testing.T) {
	const cfg = `
general_settings:
  pass_through_endpoints:
    - {path: /groq, target: "{{UP}}/chat", auth: false, provider: groq}
    - {path: /chat, target: "{{UP}}/chat", auth: false}
`
	var meters []*fakeMeter
	var mu sync.Mutex
	up := startUpstream(t, streamChat(""))
	g := startGateway(t, cfg, up.URL, metering(&meters, &mu))
	for _, tt := range []struct{ path, want string }{{"/groq", "groq"}, {"/chat", "openai"}} {
		resp, body := do(t, "POST", g.URL+tt.path, strings.NewReader(`{}`), nil)
		wantStatus(t, resp, body, 200)
		if rec := g.usage.Next(t); rec.Provider != tt.want || rec.Model != "gpt-test" {
			t.Errorf("%s: provider %q model %q, want %q gpt-test", tt.path, rec.Provider, rec.Model, tt.want)
		}
	}
}
