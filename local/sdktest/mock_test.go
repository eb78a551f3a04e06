package sdktest

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// eventGap separates the events of a mock stream, so the SDKs read real incremental streams
// through the gateway rather than one buffered body.
const eventGap = 3 * time.Millisecond

// upstreamRequest is one request as the mock upstream received it.
type upstreamRequest struct {
	Method   string
	Path     string // r.URL.Path, decoded
	RawQuery string
	Header   http.Header
	Body     []byte
}

// mockUpstream is one provider's API on 127.0.0.1: it records every request, then answers it
// with answer in that provider's wire format.
type mockUpstream struct {
	URL    string
	answer func(w http.ResponseWriter, r *http.Request, body []byte)

	mu   sync.Mutex
	reqs []upstreamRequest
}

func startMock(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, body []byte)) *mockUpstream {
	t.Helper()
	m := &mockUpstream{answer: answer}
	srv := httptest.NewServer(http.HandlerFunc(m.serve)) // listens on 127.0.0.1
	t.Cleanup(srv.Close)
	m.URL = srv.URL
	return m
}

func (m *mockUpstream) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	m.mu.Lock()
	m.reqs = append(m.reqs, upstreamRequest{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
	m.mu.Unlock()
	m.answer(w, r, body)
}

// take returns the requests received since the last take.
func (m *mockUpstream) take() []upstreamRequest {
	m.mu.Lock()
	defer m.mu.Unlock()
	reqs := m.reqs
	m.reqs = nil
	return reqs
}

// writeJSON answers with a JSON body and the given status.
func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// writeSSE answers with a text/event-stream of the given events (each complete, separator
// included), flushed one by one eventGap apart.
func writeSSE(w http.ResponseWriter, r *http.Request, events []string) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	for i, e := range events {
		if i > 0 {
			select {
			case <-time.After(eventGap):
			case <-r.Context().Done():
				return
			}
		}
		_, _ = io.WriteString(w, e)
		w.(http.Flusher).Flush()
	}
}

// requestFields reads the few request fields the answers depend on; a body that is not JSON
// leaves them empty (the answer is then a 400, which the test reports).
func requestFields(body []byte) (model string, stream bool, encoding string) {
	var f struct {
		Model          string `json:"model"`
		Stream         bool   `json:"stream"`
		EncodingFormat string `json:"encoding_format"`
	}
	_ = json.Unmarshal(body, &f)
	return f.Model, f.Stream, f.EncodingFormat
}

func badRequest(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusNotFound, fmt.Sprintf(`{"error":{"message":"mock upstream: no API at %s %s"}}`, r.Method, r.URL.Path))
}

