package sdktest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/passthru/gateway/shared/usage/usagetest"
	"github.com/passthru/gateway/shared/wiring"
)

// adapterConfig is the first seed's adapter section verbatim, but for api_base (the mock
// backend) and the streamed cost setting.
const adapterConfig = `model_list:
  - model_name: my-fake-claude-endpoint
    litellm_params:
      model: gpt-4o-mini
      api_key: os.environ/OPENAI_API_KEY
      api_base: %s/v1
litellm_settings:
  include_cost_in_streaming_usage: true
general_settings:
  master_key: %s
  pass_through_endpoints:
    - path: "/v1/messages" # route you want to add to LiteLLM Proxy Server
      target: custom_callbacks.anthropic_adapter # Adapter to use for this route
      headers:
        litellm_user_api_key: "x-api-key" # Field in headers, containing LiteLLM Key
`

// answerBackend is an OpenAI-format chat backend: a text answer, or a call of the request's
// first tool, as JSON or as a stream (with the usage chunk after finish_reason).
func answerBackend(w http.ResponseWriter, r *http.Request, body []byte) {
	var req struct {
		Model  string            `json:"model"`
		Stream bool              `json:"stream"`
		Tools  []json.RawMessage `json:"tools"`
	}
	if r.URL.Path != "/v1/chat/completions" || json.Unmarshal(body, &req) != nil {
		badRequest(w, r)
		return
	}
	tools := len(req.Tools) > 0
	if !req.Stream {
		msg, finish := `{"role":"assistant","content":"Hello from the backend"}`, "stop"
		if tools {
			msg, finish = `{"role":"assistant","content":"Checking.","tool_calls":[{"id":"call_w1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]}`, "tool_calls"
		}
		writeJSON(w, http.StatusOK, fmt.Sprintf(`{"id":"chatcmpl-sdk01","object":"chat.completion","created":1764633600,"model":%q,"choices":[{"index":0,"message":%s,"finish_reason":%q}],"usage":{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13}}`, req.Model, msg, finish))
		return
	}
	chunk := func(delta, finish string) string {
		return fmt.Sprintf(`data: {"id":"chatcmpl-sdk02","object":"chat.completion.chunk","created":1764633600,"model":%q,"choices":[{"index":0,"delta":%s,"finish_reason":%s}]}`+"\n\n", req.Model, delta, finish)
	}
	events := []string{chunk(`{"role":"assistant","content":""}`, "null"), chunk(`{"content":"Hello"}`, "null"), chunk(`{"content":" from the backend"}`, "null"), chunk(`{}`, `"stop"`)}
	if tools {
		events = []string{
			chunk(`{"role":"assistant","content":"Checking."}`, "null"),
			chunk(`{"tool_calls":[{"index":0,"id":"call_w1","type":"function","function":{"name":"get_weather","arguments":""}}]}`, "null"),
			chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]}`, "null"),
			chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]}`, "null"),
			chunk(`{}`, `"tool_calls"`),
		}
	}
	events = append(events,
		fmt.Sprintf(`data: {"id":"chatcmpl-sdk02","object":"chat.completion.chunk","created":1764633600,"model":%q,"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}}`+"\n\n", req.Model),
		"data: [DONE]\n\n")
	writeSSE(w, r, events)
}

// adapterCall is what one SDK call returned (node/adapter-flow.mjs).
type adapterCall struct {
	Call       string          `json:"call"`
	Message    json.RawMessage `json:"message"`
	TextEvents int             `json:"textEvents"`
	DeltaUsage json.RawMessage `json:"deltaUsage"`
	Error      *struct {
		Class  string `json:"class"`
		Status int    `json:"status"`
		Type   string `json:"type"`
	} `json:"error"`
}

// The expected messages: what an Anthropic client must accumulate, token counts included.
const (
	usageJSON   = `{"input_tokens":9,"output_tokens":4,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}`
	usageStream = `{"input_tokens":9,"output_tokens":3,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}`
	textContent = `[{"type":"text","text":"Hello from the backend"}]`
	toolContent = `[{"type":"text","text":"Checking."},{"type":"tool_use","id":"call_w1","name":"get_weather","input":{"city":"Paris"}}]`
)

func wantMessage(id, content, stop, usage string) string {
	return `{"id":"` + id + `","type":"message","role":"assistant","model":"my-fake-claude-endpoint","content":` + content +
		`,"stop_reason":"` + stop + `","stop_sequence":null,"usage":` + usage + `}`
}

// streamed is a message as MessageStream.finalMessage() returns it: both SDK lines add
// parsed_output (their structured-output field), null without an output format.
func streamed(message string) string {
	return strings.TrimSuffix(message, "}") + `,"parsed_output":null}`
}

var adapterWant = []struct {
	call, message string
	textEvents    int
}{
	{"text/create", wantMessage("msg_sdk01", textContent, "end_turn", usageJSON), 0},
	{"text/stream", streamed(wantMessage("msg_sdk02", textContent, "end_turn", usageStream)), 2},
	{"tools/create", wantMessage("msg_sdk01", toolContent, "tool_use", usageJSON), 0},
	{"tools/stream", streamed(wantMessage("msg_sdk02", toolContent, "tool_use", usageStream)), 1},
}

