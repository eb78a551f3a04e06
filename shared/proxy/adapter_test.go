package proxy_test

import (
	"bufio"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/passthru/gateway/shared/providers"
	"github.com/passthru/gateway/shared/proxy"
	"github.com/passthru/gateway/shared/secrets"
	"github.com/passthru/gateway/shared/usage"
)

// The seed's adapter config, verbatim but for the backend's address and the cost setting.
const seedAdapterConfig = `
model_list:
  - model_name: my-fake-claude-endpoint
    litellm_params:
      model: gpt-4o-mini
      api_key: os.environ/OPENAI_API_KEY
      api_base: "{{UP}}/v1"
litellm_settings:
  include_cost_in_streaming_usage: true
general_settings:
  master_key: sk-1234
  pass_through_endpoints:
    - path: "/v1/messages"
      target: custom_callbacks.anthropic_adapter
      headers:
        litellm_user_api_key: "x-api-key"
`

// tokenPricer prices gpt-4o-mini at 1 µ$ per input and 2 µ$ per output token.
type tokenPricer struct{}

func (tokenPricer) Cost(t usage.Tokens) (float64, bool) {
	if t.Model != "gpt-4o-mini" || t.Input == nil || t.Output == nil {
		return 0, false
	}
	return float64(*t.Input+2**t.Output) / 1e6, true
}

func adapterOpts() []proxy.Option {
	return []proxy.Option{
		proxy.WithSecrets(secrets.Inline{"OPENAI_API_KEY": "sk-openai-real"}),
		proxy.WithMetering(func(u *url.URL, req []byte, status int, h http.Header) proxy.Meter {
			return providers.NewMeter(u, req, status, h)
		}),
		proxy.WithPricing(tokenPricer{}),
	}
}

var anthropicClient = map[string]string{"x-api-key": "sk-1234", "anthropic-version": "2023-06-01", "content-type": "application/json"}

// A JSON call: the backend gets the translated request with its own key and none of the
// client's headers; the client gets an Anthropic message; the record carries the backend's
// tokens and cost.
func TestAdapterJSON(t *testing.T) {
	up := startUpstream(t, jsonReply(200, `{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Hi!"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}`))
	g := startGateway(t, seedAdapterConfig, up.URL, append(adapterOpts(), proxy.WithDetailedDebug(true))...)
	const in = `{"model":"my-fake-claude-endpoint","max_tokens":64,"messages":[{"role":"user","content":"Hello"}]}`
	const out = `{"id":"msg_1","type":"message","role":"assistant","model":"my-fake-claude-endpoint","content":[{"type":"text","text":"Hi!"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":3,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}`
	const sent = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello"}],"max_tokens":64}`
	resp, body := do(t, "POST", g.URL+"/v1/messages?beta=true", strings.NewReader(in), anthropicClient)
	wantStatus(t, resp, body, 200)
	wantBody(t, body, out)
	if ct, cl := resp.Header.Get("Content-Type"), resp.Header.Get("Content-Length"); ct != "application/json" || cl != strconv.Itoa(len(out)) {
		t.Errorf("Content-Type %q, Content-Length %q", ct, cl)
	}
	s := up.last(t)
	if s.Method != "POST" || s.URI != "/v1/chat/completions" {
		t.Errorf("upstream got %s %s", s.Method, s.URI)
	}
	wantHeader := http.Header{"Authorization": {"Bearer sk-openai-real"}, "Content-Type": {"application/json"}, "Accept": {"application/json"},
		"Content-Length": {strconv.Itoa(len(sent))}}
	for k := range s.Header {
		if _, ok := wantHeader[k]; !ok {
			t.Errorf("upstream got header %s: %q", k, s.Header[k])
		}
	}
	for k, v := range wantHeader {
		if got := s.Header.Get(k); got != v[0] {
			t.Errorf("upstream %s = %q, want %q", k, got, v[0])
		}
	}
	wantBody(t, s.Body, sent)
	rec := g.usage.Next(t)
	if rec.Route != "/v1/messages" || rec.Status != 200 || rec.Model != "gpt-4o-mini" || rec.Provider != "openai" ||
		*rec.Input != 12 || *rec.Output != 3 || rec.CostSource != usage.CostComputed || *rec.CostUSD != 18e-6 ||
		rec.BytesIn != int64(len(in)) || rec.BytesOut != int64(len(out)) || rec.Streamed {
		t.Errorf("record = %+v", rec)
	}
	logs := g.logs.String()
	if !strings.Contains(logs, `msg="upstream request"`) || strings.Contains(logs, "sk-openai-real") || strings.Contains(logs, "sk-1234") {
		t.Errorf("detailed-debug log shows a key, or no upstream request:\n%s", logs)
	}
}

