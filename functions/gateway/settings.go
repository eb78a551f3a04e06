package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/gateway"
	"github.com/passthru/gateway/shared/lambdahttp"
	"github.com/passthru/gateway/shared/proxy"
	"github.com/passthru/gateway/shared/route"
	"github.com/passthru/gateway/shared/secrets"
)

// settings are the function's environment variables (README: "Lambda settings").
type settings struct {
	configPath    string // GATEWAY_CONFIG
	configYAML    string // GATEWAY_CONFIG_YAML
	restMode      lambdahttp.Mode
	urlMode       lambdahttp.Mode
	basePath      string
	detailedDebug bool
	logFormat     string
}

func settingsFromEnv(getenv func(string) string) (settings, error) {
	s := settings{
		configPath: or(getenv("GATEWAY_CONFIG"), "config.yaml"),
		configYAML: getenv("GATEWAY_CONFIG_YAML"),
		basePath:   getenv("GATEWAY_BASE_PATH"),
		logFormat:  or(getenv("GATEWAY_LOG_FORMAT"), "json"),
	}
	var err error
	if s.restMode, err = lambdahttp.ParseMode(getenv("GATEWAY_REST_API_MODE")); err != nil {
		return s, fmt.Errorf("GATEWAY_REST_API_MODE: %w", err)
	}
	if s.urlMode, err = lambdahttp.ParseMode(getenv("GATEWAY_FUNCTION_URL_MODE")); err != nil {
		return s, fmt.Errorf("GATEWAY_FUNCTION_URL_MODE: %w", err)
	}
	if v := getenv("GATEWAY_DETAILED_DEBUG"); v != "" {
		if s.detailedDebug, err = strconv.ParseBool(v); err != nil {
			return s, fmt.Errorf("GATEWAY_DETAILED_DEBUG: %q is not true or false", v)
		}
	}
	if s.logFormat != "json" && s.logFormat != "text" {
		return s, fmt.Errorf("GATEWAY_LOG_FORMAT: %q is neither json nor text", s.logFormat)
	}
	return s, nil
}

func (s settings) adapter(log *slog.Logger) lambdahttp.Options {
	return lambdahttp.Options{RESTMode: s.restMode, FunctionURLMode: s.urlMode, BasePath: s.basePath, Logger: log}
}

// build loads the routes (inline YAML wins over the bundled file) and assembles the handler.
func build(ctx context.Context, s settings, log *slog.Logger) (http.Handler, error) {
	res := secrets.Env{}
	var (
		cfg   *config.Config
		table *route.Table
		err   error
	)
	if s.configYAML != "" {
		cfg, table, err = gateway.LoadBytes(ctx, "GATEWAY_CONFIG_YAML", []byte(s.configYAML), res, gateway.WarnOnMissingSecrets, log)
	} else {
		cfg, table, err = gateway.Load(ctx, s.configPath, res, gateway.WarnOnMissingSecrets, log)
	}
	if err != nil {
		return nil, err
	}
	keys, err := gateway.MasterKey(ctx, cfg, res, log)
	if err != nil {
		return nil, err
	}
	gateway.LogRoutes(log, table)
	return proxy.New(table, proxy.WithKeys(keys), proxy.WithSecrets(res), proxy.WithLogger(log),
		proxy.WithDetailedDebug(s.detailedDebug)), nil
}

func or(v, fallback string) string {
	if v != "" {
		return v
	}
	return fallback
}
