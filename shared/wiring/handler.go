package wiring

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/passthru/gateway/shared/guardrail"
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
		proxy.WithGuardrails(guardrail.Deps{Secrets: src.Secrets, AWS: awsLoader(src.AWS, log)}),
		proxy.WithDetailedDebug(detailedDebug))
}

// awsLoader is load, or the standard chain loaded once on first use (only a Bedrock guardrail
// needs it; a failed load is tried again on the next call).
func awsLoader(load func(context.Context) (aws.Config, error), log *slog.Logger) func(context.Context) (aws.Config, error) {
	if load != nil {
		return load
	}
	var (
		mu  sync.Mutex
		cfg *aws.Config
	)
	return func(ctx context.Context) (aws.Config, error) {
		mu.Lock()
		defer mu.Unlock()
		if cfg != nil {
			return *cfg, nil
		}
		c, err := LoadAWS(ctx, log)
		if err != nil {
			return c, err
		}
		cfg = &c
		return c, nil
	}
}

func meter(upstream *url.URL, request []byte, status int, header http.Header) proxy.Meter {
	return providers.NewMeter(upstream, request, status, header)
}