// A stream: each translated event reaches the client while the backend is still sending
// (the backend waits for the client to have the first text before it goes on), message_delta
// carries the backend's usage and the cost the gateway injected, and the record has both.
func TestAdapterStream(t *testing.T) {
	next := make(chan struct{})
	chunk := func(delta, finish string) string {
		return `data: {"id":"chatcmpl-9","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"index":0,"delta":` + delta + `,"finish_reason":` + finish + `}]}` + "\n\n"
	}
	up := startUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, chunk(`{"role":"assistant","content":"Hello"}`, "null"))
		w.(http.Flusher).Flush()
		select {
		case <-next:
		case <-time.After(10 * time.Second):
			t.Error("the client did not get the first event while the backend waited: the stream is buffered")
		}
		_, _ = io.WriteString(w, chunk(`{"content":" there"}`, "null")+chunk(`{}`, `"stop"`))
		_, _ = io.WriteString(w, `data: {"id":"chatcmpl-9","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":20,"completion_tokens":2,"total_tokens":22}}`+"\n\ndata: [DONE]\n\n")
	})
	g := startGateway(t, seedAdapterConfig, up.URL, adapterOpts()...)
	req, _ := http.NewRequest("POST", g.URL+"/v1/messages", strings.NewReader(`{"model":"my-fake-claude-endpoint","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"Hello"}]}`))
	req.Header.Set("Authorization", "Bearer sk-1234")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream; charset=utf-8" {
		t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	rd := bufio.NewReader(resp.Body)
	var got strings.Builder
	for !strings.Contains(got.String(), `"text":"Hello"`) {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("before the first text: %v; got %q", err, got.String())
		}
		got.WriteString(line)
	}
	close(next)
	rest, _ := io.ReadAll(rd)
	got.Write(rest)
	want := "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_9\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"my-fake-claude-endpoint\",\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":0,\"output_tokens\":0,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0}}}\n\n" +
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n" +
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" there\"}}\n\n" +
		"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n" +
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"input_tokens\":20,\"output_tokens\":2,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"cost\":2.4e-05}}\n\n" +
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
	wantBody(t, []byte(got.String()), want)
	wantBody(t, up.last(t).Body, `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello"}],"max_tokens":64,"stream":true,"stream_options":{"include_usage":true}}`)
	if a := up.last(t).Header.Get("Accept"); a != "text/event-stream" {
		t.Errorf("upstream Accept = %q", a)
	}
	rec := g.usage.Next(t)
	if rec.Status != 200 || !rec.Streamed || *rec.Input != 20 || *rec.Output != 2 || *rec.CostUSD != 24e-6 || rec.BytesOut != int64(len(want)) || rec.Partial {
		t.Errorf("record = %+v", rec)
	}
}

