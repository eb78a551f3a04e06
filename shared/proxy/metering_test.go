package proxy_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/passthru/gateway/shared/proxy"
	"github.com/passthru/gateway/shared/usage"
)

// fakeMeter records what it is fed and reports tokens once it has seen a "usage" object.
type fakeMeter struct {
	mu      sync.Mutex
	request string
	fed     bytes.Buffer
}

func (m *fakeMeter) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.fed.Write(p)
}

func (m *fakeMeter) Tokens() usage.Tokens {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !bytes.Contains(m.fed.Bytes(), []byte(`"usage"`)) {
		return usage.Tokens{Provider: "openai", Model: "gpt-test"}
	}
	in, out := int64(8), int64(2)
	return usage.Tokens{Provider: "openai", Model: "gpt-test", Input: &in, Output: &out}
}

type fixedPricer float64

func (p fixedPricer) Cost(t usage.Tokens) (float64, bool) {
	if t.Model != "gpt-test" || t.Input == nil {
		return 0, false
	}
	return float64(p), true
}

func metering(meters *[]*fakeMeter, mu *sync.Mutex) proxy.Option {
	return proxy.WithMetering(func(u *url.URL, req []byte, status int, h http.Header) proxy.Meter {
		m := &fakeMeter{request: string(req)}
		mu.Lock()
		*meters = append(*meters, m)
		mu.Unlock()
		return m
	})
}

const meteredConfig = `
general_settings:
  master_key: sk-1234
  pass_through_endpoints:
    - {path: /chat, target: "{{UP}}/chat", auth: false, tags: [team-a]}
    - {path: /inject, target: "{{UP}}/chat", auth: false, include_cost_in_streaming_usage: true}
    - {path: /flat, target: "{{UP}}/chat", auth: false, cost_per_request: 0.01}
`

var chatStream = []string{
	"data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"delta\":{\"content\":\"Hi\"}}],\"usage\":null}\n\n",
	"data: {\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":8,\"completion_tokens\":2,\"total_tokens\":10}}\n\n",
	"data: [DONE]\n\n",
}

func streamChat(costHeader string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		if costHeader != "" {
			w.Header().Set("X-Litellm-Response-Cost", costHeader)
		}
		for _, e := range chatStream {
			_, _ = io.WriteString(w, e)
			w.(http.Flusher).Flush()
		}
	}
}

// The meter sees every byte the client got and the request's first bytes; the record carries
// its tokens, the route's tags before the caller's, and the computed cost.
func TestMeteredRecord(t *testing.T) {
	var meters []*fakeMeter
	var mu sync.Mutex
	up := startUpstream(t, streamChat(""))
	g := startGateway(t, meteredConfig, up.URL, metering(&meters, &mu), proxy.WithPricing(fixedPricer(0.25)))
	body := `{"model":"gpt-test","stream":true}`
	resp, got := do(t, "POST", g.URL+"/chat", strings.NewReader(body), map[string]string{"X-Litellm-Tags": "caller"})
	wantStatus(t, resp, got, 200)
	wantBody(t, got, strings.Join(chatStream, ""))
	rec := g.usage.Next(t)
	if len(meters) != 1 || meters[0].fed.String() != string(got) || meters[0].request != body {
		t.Fatalf("meter fed %q, request %q", meters[0].fed.String(), meters[0].request)
	}
	if rec.SchemaVersion != 1 || rec.Provider != "openai" || rec.Model != "gpt-test" || *rec.Input != 8 || *rec.Output != 2 ||
		rec.CostUSD == nil || *rec.CostUSD != 0.25 || rec.CostSource != usage.CostComputed || rec.CostUnknown ||
		fmt.Sprint(rec.Tags) != "[team-a caller]" {
		t.Errorf("record %+v", rec)
	}
}