func sameJSON(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

// Both SDK lines, through the seed's adapter route to an OpenAI-format backend: each call's
// accumulated message is exactly the expected one (text and tool use, token counts included),
// the stream's message_delta carries the injected cost, a bad streaming request raises
// BadRequestError without reaching the backend, the backend gets its own key and never the
// gateway's, and each call's record has the backend's model, tokens and cost.
func TestAnthropicSDKsThroughAdapter(t *testing.T) {
	requireSDKs(t)
	backend := startMock(t, answerBackend)
	t.Setenv("OPENAI_API_KEY", openAIKey)
	sink := usagetest.NewSink()
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	src, err := wiring.OpenSources(context.Background(), wiring.SourceOptions{ConfigYAML: fmt.Sprintf(adapterConfig, backend.URL, masterKey), Secrets: "env"}, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(wiring.NewHandler(src, sink, log, false))
	t.Cleanup(srv.Close)

	for _, script := range []string{"adapter0.mjs", "adapter1.mjs"} {
		t.Run(strings.TrimSuffix(script, ".mjs"), func(t *testing.T) {
			stdout, stderr, err := execScript(t, script, srv.URL, masterKey)
			if err != nil {
				t.Fatalf("node %s: %v\n%s\n%s", script, err, stderr, stdout)
			}
			var res struct {
				Calls []adapterCall `json:"calls"`
				Sent  []sentRequest `json:"sent"`
			}
			if !decodeLine(t, stdout, resultPrefix, &res) || len(res.Calls) != len(adapterWant)+1 {
				t.Fatalf("result: %+v\n%s", res.Calls, stdout)
			}
			for i, w := range adapterWant {
				got := res.Calls[i]
				if got.Call != w.call || !sameJSON(got.Message, []byte(w.message)) || got.TextEvents != w.textEvents {
					t.Errorf("%s: SDK got %s (%d text events)\nwant %s (%d)", w.call, got.Message, got.TextEvents, w.message, w.textEvents)
				}
			}
			bad := res.Calls[len(adapterWant)]
			if bad.Error == nil || bad.Error.Class != "BadRequestError" || bad.Error.Status != 400 || bad.Error.Type != "invalid_request_error" {
				t.Errorf("bad request: %+v, want BadRequestError 400 invalid_request_error", bad.Error)
			}
			checkBackend(t, backend.take(), res.Sent)
			checkAdapterRecords(t, sink, res.Calls)
		})
	}
	if strings.Contains(logs.String(), openAIKey) || strings.Contains(logs.String(), masterKey) {
		t.Errorf("the gateway's log holds a key")
	}
}

// checkBackend: one backend request per good SDK call, each with the backend's key and model
// and none of the client's Anthropic headers or key.
func checkBackend(t *testing.T, ups []upstreamRequest, sent []sentRequest) {
	t.Helper()
	if len(ups) != len(adapterWant) || len(sent) != len(adapterWant)+1 {
		t.Fatalf("the backend got %d requests for %d SDK requests, want %d for %d", len(ups), len(sent), len(adapterWant), len(adapterWant)+1)
	}
	for i, u := range ups {
		var body struct {
			Model  string `json:"model"`
			Stream bool   `json:"stream"`
		}
		_ = json.Unmarshal(u.Body, &body)
		if u.Method != "POST" || u.Path != "/v1/chat/completions" || body.Model != "gpt-4o-mini" || body.Stream != strings.HasSuffix(adapterWant[i].call, "stream") {
			t.Errorf("backend request %d: %s %s %s", i, u.Method, u.Path, u.Body)
		}
		if got := u.Header.Get("Authorization"); got != bearer(openAIKey) {
			t.Errorf("backend request %d: Authorization %q", i, got)
		}
		for _, h := range []string{"X-Api-Key", "Anthropic-Version", "X-Litellm-Api-Key"} {
			if v := u.Header.Get(h); v != "" {
				t.Errorf("backend request %d: %s: %q reached the backend", i, h, v)
			}
		}
		if strings.Contains(string(u.Body), masterKey) {
			t.Errorf("backend request %d holds the gateway key", i)
		}
	}
}

// checkAdapterRecords: the four good calls and the refused one, each with the backend's
// model, tokens and cost; the stream's message_delta cost is the record's.
func checkAdapterRecords(t *testing.T, sink *usagetest.Sink, calls []adapterCall) {
	t.Helper()
	for i, w := range adapterWant {
		rec := sink.Next(t)
		in, out := int64(9), int64(4)
		if strings.HasSuffix(w.call, "stream") {
			out = 3
		}
		if rec.Route != "/v1/messages" || rec.Status != 200 || rec.Model != "gpt-4o-mini" || rec.Provider != "openai" ||
			rec.Input == nil || *rec.Input != in || rec.Output == nil || *rec.Output != out || rec.CostUSD == nil || rec.CostSource != "computed" {
			t.Errorf("%s: record %+v", w.call, rec)
			continue
		}
		if strings.HasSuffix(w.call, "stream") {
			var du struct {
				Cost *float64 `json:"cost"`
			}
			if json.Unmarshal(calls[i].DeltaUsage, &du) != nil || du.Cost == nil || *du.Cost != *rec.CostUSD {
				t.Errorf("%s: message_delta usage %s, record cost %v", w.call, calls[i].DeltaUsage, *rec.CostUSD)
			}
		}
	}
	if rec := sink.Next(t); rec.Status != 400 || rec.ErrorClass != "bad_request" || rec.UpstreamHost != "" {
		t.Errorf("bad request: record %+v", rec)
	}
}
