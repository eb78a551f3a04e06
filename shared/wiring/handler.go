package wiring

import (
	"log/slog"
	"net/http"
	"net/url"

	"github.com/passthru/gateway/shared/pricing"
	"github.com/passthru/gateway/shared/providers"
	"github.com/passthru/gateway/shared/proxy"
	"github.com/passthru/gateway/shared/usage"
)

// NewHandler assembles the proxy every entry point serves: the sources, usage metering with
// the provider parsers, pricing with the embedded table and the config's overrides, and the
// usage sink.
func NewHandler(src Sources, sink usage.Sink, log *slog.Logger, detailedDebug bool) *proxy.Handler {
	return proxy.New(src.Routes,
		proxy.WithKeys(src.Keys),
		proxy.WithSecrets(src.Secrets),
		proxy.WithUsage(sink),
		proxy.WithMetering(meter),
		proxy.WithPricing(&pricing.Live{Routes: src.Routes, Base: pricing.Default()}),
		proxy.WithRateLimiter(src.Limiter, src.FailOpen),
		proxy.WithLogger(log),
		proxy.WithDetailedDebug(detailedDebug))
}

func meter(upstream *url.URL, request []byte, status int, header http.Header) proxy.Meter {
	return providers.NewMeter(upstream, request, status, header)
}
