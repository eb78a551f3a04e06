package wiring

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/passthru/gateway/shared/builtin"
	"github.com/passthru/gateway/shared/secrets"
)

// TestLoadChecksGuardrails: a guardrail whose parameters its checker refuses stops the load,
// naming the guardrail and the field.
func TestLoadChecksGuardrails(t *testing.T) {
	cfg := `
guardrails:
  - guardrail_name: bad-regex
    litellm_params:
      guardrail: litellm_content_filter
      patterns: [{pattern_type: regex, pattern: "(?<=x)y", action: BLOCK}]
  - guardrail_name: no-base
    litellm_params: {guardrail: generic_guardrail_api}
general_settings:
  master_key: sk-1
`
	_, _, err := LoadBytes(context.Background(), "cfg", []byte(cfg), secrets.Env{}, FailOnMissingSecrets, builtin.Options{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil {
		t.Fatal("loaded")
	}
	for _, want := range []string{`guardrail "bad-regex": patterns[0]: pattern: not a Go (RE2) regular expression`, `"no-base"`, "api_base"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