// Anthropic Messages API: JSON, or the event sequence MessageStream requires (message_start
// first, content_block_start before its deltas, usage in message_delta, message_stop last).
func answerAnthropic(w http.ResponseWriter, r *http.Request, body []byte) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/messages" {
		badRequest(w, r)
		return
	}
	model, stream, _ := requestFields(body)
	if !stream {
		writeJSON(w, http.StatusOK, fmt.Sprintf(`{"id":"msg_sdk01","type":"message","role":"assistant","model":%q,"content":[{"type":"text","text":"Hello from Anthropic"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":5}}`, model))
		return
	}
	ev := func(name, data string) string { return "event: " + name + "\ndata: " + data + "\n\n" }
	delta := func(text string) string {
		return ev("content_block_delta", fmt.Sprintf(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":%q}}`, text))
	}
	writeSSE(w, r, []string{
		ev("message_start", fmt.Sprintf(`{"type":"message_start","message":{"id":"msg_sdk02","type":"message","role":"assistant","model":%q,"content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}`, model)),
		ev("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`),
		ev("ping", `{"type":"ping"}`),
		delta("Hello"), delta(" from"), delta(" Anthropic"),
		ev("content_block_stop", `{"type":"content_block_stop","index":0}`),
		ev("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":5}}`),
		ev("message_stop", `{"type":"message_stop"}`),
	})
}

// openAIChat answers an OpenAI-shaped chat completion (OpenAI and Azure): JSON, or data-only
// chunks, the usage chunk (choices empty) when stream_options.include_usage, then [DONE].
func openAIChat(w http.ResponseWriter, r *http.Request, body []byte, who string) {
	model, stream, _ := requestFields(body)
	if !stream {
		writeJSON(w, http.StatusOK, fmt.Sprintf(`{"id":"chatcmpl-sdk01","object":"chat.completion","created":1764633600,"model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":"Hello from %s","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}`, model, who))
		return
	}
	chunk := func(delta, finish, usage string) string {
		return fmt.Sprintf(`data: {"id":"chatcmpl-sdk02","object":"chat.completion.chunk","created":1764633600,"model":%q,"choices":[{"index":0,"delta":%s,"logprobs":null,"finish_reason":%s}],"usage":%s}`+"\n\n", model, delta, finish, usage)
	}
	writeSSE(w, r, []string{
		chunk(`{"role":"assistant","content":""}`, "null", "null"),
		chunk(`{"content":"Hello"}`, "null", "null"),
		chunk(`{"content":" from"}`, "null", "null"),
		chunk(fmt.Sprintf(`{"content":" %s"}`, who), "null", "null"),
		chunk(`{}`, `"stop"`, "null"),
		fmt.Sprintf(`data: {"id":"chatcmpl-sdk02","object":"chat.completion.chunk","created":1764633600,"model":%q,"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}`+"\n\n", model),
		"data: [DONE]\n\n",
	})
}

// mockEmbedding is the vector the embeddings mock returns.
var mockEmbedding = []float32{0.5, -0.25, 0.125}

// OpenAI: chat completions, Responses (JSON), embeddings (floats, or base64 little-endian
// float32 when asked for, as the SDK does by default).
func answerOpenAI(w http.ResponseWriter, r *http.Request, body []byte) {
	model, _, encoding := requestFields(body)
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1/chat/completions":
		openAIChat(w, r, body, "OpenAI")
	case r.Method == http.MethodPost && r.URL.Path == "/v1/responses":
		writeJSON(w, http.StatusOK, fmt.Sprintf(`{"id":"resp_sdk01","object":"response","created_at":1764633600,"status":"completed","error":null,"incomplete_details":null,"model":%q,"output":[{"type":"message","id":"msg_sdk03","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Hello from Responses","annotations":[]}]}],"parallel_tool_calls":true,"tool_choice":"auto","tools":[],"usage":{"input_tokens":8,"input_tokens_details":{"cached_tokens":0},"output_tokens":3,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":11}}`, model))
	case r.Method == http.MethodPost && r.URL.Path == "/v1/embeddings":
		var vec string
		if encoding == "base64" {
			raw := make([]byte, 4*len(mockEmbedding))
			for i, f := range mockEmbedding {
				binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
			}
			vec = `"` + base64.StdEncoding.EncodeToString(raw) + `"`
		} else {
			b, _ := json.Marshal(mockEmbedding)
			vec = string(b)
		}
		writeJSON(w, http.StatusOK, fmt.Sprintf(`{"object":"list","data":[{"object":"embedding","index":0,"embedding":%s}],"model":%q,"usage":{"prompt_tokens":2,"total_tokens":2}}`, vec, model))
	default:
		badRequest(w, r)
	}
}

// Azure OpenAI: the OpenAI shape under /openai/deployments/{deployment}/.
func answerAzure(w http.ResponseWriter, r *http.Request, body []byte) {
	if r.Method != http.MethodPost || r.URL.Path != "/openai/deployments/gpt-4o-deploy/chat/completions" {
		badRequest(w, r)
		return
	}
	openAIChat(w, r, body, "Azure")
}

// Gemini: generateContent (JSON) and streamGenerateContent?alt=sse, whose events are one-line
// JSON objects as the Gemini API sends them ("data: {...}\r\n\r\n"; the JS SDK's parser also
// accepts "\n\n"), usageMetadata on every chunk, the totals on the last.
func answerGemini(w http.ResponseWriter, r *http.Request, _ []byte) {
	cand := func(text, finish string) string {
		return fmt.Sprintf(`{"content":{"parts":[{"text":%q}],"role":"model"},%s"index":0}`, text, finish)
	}
	usage := func(out int) string {
		return fmt.Sprintf(`{"promptTokenCount":4,"candidatesTokenCount":%d,"totalTokenCount":%d}`, out, 4+out)
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1beta/models/gemini-2.0-flash:generateContent":
		writeJSON(w, http.StatusOK, `{"candidates":[`+cand("Hello from Gemini", `"finishReason":"STOP",`)+`],"usageMetadata":`+usage(4)+`,"modelVersion":"gemini-2.0-flash","responseId":"sdk01"}`)
	case r.Method == http.MethodPost && r.URL.Path == "/v1beta/models/gemini-2.0-flash:streamGenerateContent":
		ev := func(text, finish string, out int) string {
			return `data: {"candidates":[` + cand(text, finish) + `],"usageMetadata":` + usage(out) + `,"modelVersion":"gemini-2.0-flash","responseId":"sdk02"}` + "\r\n\r\n"
		}
		writeSSE(w, r, []string{ev("Hello", "", 1), ev(" from", "", 2), ev(" Gemini", `"finishReason":"STOP",`, 3)})
	default:
		badRequest(w, r)
	}
}

// Cohere v2 chat stream: named events, the usage in message-end's delta, then [DONE].
func answerCohere(w http.ResponseWriter, r *http.Request, _ []byte) {
	if r.Method != http.MethodPost || r.URL.Path != "/v2/chat" {
		badRequest(w, r)
		return
	}
	ev := func(name, data string) string { return "event: " + name + "\ndata: " + data + "\n\n" }
	delta := func(text string) string {
		return ev("content-delta", fmt.Sprintf(`{"type":"content-delta","index":0,"delta":{"message":{"content":{"text":%q}}}}`, text))
	}
	writeSSE(w, r, []string{
		ev("message-start", `{"id":"sdk01","type":"message-start","delta":{"message":{"role":"assistant","content":[],"tool_plan":"","tool_calls":[],"citations":[]}}}`),
		ev("content-start", `{"type":"content-start","index":0,"delta":{"message":{"content":{"type":"text","text":""}}}}`),
		delta("Hello"), delta(" from"), delta(" Cohere"),
		ev("content-end", `{"type":"content-end","index":0}`),
		ev("message-end", `{"type":"message-end","delta":{"finish_reason":"COMPLETE","usage":{"billed_units":{"input_tokens":5,"output_tokens":3},"tokens":{"input_tokens":70,"output_tokens":3}}}}`),
		"data: [DONE]\n\n",
	})
}

// Mistral chat stream: data-only chunks (the usage in the last one, with its finish_reason),
// then [DONE].
func answerMistral(w http.ResponseWriter, r *http.Request, body []byte) {
	model, stream, _ := requestFields(body)
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" || !stream {
		badRequest(w, r)
		return
	}
	chunk := func(delta, finish, usage string) string {
		return fmt.Sprintf(`data: {"id":"sdk01","object":"chat.completion.chunk","created":1764633600,"model":%q,"choices":[{"index":0,"delta":%s,"finish_reason":%s}]%s}`+"\n\n", model, delta, finish, usage)
	}
	writeSSE(w, r, []string{
		chunk(`{"role":"assistant","content":""}`, "null", ""),
		chunk(`{"content":"Hello"}`, "null", ""),
		chunk(`{"content":" from"}`, "null", ""),
		chunk(`{"content":" Mistral"}`, "null", ""),
		chunk(`{"content":""}`, `"stop"`, `,"usage":{"prompt_tokens":6,"total_tokens":9,"completion_tokens":3}`),
		"data: [DONE]\n\n",
	})
}

// Langfuse ingestion: 207 with one success per batch event.
func answerLangfuse(w http.ResponseWriter, r *http.Request, body []byte) {
	if r.Method != http.MethodPost || r.URL.Path != "/api/public/ingestion" {
		badRequest(w, r)
		return
	}
	var in struct {
		Batch []struct {
			ID string `json:"id"`
		} `json:"batch"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		writeJSON(w, http.StatusBadRequest, `{"message":"invalid JSON"}`)
		return
	}
	var ok []string
	for _, e := range in.Batch {
		ok = append(ok, fmt.Sprintf(`{"id":%q,"status":201}`, e.ID))
	}
	writeJSON(w, http.StatusMultiStatus, `{"successes":[`+strings.Join(ok, ",")+`],"errors":[]}`)
}