// Errors reach the Anthropic client in Anthropic's shape, with the status its SDK maps to a
// typed error: a bad request (streaming or not) never reaches the backend; the backend's own
// errors keep their status and message.
func TestAdapterErrors(t *testing.T) {
	up := startUpstream(t, jsonReply(429, `{"error":{"message":"Rate limit reached for gpt-4o-mini","type":"requests","param":null,"code":"rate_limit_exceeded"}}`))
	g := startGateway(t, seedAdapterConfig, up.URL, adapterOpts()...)
	tests := []struct {
		name, body string
		header     map[string]string
		status     int
		want       string
		upstream   int
	}{
		{"bad request while streaming", `{"model":"my-fake-claude-endpoint","max_tokens":5,"stream":true,"messages":["hi"]}`, anthropicClient, 400,
			`{"type":"error","error":{"type":"invalid_request_error","message":"The request body is not a valid Messages request: json: cannot unmarshal string into Go struct field messagesRequest.messages of type anthropic.message"}}`, 0},
		{"no max_tokens", `{"model":"my-fake-claude-endpoint","messages":[{"role":"user","content":"hi"}]}`, anthropicClient, 400,
			`{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"}}`, 0},
		{"unknown model", `{"model":"claude-opus-4-1","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, anthropicClient, 404,
			`{"type":"error","error":{"type":"not_found_error","message":"model \"claude-opus-4-1\" is not served here; the models are: my-fake-claude-endpoint"}}`, 0},
		{"unknown key", `{}`, map[string]string{"x-api-key": "sk-nope"}, 401,
			`{"type":"error","error":{"type":"authentication_error","message":"Authentication Error, Invalid proxy server token passed."}}`, 0},
		{"backend rate limit", `{"model":"my-fake-claude-endpoint","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, anthropicClient, 429,
			`{"type":"error","error":{"type":"rate_limit_error","message":"Rate limit reached for gpt-4o-mini"}}`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := up.count()
			resp, body := do(t, "POST", g.URL+"/v1/messages", strings.NewReader(tt.body), tt.header)
			wantStatus(t, resp, body, tt.status)
			wantBody(t, body, tt.want)
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if n := up.count() - before; n != tt.upstream {
				t.Errorf("upstream calls = %d, want %d", n, tt.upstream)
			}
			if rec := g.usage.Next(t); rec.Status != tt.status {
				t.Errorf("record status = %d", rec.Status)
			}
		})
	}
}

// A backend that stops mid-stream: the client's stream ends with an error event (its SDK
// raises it), the record says the upstream reset the stream, partial.
func TestAdapterStreamCut(t *testing.T) {
	up := startUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, `data: {"id":"chatcmpl-c","choices":[{"index":0,"delta":{"content":"Par"},"finish_reason":null}]}`+"\n\n")
		w.(http.Flusher).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = conn.Close() // the chunked body never ends
		}
	})
	g := startGateway(t, seedAdapterConfig, up.URL, adapterOpts()...)
	resp, body := do(t, "POST", g.URL+"/v1/messages", strings.NewReader(`{"model":"my-fake-claude-endpoint","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"hi"}]}`), anthropicClient)
	wantStatus(t, resp, body, 200)
	if !strings.HasSuffix(string(body), "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Par\"}}\n\n"+
		"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"The backend's connection failed mid-stream.\"}}\n\n") {
		t.Errorf("body = %s", body)
	}
	if rec := g.usage.Next(t); rec.ErrorClass != "upstream_reset" || !rec.Partial || rec.Status != 200 {
		t.Errorf("record = %+v", rec)
	}
}

// The native spelling: the target is the OpenAI-compatible base URL, the route's headers are
// the backend's credential, the models map renames (names not listed pass as they are).
func TestAdapterNative(t *testing.T) {
	up := startUpstream(t, jsonReply(200, `{"id":"chatcmpl-n","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"length"}]}`))
	g := startGateway(t, `
general_settings:
  master_key: sk-1234
  pass_through_endpoints:
    - path: /claude/v1/messages
      adapter: anthropic
      target: "{{UP}}/openai/v1/"
      auth: true
      headers: {Authorization: "Bearer os.environ/OPENAI_API_KEY", X-Org: acme}
      models: {claude-sonnet-4-5: gpt-4o}
`, up.URL, adapterOpts()...)
	for model, backend := range map[string]string{"claude-sonnet-4-5": "gpt-4o", "llama-3": "llama-3"} {
		resp, body := do(t, "POST", g.URL+"/claude/v1/messages", strings.NewReader(`{"model":"`+model+`","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`), anthropicClient)
		wantStatus(t, resp, body, 200)
		wantBody(t, body, `{"id":"msg_n","type":"message","role":"assistant","model":"`+model+`","content":[{"type":"text","text":"ok"}],"stop_reason":"max_tokens","stop_sequence":null,"usage":{"input_tokens":0,"output_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}`)
		s := up.last(t)
		if s.URI != "/openai/v1/chat/completions" || s.Header.Get("Authorization") != "Bearer sk-openai-real" || s.Header.Get("X-Org") != "acme" || s.Header.Get("X-Api-Key") != "" {
			t.Errorf("upstream got %s %v", s.URI, s.Header)
		}
		wantBody(t, s.Body, `{"model":"`+backend+`","messages":[{"role":"user","content":"hi"}],"max_tokens":5}`)
		g.usage.Next(t)
	}
	// No route serves GET there: the answer is the gateway's own 405, in LiteLLM's shape.
	resp, body := do(t, "GET", g.URL+"/claude/v1/messages", nil, anthropicClient)
	wantStatus(t, resp, body, 405)
	wantBody(t, body, errorJSON("405", "method_not_allowed", "Method GET is not allowed for pass-through endpoint /claude/v1/messages."))
}

