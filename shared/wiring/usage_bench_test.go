package wiring_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/passthru/gateway/shared/pricing"
	"github.com/passthru/gateway/shared/providers"
	"github.com/passthru/gateway/shared/proxy"
	"github.com/passthru/gateway/shared/usage"
	"github.com/passthru/gateway/shared/wiring"
)

// BenchmarkStreamMetering is one streamed OpenAI chat call (40 chunks and the usage chunk)
// through the proxy, with the usage tee (parsers, pricing, the EMF line) off and on: the
// difference is what metering costs a stream.
func BenchmarkStreamMetering(b *testing.B) {
	var events strings.Builder
	for i := range 40 {
		fmt.Fprintf(&events, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tok%d \"}}],\"usage\":null}\n\n", i)
	}
	events.WriteString("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini\",\"choices\":[],\"usage\":{\"prompt_tokens\":120,\"completion_tokens\":40,\"total_tokens\":160}}\n\ndata: [DONE]\n\n")
	body := events.String()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, body)
	}))
	defer up.Close()
	cfg := fmt.Sprintf("general_settings:\n  pass_through_endpoints:\n    - {path: /v1/chat/completions, target: %q, auth: false}\n", up.URL+"/v1/chat/completions")
	src, err := wiring.OpenSources(context.Background(), wiring.SourceOptions{ConfigYAML: cfg, Secrets: "inline", SecretsInline: "{}"}, quiet)
	if err != nil {
		b.Fatal(err)
	}
	off := proxy.New(src.Routes, proxy.WithKeys(src.Keys), proxy.WithSecrets(src.Secrets), proxy.WithLogger(quiet))
	on := proxy.New(src.Routes, proxy.WithKeys(src.Keys), proxy.WithSecrets(src.Secrets), proxy.WithLogger(quiet),
		proxy.WithMetering(func(u *url.URL, req []byte, status int, h http.Header) proxy.Meter {
			return providers.NewMeter(u, req, status, h)
		}),
		proxy.WithPricing(&pricing.Live{Routes: src.Routes, Base: pricing.Default()}),
		proxy.WithUsage(usage.NewEMF(io.Discard, "LLMGateway")))
	for _, tt := range []struct {
		name string
		h    http.Handler
	}{{"metering_off", off}, {"metering_on", on}} {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(`{"model":"gpt-4o-mini","stream":true}`))
				rec := httptest.NewRecorder()
				tt.h.ServeHTTP(rec, req)
				if rec.Code != 200 || rec.Body.Len() != len(body) {
					b.Fatalf("status %d, %d bytes", rec.Code, rec.Body.Len())
				}
			}
		})
	}
}
