package proxy_test

import (
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/passthru/gateway/shared/auth"
	"github.com/passthru/gateway/shared/builtin"
	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/proxy"
	"github.com/passthru/gateway/shared/secrets"
	"github.com/passthru/gateway/shared/usage/usagetest"
)

// builtinGateway serves the built-in provider routes of cfg (YAML) with every provider's base
// URL at upURL, recording usage into the returned sink.
func builtinGateway(t *testing.T, cfg, upURL string) (*httptest.Server, *usagetest.Sink) {
	t.Helper()
	res := config.Parse([]byte(cfg))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	env := map[string]string{"ANTHROPIC_API_BASE": upURL, "OPENAI_API_BASE": upURL}
	table, _, err := builtin.NewTable(res.Config, builtin.Options{Env: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	sink := usagetest.NewSink()
	srv := httptest.NewServer(proxy.New(table, proxy.WithKeys(auth.NewMasterKey(masterKey)), proxy.WithSecrets(secrets.Inline{"ANTHROPIC_API_KEY": "ant", "OPENAI_API_KEY": "oai"}),
		proxy.WithUsage(sink), proxy.WithLogger(slog.New(slog.DiscardHandler))))
	t.Cleanup(srv.Close)
	return srv, sink
}

// TestProviderRouteGuardrails: general_settings.provider_route_guardrails attaches a guardrail to
// a built-in provider route (/anthropic here, with its fields); another provider's route runs none.
func TestProviderRouteGuardrails(t *testing.T) {
	up := startUpstream(t, jsonReply(200, `{"ok":true}`))
	srv, sink := builtinGateway(t, `
guardrails:
  - guardrail_name: pii
    litellm_params:
      guardrail: litellm_content_filter
      patterns: [{pattern_type: prebuilt, pattern_name: email, action: MASK}, {pattern_type: prebuilt, pattern_name: us_ssn, action: BLOCK}]
general_settings:
  master_key: sk-1234
  provider_route_guardrails:
    anthropic: {pii: {request_fields: ["messages[*].content"]}}
`, up.URL)
	hdr := map[string]string{"x-api-key": masterKey, "Authorization": "Bearer " + masterKey, "Content-Type": "application/json"}

	body := `{"model":"claude-x","messages":[{"role":"user","content":"mail a@b.io"}],"metadata":{"note":"c@d.io"}}`
	resp, got := do(t, "POST", srv.URL+"/anthropic/v1/messages", strings.NewReader(body), hdr)
	wantStatus(t, resp, got, 200)
	wantBody(t, up.last(t).Body, `{"model":"claude-x","messages":[{"role":"user","content":"mail [EMAIL_REDACTED]"}],"metadata":{"note":"c@d.io"}}`)
	wantGuardrails(t, sink.Next(t), "pii/pre_call/masked/sensitive content masked")

	resp, got = do(t, "POST", srv.URL+"/anthropic/v1/messages", strings.NewReader(`{"messages":[{"content":"078-05-1120"}]}`), hdr)
	wantStatus(t, resp, got, 400)
	sink.Next(t)

	resp, got = do(t, "POST", srv.URL+"/openai/v1/chat/completions", strings.NewReader(body), hdr)
	wantStatus(t, resp, got, 200)
	wantBody(t, up.last(t).Body, body)
	wantGuardrails(t, sink.Next(t))
}

// TestProviderRouteGuardrailStreaming: a built-in provider route's stream passes post_call
// guardrails unchecked (recorded skipped) unless general_settings.provider_route_guardrail_streaming
// lists the provider; then its events are checked as on an endpoint with guardrail_streaming.
func TestProviderRouteGuardrailStreaming(t *testing.T) {
	events := []string{"event: content_block_delta\ndata: {\"delta\":{\"text\":\"mail a@b.io\"}}\n\n", "data: {\"delta\":{\"text\":\"078-05-1120\"}}\n\n"}
	up := startUpstream(t, sseReply(events...))
	for _, tc := range []struct {
		setting, want string
		records       []string
	}{
		{"", strings.Join(events, ""), []string{"pii/post_call/skipped/streamed response (guardrail_streaming is off)"}},
		{"  provider_route_guardrail_streaming: [anthropic]\n",
			"event: content_block_delta\ndata: {\"delta\":{\"text\":\"mail [EMAIL_REDACTED]\"}}\n\n" +
				"event: error\ndata: {\"error\":{\"guardrail_name\":\"pii\",\"message\":\"Content blocked: us_ssn pattern detected\",\"type\":\"content_filter\"}}\n\n",
			[]string{"pii/post_call/masked/sensitive content masked", "pii/post_call/blocked/Content blocked: us_ssn pattern detected"}},
	} {
		srv, sink := builtinGateway(t, `
guardrails:
  - guardrail_name: pii
    litellm_params:
      guardrail: litellm_content_filter
      mode: post_call
      patterns: [{pattern_type: prebuilt, pattern_name: email, action: MASK}, {pattern_type: prebuilt, pattern_name: us_ssn, action: BLOCK}]
general_settings:
  master_key: sk-1234
  provider_route_guardrails:
    anthropic: {pii: {response_fields: ["delta.text"]}}
`+tc.setting, up.URL)
		resp, got := do(t, "POST", srv.URL+"/anthropic/v1/messages", strings.NewReader(`{"stream":true}`), map[string]string{"x-api-key": masterKey})
		wantStatus(t, resp, got, 200)
		wantBody(t, got, tc.want)
		wantGuardrails(t, sink.Next(t), tc.records...)
	}
}
