package main

import (
	"strings"
	"testing"
	"time"
)

// TestAWSTimeoutSettings: the bounds on AWS calls (README "Every AWS call").
func TestAWSTimeoutSettings(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	s, err := settingsFromEnv(env(nil))
	if err != nil || s.sources.RateLimitTimeout != 0 {
		t.Errorf("defaults: rate limit timeout %v (0 = the limiter's 1 s), %v", s.sources.RateLimitTimeout, err)
	}
	if err != nil || s.sources.AWSTimeout != 0 {
		t.Errorf("defaults: AWS timeout %v (0 = each source's 3 s), %v", s.sources.AWSTimeout, err)
	}
	s, err = settingsFromEnv(env(map[string]string{"GATEWAY_RATELIMIT_TIMEOUT": "250ms", "GATEWAY_AWS_TIMEOUT": "2s"}))
	if err != nil || s.sources.RateLimitTimeout != 250*time.Millisecond || s.sources.AWSTimeout != 2*time.Second {
		t.Errorf("GATEWAY_RATELIMIT_TIMEOUT=250ms GATEWAY_AWS_TIMEOUT=2s: %v, %v, %v", s.sources.RateLimitTimeout, s.sources.AWSTimeout, err)
	}
	for _, k := range []string{"GATEWAY_RATELIMIT_TIMEOUT", "GATEWAY_AWS_TIMEOUT"} {
		want := k + `: "0s" is not a positive duration such as 30s or 5m`
		if _, err := settingsFromEnv(env(map[string]string{k: "0s"})); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s=0s: %v, want %q", k, err, want)
		}
	}
}
