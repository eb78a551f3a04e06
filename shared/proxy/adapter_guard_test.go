package proxy_test

import (
	"strings"
	"testing"
)

// adapterGuardConfig is the seed's adapter route with a content filter on the messages' text.
const adapterGuardConfig = `
guardrails:
  - guardrail_name: pii
    litellm_params:
      guardrail: litellm_content_filter
      mode: pre_call
      patterns:
        - {pattern_type: prebuilt, pattern_name: us_ssn, action: BLOCK}
        - {pattern_type: prebuilt, pattern_name: email, action: MASK}
model_list:
  - model_name: my-fake-claude-endpoint
    litellm_params:
      model: gpt-4o-mini
      api_key: os.environ/OPENAI_API_KEY
      api_base: "{{UP}}/v1"
general_settings:
  master_key: sk-1234
  pass_through_endpoints:
    - path: "/v1/messages"
      target: custom_callbacks.anthropic_adapter
      headers:
        litellm_user_api_key: "x-api-key"
      guardrails: {pii: {request_fields: ["messages[*].content"]}}
`

// Guardrails run on adapter routes as on any route: a pre_call block answers in Anthropic's
// error shape before the backend is called, and a mask changes what the backend is sent.
func TestAdapterGuardrails(t *testing.T) {
	up := startUpstream(t, jsonReply(200, `{"id":"c1","object":"chat.completion","model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1}}`))
	g := startGateway(t, adapterGuardConfig, up.URL, append(adapterOpts(), withGuards)...)

	resp, body := do(t, "POST", g.URL+"/v1/messages", strings.NewReader(`{"model":"my-fake-claude-endpoint","max_tokens":5,"messages":[{"role":"user","content":"my ssn is 123-45-6789"}]}`), anthropicClient)
	wantStatus(t, resp, body, 400)
	wantBody(t, body, `{"type":"error","error":{"type":"invalid_request_error","message":"Blocked by guardrail pii: Content blocked: us_ssn pattern detected"}}`)
	if up.count() != 0 {
		t.Fatal("the backend was called despite the block")
	}
	if rec := g.usage.Next(t); rec.ErrorClass != "guardrail_blocked" {
		t.Errorf("record class %q, want guardrail_blocked", rec.ErrorClass)
	}

	resp, body = do(t, "POST", g.URL+"/v1/messages", strings.NewReader(`{"model":"my-fake-claude-endpoint","max_tokens":5,"messages":[{"role":"user","content":"write to jane@example.com"}]}`), anthropicClient)
	wantStatus(t, resp, body, 200)
	if sent := string(up.last(t).Body); strings.Contains(sent, "jane@example.com") || !strings.Contains(sent, "[EMAIL_REDACTED]") {
		t.Errorf("the backend got %s, want the email masked", sent)
	}
	g.usage.Next(t)
}
