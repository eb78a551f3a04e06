// Package wiring assembles the gateway from its settings: it opens the sources (routes, secrets,
// keys, usage sinks), builds the proxy handler and schedules the after-response work. It is the
// part of every entry point (local server, Lambda function, gatewayctl) that is the same everywhere.
package wiring

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/passthru/gateway/shared/auth"
	"github.com/passthru/gateway/shared/builtin"
	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/guardrail"
	"github.com/passthru/gateway/shared/keys"
	"github.com/passthru/gateway/shared/proxy"
	"github.com/passthru/gateway/shared/route"
	"github.com/passthru/gateway/shared/secrets"
)

// MissingSecrets says what loading does about os.environ/ references that cannot be resolved.
type MissingSecrets int

const (
	// FailOnMissingSecrets stops the load: locally, fix it before serving.
	FailOnMissingSecrets MissingSecrets = iota
	// WarnOnMissingSecrets logs them and serves: on Lambda the other routes keep working and the
	// affected route answers 503 naming the secret.
	WarnOnMissingSecrets
)

// Load reads, validates and compiles a config file, logging its warnings. Every os.environ/
// reference is resolved once through res, so a missing secret is reported here, by name,
// instead of on the first request.
func Load(ctx context.Context, path string, res secrets.Resolver, missing MissingSecrets, b builtin.Options, log *slog.Logger) (*config.Config, *route.Table, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read config: %w", err)
	}
	return LoadBytes(ctx, path, data, res, missing, b, log)
}

// LoadBytes is Load for a config already in memory; name says where it came from in messages.
func LoadBytes(ctx context.Context, name string, data []byte, res secrets.Resolver, missing MissingSecrets, b builtin.Options, log *slog.Logger) (*config.Config, *route.Table, error) {
	path := name
	result := config.Parse(data)
	for _, w := range result.Warnings {
		log.Warn(w)
	}
	if result.Err != nil {
		return nil, nil, fmt.Errorf("%s:\n%w", path, result.Err)
	}
	cfg := result.Config
	if err := cfg.CheckSecrets(ctx, res); err != nil {
		if missing == FailOnMissingSecrets {
			return nil, nil, fmt.Errorf("%s: unresolved secrets:\n%w", path, err)
		}
		log.Warn("unresolved secrets: the routes using them answer 503 until they are set", "error", err.Error())
	}
	if err := CheckGuardrails(cfg, res); err != nil {
		return nil, nil, fmt.Errorf("%s:\n%w", path, err)
	}
	table, notes, err := builtin.NewTable(cfg, b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, n := range notes {
		log.Info("built-in provider routes: " + n)
	}
	return cfg, table, nil
}

// MasterKey resolves general_settings.master_key into a verifier. Without a master key every
// keyed route answers 401 (LiteLLM would accept any request; a gateway holding provider
// credentials should not), and a warning says so.
func MasterKey(ctx context.Context, cfg *config.Config, res secrets.Resolver, log *slog.Logger) (auth.MasterKey, error) {
	if cfg.MasterKey == "" {
		warnNoMasterKey(cfg, log)
		return auth.NewMasterKey(""), nil
	}
	key, err := keys.RenderMaster(ctx, cfg.MasterKey, res)
	if err != nil {
		return auth.MasterKey{}, fmt.Errorf("general_settings.master_key: %w", err)
	}
	return auth.NewMasterKey(key), nil
}

// warnNoMasterKey warns, without a master key, when some route needs a key.
func warnNoMasterKey(cfg *config.Config, log *slog.Logger) {
	if cfg.MasterKey == "" && needsKey(cfg) {
		log.Warn("general_settings.master_key is not set: endpoints and built-in provider routes that need a key will answer 401")
	}
}

// needsKey reports whether some route takes a key: a configured endpoint that is not public, or
// a built-in provider route that is not turned off (those always take one).
func needsKey(cfg *config.Config) bool {
	for _, e := range cfg.Endpoints {
		if e.Auth != config.AuthPublic {
			return true
		}
	}
	for _, name := range builtin.Names() {
		if !builtin.Disabled(cfg.DisabledProviderRoutes, name) {
			return true
		}
	}
	return false
}

// NewLogger returns the gateway's structured logger: JSON (for CloudWatch) or text.
func NewLogger(w io.Writer, format string, debug bool) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if debug {
		opts.Level = slog.LevelDebug
	}
	if strings.EqualFold(format, "json") {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// LogRoutes logs one line per served route: the configured ones, then the built-in provider
// routes, which name their provider.
func LogRoutes(log *slog.Logger, t *route.Table) {
	for _, r := range t.Routes() {
		path := r.Path
		if r.IncludeSubpath {
			path = strings.TrimSuffix(path, "/") + "/**"
		}
		if r.Builtin != nil {
			log.Info("built-in route", "path", path, "provider", r.Provider, "target", r.RedactedTarget(), "auth", r.Auth.String())
			continue
		}
		log.Info("route", "path", path, "methods", strings.Join(r.Methods, ","), "target", r.RedactedTarget(), "auth", r.Auth.String())
	}
	if t.CORS != nil {
		log.Info("cors", "allow_origins", strings.Join(t.CORS.AllowOrigins, ","), "max_age", t.CORS.MaxAge.String())
	}
}

var _ proxy.RouteSource = (*route.Table)(nil)

// CheckGuardrails builds every defined guardrail once, so a bad parameter (a regexp RE2 does not
// accept, a missing api_base, an unreadable blocked_words_file) stops the load with its name
// instead of failing the calls that use it, and so does a provider_route_guardrails key that is
// no built-in provider. Building calls nothing remote.
func CheckGuardrails(cfg *config.Config, res secrets.Resolver) error {
	var errs []error
	if err := builtin.CheckProviderRouteGuardrails(cfg.ProviderRouteGuardrails, cfg.ProviderRouteGuardrailStreaming); err != nil {
		errs = append(errs, err)
	}
	for _, d := range cfg.Guardrails {
		_, err := guardrail.New(guardrail.Def{Name: d.Name, Kind: d.Kind, Modes: d.Modes, DefaultOn: d.DefaultOn, Params: d.Params},
			guardrail.Deps{Secrets: res})
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