// A backend that answers a stream request with JSON (it ignored stream: true): the client
// still gets the event stream its SDK reads, with the answer's usage.
func TestAdapterStreamFromJSON(t *testing.T) {
	up := startUpstream(t, jsonReply(200, `{"id":"chatcmpl-j","choices":[{"index":0,"message":{"role":"assistant","content":"Whole"},"finish_reason":"stop"}],"usage":{"prompt_tokens":4,"completion_tokens":1}}`))
	g := startGateway(t, seedAdapterConfig, up.URL, adapterOpts()...)
	resp, body := do(t, "POST", g.URL+"/v1/messages", strings.NewReader(`{"model":"my-fake-claude-endpoint","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"hi"}]}`), anthropicClient)
	wantStatus(t, resp, body, 200)
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	wantBody(t, body, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_j\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"my-fake-claude-endpoint\",\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":0,\"output_tokens\":0,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0}}}\n\n"+
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"+
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Whole\"}}\n\n"+
		"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"+
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"input_tokens\":4,\"output_tokens\":1,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0}}\n\n"+
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
	if rec := g.usage.Next(t); *rec.Input != 4 || *rec.Output != 1 || rec.Status != 200 {
		t.Errorf("record = %+v", rec)
	}
}

// A backend answer that is no chat completion is a 502 api_error, for JSON and stream calls.
func TestAdapterNotACompletion(t *testing.T) {
	up := startUpstream(t, jsonReply(200, `<html>maintenance</html>`))
	g := startGateway(t, seedAdapterConfig, up.URL, adapterOpts()...)
	for _, stream := range []string{"false", "true"} {
		resp, body := do(t, "POST", g.URL+"/v1/messages", strings.NewReader(`{"model":"my-fake-claude-endpoint","max_tokens":5,"stream":`+stream+`,"messages":[{"role":"user","content":"hi"}]}`), anthropicClient)
		wantStatus(t, resp, body, 502)
		wantBody(t, body, `{"type":"error","error":{"type":"api_error","message":"The backend's answer is not an OpenAI chat completion."}}`)
		if rec := g.usage.Next(t); rec.Status != 502 || rec.ErrorClass != "upstream_status" {
			t.Errorf("record = %+v", rec)
		}
	}
}

// A backend key that is not set: 503 in Anthropic's shape naming the secret, nothing sent.
func TestAdapterMissingSecret(t *testing.T) {
	up := startUpstream(t, nil)
	opts := append(adapterOpts(), proxy.WithSecrets(secrets.Inline{}))
	g := startGateway(t, seedAdapterConfig, up.URL, opts...)
	resp, body := do(t, "POST", g.URL+"/v1/messages", strings.NewReader(`{"model":"my-fake-claude-endpoint","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`), anthropicClient)
	wantStatus(t, resp, body, 503)
	wantBody(t, body, `{"type":"error","error":{"type":"api_error","message":"The provider credential for this route is unavailable: secret \"OPENAI_API_KEY\" is not set."}}`)
	if up.count() != 0 {
		t.Error("the backend was called")
	}
	if rec := g.usage.Next(t); rec.Status != 503 || rec.ErrorClass != "secret" || *rec.CostUSD != 0 {
		t.Errorf("record = %+v", rec)
	}
}
