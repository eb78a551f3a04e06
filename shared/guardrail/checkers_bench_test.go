package guardrail

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The per-call cost of each remote checker against a mock on 127.0.0.1, beside a bare POST of
// a body of the same size to the same mock with a tuned client: the difference is what the
// checker adds (encoding, signing or secret lookup, decoding) over the loopback round trip
// itself. "in-memory" runs the same checker on a transport that answers without a network,
// which isolates that cost from the (noisy) loopback. Run:
// go test -run '^$' -bench 'Checker' -benchmem ./shared/guardrail

// benchTexts are two targeted fields, about 1 KB together.
var benchTexts = []string{strings.Repeat("What is the best way to rerank these documents? ", 16), "a short second field"}

// benchMock answers every request with reply after reading the body; it does no checking,
// so the checker and the baseline pay the same server cost.
func benchMock(b *testing.B, reply string) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, reply)
	}))
	b.Cleanup(s.Close)
	return s
}

func benchCheck(b *testing.B, c Checker) {
	in := Input{Source: Request, Texts: benchTexts, CallID: "call-1", KeyHash: "9f86d081884c7d65", Route: "/v1/rerank"}
	if v, err := c.Check(context.Background(), in); err != nil || v.Action != Allow {
		b.Fatalf("%+v, %v", v, err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Check(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
}

// benchBaseline POSTs size bytes to the mock and reads the answer: the loopback floor.
func benchBaseline(b *testing.B, url string, size int) {
	client := webhookClient(nil)
	body := bytes.Repeat([]byte("x"), size)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		resp, err := client.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// benchTransport answers every request with reply, without a network.
func benchTransport(reply string) *http.Client {
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		_, _ = io.Copy(io.Discard, r.Body)
		return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(reply)), ContentLength: int64(len(reply)), Request: r}, nil
	})}
}

func BenchmarkCheckerWebhook(b *testing.B) {
	s := benchMock(b, `{"action":"NONE"}`)
	b.Run("baseline-post", func(b *testing.B) { benchBaseline(b, s.URL, 1300) })
	b.Run("check", func(b *testing.B) {
		c, err := NewWebhook(webhookDef(map[string]any{"api_base": s.URL, "headers": map[string]any{"x-api-key": "os.environ/GUARD_KEY"},
			"additional_provider_specific_params": map[string]any{"threshold": 0.8}}), Deps{Secrets: webhookSecrets})
		if err != nil {
			b.Fatal(err)
		}
		benchCheck(b, c)
	})
	b.Run("in-memory", func(b *testing.B) {
		c, err := NewWebhook(webhookDef(map[string]any{"api_base": "http://guard.invalid", "headers": map[string]any{"x-api-key": "os.environ/GUARD_KEY"},
			"additional_provider_specific_params": map[string]any{"threshold": 0.8}}), Deps{Secrets: webhookSecrets, HTTP: benchTransport(`{"action":"NONE"}`)})
		if err != nil {
			b.Fatal(err)
		}
		benchCheck(b, c)
	})
}
