package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/passthru/gateway/shared/lambdahttp"
	"github.com/passthru/gateway/shared/usage"
	"github.com/passthru/gateway/shared/wiring"
)

// settings are the function's environment variables (README: "Settings").
type settings struct {
	sources       wiring.SourceOptions
	usage         wiring.UsageOptions
	restMode      lambdahttp.Mode
	urlMode       lambdahttp.Mode
	basePath      string
	detailedDebug bool
	logFormat     string
}

func settingsFromEnv(getenv func(string) string) (settings, error) {
	s := settings{
		sources: wiring.SourceOptions{
			ConfigPath:     or(getenv("GATEWAY_CONFIG"), "config.yaml"),
			ConfigYAML:     getenv("GATEWAY_CONFIG_YAML"),
			RoutesPrefix:   getenv("GATEWAY_ROUTES_PREFIX"),
			Secrets:        or(getenv("GATEWAY_SECRETS"), "secretsmanager"),
			SecretsPrefix:  getenv("GATEWAY_SECRETS_PREFIX"),
			SecretsInline:  getenv("GATEWAY_SECRETS_INLINE"),
			MissingSecrets: wiring.WarnOnMissingSecrets,
			KeysTable:      getenv("GATEWAY_KEYS_TABLE"),
			RateLimitTable: getenv("GATEWAY_RATELIMIT_TABLE"),
		},
		usage: wiring.UsageOptions{
			FirehoseStream:   getenv("GATEWAY_USAGE_STREAM"),
			MetricsNamespace: or(getenv("GATEWAY_METRICS_NAMESPACE"), usage.DefaultMetricsNamespace),
			MetricModels:     wiring.SplitList(getenv("GATEWAY_METRICS_MODELS")),
			Stdout:           os.Stdout,
		},
		basePath:  getenv("GATEWAY_BASE_PATH"),
		logFormat: or(getenv("GATEWAY_LOG_FORMAT"), "json"),
	}
	if s.usage.MetricsNamespace == "off" {
		s.usage.MetricsNamespace = ""
	}
	var err error
	if s.restMode, err = lambdahttp.ParseMode(getenv("GATEWAY_REST_API_MODE")); err != nil {
		return s, fmt.Errorf("GATEWAY_REST_API_MODE: %w", err)
	}
	if s.urlMode, err = lambdahttp.ParseMode(getenv("GATEWAY_FUNCTION_URL_MODE")); err != nil {
		return s, fmt.Errorf("GATEWAY_FUNCTION_URL_MODE: %w", err)
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{
		{"GATEWAY_ROUTES_TTL", &s.sources.RoutesTTL},
		{"GATEWAY_SECRETS_TTL", &s.sources.SecretsTTL},
		{"GATEWAY_USAGE_FLUSH_TIMEOUT", &s.usage.FlushTimeout},
		{"GATEWAY_RATELIMIT_TIMEOUT", &s.sources.RateLimitTimeout},
		{"GATEWAY_AWS_TIMEOUT", &s.sources.AWSTimeout},
	} {
		if *d.dst, err = duration(getenv, d.name); err != nil {
			return s, err
		}
	}
	if v := getenv("GATEWAY_RATELIMIT_FAIL_OPEN"); v != "" {
		if s.sources.RateLimitFailOpen, err = strconv.ParseBool(v); err != nil {
			return s, fmt.Errorf("GATEWAY_RATELIMIT_FAIL_OPEN: %q is not true or false", v)
		}
	}
	switch v := getenv("GATEWAY_BEDROCK"); v {
	case "on":
		s.sources.Bedrock = true
	case "", "off": // the template sets it from EnableBedrock; without the role's grant, off
	default:
		return s, fmt.Errorf("GATEWAY_BEDROCK: %q is neither on nor off", v)
	}
	if v := getenv("GATEWAY_DETAILED_DEBUG"); v != "" {
		if s.detailedDebug, err = strconv.ParseBool(v); err != nil {
			return s, fmt.Errorf("GATEWAY_DETAILED_DEBUG: %q is not true or false", v)
		}
	}
	if s.logFormat != "json" && s.logFormat != "text" {
		return s, fmt.Errorf("GATEWAY_LOG_FORMAT: %q is neither json nor text", s.logFormat)
	}
	switch s.sources.Secrets {
	case "env", "secretsmanager", "inline":
	default:
		return s, fmt.Errorf("GATEWAY_SECRETS: %q is not env, secretsmanager or inline", s.sources.Secrets)
	}
	return s, nil
}

func duration(getenv func(string) string, name string) (time.Duration, error) {
	v := getenv(name)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s: %q is not a positive duration such as 30s or 5m", name, v)
	}
	return d, nil
}

func (s settings) adapter(log *slog.Logger) lambdahttp.Options {
	return lambdahttp.Options{RESTMode: s.restMode, FunctionURLMode: s.urlMode, BasePath: s.basePath, Logger: log}
}

// build opens the route, secret and key sources and the usage sinks, and assembles the Lambda
// adapter: the handler, with the usage flush after each response and each request stopped in
// time for that flush to finish before the invocation's deadline.
func build(ctx context.Context, s settings, log *slog.Logger) (*lambdahttp.Adapter, error) {
	src, err := wiring.OpenSources(ctx, s.sources, log)
	if err != nil {
		return nil, err
	}
	s.usage.Routes = src.Routes // model_prices overrides name priced models in the EMF too
	u, err := wiring.OpenUsage(ctx, s.usage, log)
	if err != nil {
		return nil, err
	}
	opts := s.adapter(log)
	opts.AfterResponse, opts.DeadlineReserve = wiring.AfterResponse(src, u), max(u.DeadlineReserve, minDeadlineReserve)
	return lambdahttp.New(wiring.NewHandler(src, u.Sink, log, s.detailedDebug), opts), nil
}

// minDeadlineReserve leaves time, even without a Firehose flush, for a request cut at the
// deadline to end its response with an error, for its EMF line to be written and for
// background refreshes to end (bounded by the deadline less a margin).
const minDeadlineReserve = 500 * time.Millisecond

func or(v, fallback string) string {
	if v != "" {
		return v
	}
	return fallback
}
