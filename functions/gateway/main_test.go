package main

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/passthru/gateway/shared/lambdahttp"
)

func TestSettingsFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	s, err := settingsFromEnv(env(nil))
	if err != nil || s.sources.ConfigPath != "config.yaml" || s.sources.Secrets != "secretsmanager" || s.sources.RoutesPrefix != "" ||
		s.restMode != lambdahttp.Stream || s.urlMode != lambdahttp.Stream || s.logFormat != "json" || s.detailedDebug {
		t.Errorf("defaults = %+v, %v", s, err)
	}
	s, err = settingsFromEnv(env(map[string]string{"GATEWAY_REST_API_MODE": "buffered", "GATEWAY_FUNCTION_URL_MODE": "BUFFERED",
		"GATEWAY_DETAILED_DEBUG": "true", "GATEWAY_BASE_PATH": "/api", "GATEWAY_CONFIG": "/var/task/c.yaml",
		"GATEWAY_ROUTES_PREFIX": "/gw", "GATEWAY_ROUTES_TTL": "10s", "GATEWAY_SECRETS": "env", "GATEWAY_SECRETS_PREFIX": "gw/",
		"GATEWAY_SECRETS_TTL": "1m"}))
	if err != nil || s.restMode != lambdahttp.Buffered || s.urlMode != lambdahttp.Buffered || !s.detailedDebug ||
		s.basePath != "/api" || s.sources.ConfigPath != "/var/task/c.yaml" || s.sources.RoutesPrefix != "/gw" ||
		s.sources.RoutesTTL != 10*time.Second || s.sources.Secrets != "env" || s.sources.SecretsPrefix != "gw/" ||
		s.sources.SecretsTTL != time.Minute {
		t.Errorf("settings = %+v, %v", s, err)
	}
	s, _ = settingsFromEnv(env(map[string]string{"GATEWAY_USAGE_STREAM": "gw-usage", "GATEWAY_METRICS_NAMESPACE": "Team/Gateway",
		"GATEWAY_USAGE_FLUSH_TIMEOUT": "300ms"}))
	if s.usage.FirehoseStream != "gw-usage" || s.usage.MetricsNamespace != "Team/Gateway" || s.usage.Stdout == nil ||
		s.usage.FlushTimeout != 300*time.Millisecond {
		t.Errorf("usage settings = %+v", s.usage)
	}
	if s, _ = settingsFromEnv(env(map[string]string{"GATEWAY_METRICS_MODELS": " my-finetune,, team/model-x "})); !reflect.DeepEqual(s.usage.MetricModels, []string{"my-finetune", "team/model-x"}) {
		t.Errorf("GATEWAY_METRICS_MODELS: MetricModels = %q", s.usage.MetricModels)
	}
	if s, _ = settingsFromEnv(env(nil)); s.usage.MetricModels != nil {
		t.Errorf("no GATEWAY_METRICS_MODELS: MetricModels = %q, want none", s.usage.MetricModels)
	}
	if s, _ = settingsFromEnv(env(map[string]string{"GATEWAY_METRICS_NAMESPACE": "off"})); s.usage.MetricsNamespace != "" {
		t.Errorf("GATEWAY_METRICS_NAMESPACE=off left %q", s.usage.MetricsNamespace)
	}
	if s, _ = settingsFromEnv(env(nil)); s.usage.MetricsNamespace != "LLMGateway" || s.usage.FirehoseStream != "" {
		t.Errorf("default usage settings = %+v", s.usage)
	}
	for k, want := range map[string]string{
		"GATEWAY_REST_API_MODE":       `GATEWAY_REST_API_MODE: response mode "STREAMING" is neither stream nor buffered`,
		"GATEWAY_FUNCTION_URL_MODE":   `GATEWAY_FUNCTION_URL_MODE: response mode "STREAMING" is neither stream nor buffered`,
		"GATEWAY_DETAILED_DEBUG":      `GATEWAY_DETAILED_DEBUG: "STREAMING" is not true or false`,
		"GATEWAY_LOG_FORMAT":          `GATEWAY_LOG_FORMAT: "STREAMING" is neither json nor text`,
		"GATEWAY_SECRETS":             `GATEWAY_SECRETS: "STREAMING" is not env, secretsmanager or inline`,
		"GATEWAY_ROUTES_TTL":          `GATEWAY_ROUTES_TTL: "STREAMING" is not a positive duration such as 30s or 5m`,
		"GATEWAY_SECRETS_TTL":         `GATEWAY_SECRETS_TTL: "STREAMING" is not a positive duration such as 30s or 5m`,
		"GATEWAY_USAGE_FLUSH_TIMEOUT": `GATEWAY_USAGE_FLUSH_TIMEOUT: "STREAMING" is not a positive duration such as 30s or 5m`,
		"GATEWAY_BEDROCK":             `GATEWAY_BEDROCK: "STREAMING" is neither on nor off`,
	} {
		if _, err := settingsFromEnv(env(map[string]string{k: "STREAMING"})); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s=STREAMING: %v, want %q", k, err, want)
		}
	}
}

// GATEWAY_BEDROCK=on (the template's EnableBedrock) turns /bedrock on; unset or off, it is off.
func TestSettingsBedrock(t *testing.T) {
	for v, want := range map[string]bool{"on": true, "off": false, "": false} {
		s, err := settingsFromEnv(func(k string) string { return map[string]string{"GATEWAY_BEDROCK": v}[k] })
		if err != nil || s.sources.Bedrock != want {
			t.Errorf("GATEWAY_BEDROCK=%q: Bedrock %v, %v; want %v", v, s.sources.Bedrock, err, want)
		}
	}
}
