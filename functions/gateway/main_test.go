package main

import (
	"strings"
	"testing"

	"github.com/passthru/gateway/shared/lambdahttp"
)

func TestSettingsFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	s, err := settingsFromEnv(env(nil))
	if err != nil || s.configPath != "config.yaml" || s.restMode != lambdahttp.Stream || s.urlMode != lambdahttp.Stream ||
		s.logFormat != "json" || s.detailedDebug {
		t.Errorf("defaults = %+v, %v", s, err)
	}
	s, err = settingsFromEnv(env(map[string]string{"GATEWAY_REST_API_MODE": "buffered", "GATEWAY_FUNCTION_URL_MODE": "BUFFERED",
		"GATEWAY_DETAILED_DEBUG": "true", "GATEWAY_BASE_PATH": "/api", "GATEWAY_CONFIG": "/var/task/c.yaml"}))
	if err != nil || s.restMode != lambdahttp.Buffered || s.urlMode != lambdahttp.Buffered || !s.detailedDebug ||
		s.basePath != "/api" || s.configPath != "/var/task/c.yaml" {
		t.Errorf("settings = %+v, %v", s, err)
	}
	for k, want := range map[string]string{
		"GATEWAY_REST_API_MODE":     `GATEWAY_REST_API_MODE: response mode "STREAMING" is neither stream nor buffered`,
		"GATEWAY_FUNCTION_URL_MODE": `GATEWAY_FUNCTION_URL_MODE: response mode "STREAMING" is neither stream nor buffered`,
		"GATEWAY_DETAILED_DEBUG":    `GATEWAY_DETAILED_DEBUG: "STREAMING" is not true or false`,
		"GATEWAY_LOG_FORMAT":        `GATEWAY_LOG_FORMAT: "STREAMING" is neither json nor text`,
	} {
		if _, err := settingsFromEnv(env(map[string]string{k: "STREAMING"})); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s=STREAMING: %v, want %q", k, err, want)
		}
	}
}