// Where the cost comes from, most authoritative first; unknown is null and flagged, never 0.
func TestCostSources(t *testing.T) {
	var meters []*fakeMeter
	var mu sync.Mutex
	tests := []struct {
		name, path, header, model string
		pricer                    proxy.Pricer
		cost                      *float64
		source                    string
		unknown                   bool
	}{
		{"upstream header wins", "/flat", "0.125", "gpt-test", fixedPricer(0.25), ptr(0.125), usage.CostFromUpstream, false},
		{"cost_per_request beats computed", "/flat", "", "gpt-test", fixedPricer(0.25), ptr(0.01), usage.CostFromCostPerRequest, false},
		{"computed", "/chat", "", "gpt-test", fixedPricer(0.25), ptr(0.25), usage.CostComputed, false},
		{"unknown model: null, flagged", "/chat", "", "other", fixedPricer(0.25), nil, "", true},
		{"malformed header ignored", "/chat", "-1", "gpt-test", fixedPricer(0.25), ptr(0.25), usage.CostComputed, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := startUpstream(t, streamChat(tt.header))
			var p proxy.Pricer = tt.pricer
			if tt.model != "gpt-test" {
				p = modelPricer{}
			}
			g := startGateway(t, meteredConfig, up.URL, metering(&meters, &mu), proxy.WithPricing(p))
			resp, got := do(t, "POST", g.URL+tt.path, strings.NewReader(`{}`), nil)
			wantStatus(t, resp, got, 200)
			rec := g.usage.Next(t)
			if (rec.CostUSD == nil) != (tt.cost == nil) || (tt.cost != nil && *rec.CostUSD != *tt.cost) ||
				rec.CostSource != tt.source || rec.CostUnknown != tt.unknown {
				t.Errorf("cost %v source %q unknown %v; want %v %q %v", deref(rec.CostUSD), rec.CostSource, rec.CostUnknown, deref(tt.cost), tt.source, tt.unknown)
			}
		})
	}
}

type modelPricer struct{}

func (modelPricer) Cost(usage.Tokens) (float64, bool) { return 0, false }

func ptr(f float64) *float64 { return &f }

func deref(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

// Calls the gateway answers itself cost nothing; an upstream refusal costs nothing either.
func TestCostOfRefusedCalls(t *testing.T) {
	up := startUpstream(t, jsonReply(403, `{"error":"no"}`))
	g := startGateway(t, cohereConfig, up.URL, proxy.WithPricing(fixedPricer(1)))
	for _, tt := range []struct {
		header map[string]string
		source string
	}{
		{nil, usage.CostNoUpstreamCall}, // 401 at the gateway
		{map[string]string{"Authorization": "Bearer " + masterKey}, usage.CostUpstreamError}, // 403 upstream
	} {
		resp, body := do(t, "POST", g.URL+"/v1/rerank", strings.NewReader(`{}`), tt.header)
		_ = body
		rec := g.usage.Next(t)
		if rec.CostUSD == nil || *rec.CostUSD != 0 || rec.CostSource != tt.source || rec.CostUnknown || rec.Status != resp.StatusCode {
			t.Errorf("status %d: cost %v %q unknown %v", resp.StatusCode, deref(rec.CostUSD), rec.CostSource, rec.CostUnknown)
		}
	}
}

// include_cost_in_streaming_usage adds the cost to the final usage chunk only; every other byte
// is unchanged and events still leave one by one.
func TestCostInjection(t *testing.T) {
	var meters []*fakeMeter
	var mu sync.Mutex
	up := startUpstream(t, streamChat(""))
	g := startGateway(t, meteredConfig, up.URL, metering(&meters, &mu), proxy.WithPricing(fixedPricer(0.000123)))
	resp, got := do(t, "POST", g.URL+"/inject", strings.NewReader(`{}`), nil)
	wantStatus(t, resp, got, 200)
	want := chatStream[0] +
		"data: {\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"completion_tokens\":2,\"cost\":0.000123,\"prompt_tokens\":8,\"total_tokens\":10}}\n\n" +
		chatStream[2]
	wantBody(t, got, want)
	if rec := g.usage.Next(t); rec.CostUSD == nil || *rec.CostUSD != 0.000123 {
		t.Errorf("record cost %v", deref(rec.CostUSD))
	}
	// Without the opt-in the same stream is relayed byte for byte.
	resp, got = do(t, "POST", g.URL+"/chat", strings.NewReader(`{}`), nil)
	wantBody(t, got, strings.Join(chatStream, ""))
}
