package providers

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/passthru/gateway/shared/usage"
)

// Random write sizes give the same tokens as one write.
func TestGoldenRandomChunks(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range golden {
		body := tc.x.body(t)
		for range 20 {
			m := tc.x.meter(t)
			for rest := body; len(rest) > 0; {
				k := min(1+r.IntN(97), len(rest))
				m.Write(rest[:k])
				rest = rest[k:]
			}
			if d := diffTokens(m.Tokens(), tc.want); len(d) > 0 {
				t.Fatalf("%s in random writes: %v", tc.name, d)
			}
		}
	}
}

// Any prefix of any fixture is safe to read and never reports more than the full body: a cut
// call is never billed above the whole one (each count the prefix reports, the full body
// reports too, at least as high).
func TestGoldenPrefixes(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, tc := range golden {
		body := tc.x.body(t)
		for range 50 {
			m := tc.x.meter(t)
			cut := r.IntN(len(body) + 1)
			feed(m, body[:cut], 1+r.IntN(50))
			if d := exceeds(m.Tokens(), tc.want); d != "" {
				t.Fatalf("%s cut at %d of %d bytes: %s", tc.name, cut, len(body), d)
			}
		}
	}
}

// exceeds names the first count of got that the full body's want lacks or is below.
func exceeds(got, want usage.Tokens) string {
	fields := []struct {
		name      string
		got, want *int64
	}{
		{"input", got.Input, want.Input}, {"output", got.Output, want.Output},
		{"cached", got.Cached, want.Cached}, {"cache_write", got.CacheWrite, want.CacheWrite},
		{"reasoning", got.Reasoning, want.Reasoning}, {"search_units", got.SearchUnits, want.SearchUnits},
	}
	for _, f := range fields {
		switch {
		case f.got == nil:
		case f.want == nil:
			return fmt.Sprintf("%s = %d, the full body reports none", f.name, *f.got)
		case *f.got > *f.want:
			return fmt.Sprintf("%s = %d, above the full body's %d", f.name, *f.got, *f.want)
		}
	}
	return ""
}

func goldenByName(t *testing.T, name string) goldenCase {
	t.Helper()
	for _, tc := range golden {
		if tc.name == name {
			return tc
		}
	}
	t.Fatalf("no golden case %q", name)
	return goldenCase{}
}

// cutAfter returns body up to and including the first occurrence of marker (and, for
// SSE, the rest of that line).
func cutAfter(t *testing.T, body []byte, marker string) []byte {
	t.Helper()
	i := bytes.Index(body, []byte(marker))
	if i < 0 {
		t.Fatalf("marker %q not found", marker)
	}
	return body[:i+len(marker)]
}

// A stream cut short (client gone, upstream reset) reports the tokens seen so far.
func TestCutStreams(t *testing.T) {
	tests := []struct {
		golden string
		cut    func(t *testing.T, body []byte) []byte
		want   usage.Tokens
	}{
		{"anthropic stream with cache read",
			func(t *testing.T, b []byte) []byte { return cutAfter(t, b, "event: content_block_delta\n") },
			usage.Tokens{Provider: Anthropic, Model: "claude-3-5-sonnet-20241022", Input: n(2520), Output: n(2), Cached: n(2048), CacheWrite: n(0)}},
		{"anthropic stream with cache read", // cut in the middle of message_delta's usage
			func(t *testing.T, b []byte) []byte { return cutAfter(t, b, `"usage":{"output_tok`) },
			usage.Tokens{Provider: Anthropic, Model: "claude-3-5-sonnet-20241022", Input: n(2520), Output: n(2), Cached: n(2048), CacheWrite: n(0)}},
		{"anthropic stream with cache read", // message_delta's data line complete, blank line not yet
			func(t *testing.T, b []byte) []byte { return cutAfter(t, b, `"usage":{"output_tokens":15}}`) },
			usage.Tokens{Provider: Anthropic, Model: "claude-3-5-sonnet-20241022", Input: n(2520), Output: n(15), Cached: n(2048), CacheWrite: n(0)}},
		{"openai chat stream with usage",
			func(t *testing.T, b []byte) []byte { return cutAfter(t, b, `"usage":{"prompt_tokens":8,`) },
			usage.Tokens{Provider: OpenAI, Model: "gpt-4o-mini"}},
		{"openai responses stream",
			func(t *testing.T, b []byte) []byte { return cutAfter(t, b, "event: response.completed") },
			usage.Tokens{Provider: OpenAI, Model: "gpt-4.1"}},
		{"gemini streamGenerateContent alt=sse (CRLF)",
			func(t *testing.T, b []byte) []byte {
				return cutAfter(t, b, `"candidatesTokenCount": 4,"totalTokenCount": 13}`)
			},
			usage.Tokens{Provider: Gemini, Model: "gemini-2.0-flash", Input: n(9), Output: n(4)}},
		{"vertex streamGenerateContent as a JSON array",
			func(t *testing.T, b []byte) []byte { return cutAfter(t, b, `"thoughtsTokenCount": 1200`) },
			usage.Tokens{Provider: VertexAI, Model: "gemini-2.5-pro"}},
		{"bedrock invoke-with-response-stream anthropic", // three whole messages and half of the fourth
			func(t *testing.T, b []byte) []byte {
				var end int
				for range 3 {
					end += int(uint32(b[end])<<24 | uint32(b[end+1])<<16 | uint32(b[end+2])<<8 | uint32(b[end+3]))
				}
				return b[:end+20]
			},
			usage.Tokens{Provider: Bedrock, Model: "us.anthropic.claude-3-5-haiku-20241022-v1:0", Input: n(532), Output: n(1), Cached: n(512), CacheWrite: n(0)}},
	}
	for _, tt := range tests {
		tc := goldenByName(t, tt.golden)
		part := tt.cut(t, tc.x.body(t))
		for _, size := range []int{0, 1, 7} {
			m := tc.x.meter(t)
			feed(m, part, size)
			if d := diffTokens(m.Tokens(), tt.want); len(d) > 0 {
				t.Errorf("%s cut at %d bytes (%d-byte writes): %v", tt.golden, len(part), size, d)
			}
		}
	}
}

// Tokens mid-stream sees the usage event as soon as it was written (the proxy's cost
// injection prices the event it is about to release).
func TestTokensAfterEachEvent(t *testing.T) {
	tc := goldenByName(t, "anthropic stream with cache read")
	m := tc.x.meter(t)
	events := strings.SplitAfter(string(tc.x.body(t)), "\n\n")
	var outputs []string
	for _, ev := range events {
		m.Write([]byte(ev))
		outputs = append(outputs, show(m.Tokens().Output))
	}
	want := "2 2 2 2 2 2 15 15 15"
	if got := strings.Join(outputs[:9], " "); got != want {
		t.Errorf("output after each event = %s, want %s", got, want)
	}
}

func TestProviderDetection(t *testing.T) {
	tests := []struct{ url, want string }{
		{"https://api.openai.com/v1/chat/completions", OpenAI},
		{"https://API.OpenAI.com:443/v1/embeddings", OpenAI},
		{"https://contoso.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21", OpenAI},
		{"https://contoso.cognitiveservices.azure.com/openai/deployments/gpt-4o/chat/completions", OpenAI},
		{"https://contoso.cognitiveservices.azure.com/models/chat/completions", ""},
		{"https://api.anthropic.com/v1/messages", Anthropic},
		{"https://api.cohere.com/v2/chat", Cohere},
		{"https://api.cohere.ai/v1/rerank", Cohere},
		{"https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent", Gemini},
		{"https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.0-flash:generateContent", VertexAI},
		{"https://aiplatform.googleapis.com/v1/projects/p/locations/global/publishers/google/models/gemini-2.5-pro:generateContent", VertexAI},
		{"https://bedrock-runtime.eu-central-1.amazonaws.com/model/amazon.titan-embed-text-v2:0/invoke", Bedrock},
		{"https://bedrock-runtime-fips.us-east-1.amazonaws.com/model/x/converse", Bedrock},
		{"https://vpce-0abc-1xyz.bedrock-runtime.us-east-1.vpce.amazonaws.com/model/x/converse", Bedrock},
		{"https://bedrock-runtime.cn-north-1.amazonaws.com.cn/model/x/invoke", Bedrock},
		{"https://bedrock-agent-runtime.us-east-1.amazonaws.com/knowledgebases/KB1/retrieve", ""},
		{"https://s3.amazonaws.com/bedrock-runtime.x", ""},
		// by path, on any host
		{"https://gateway.corp/model/anthropic.claude-3-haiku-20240307-v1:0/invoke", Bedrock},
		{"https://gateway.corp/bedrock/model/a%2Fb/converse-stream", Bedrock},
		{"https://gateway.corp/model/x/list", ""},
		{"https://psc.corp/v1/projects/p/locations/l/publishers/google/models/gemini-2.0-flash:streamGenerateContent", VertexAI},
		{"https://proxy.corp/v1beta/models/gemini-2.0-flash:generateContent", Gemini},
		// shared wire formats name no provider
		{"https://api.groq.com/openai/v1/chat/completions", ""},
		{"https://api.minimax.io/anthropic/v1/messages", ""},
		{"https://api.jina.ai/v1/rerank", ""},
		{"http://localhost:8000/v1/embeddings", ""},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := NewMeter(u, nil, 200, http.Header{}).Provider(); got != tt.want {
			t.Errorf("%s: Provider() = %q, want %q", tt.url, got, tt.want)
		}
	}
	if got := NewMeter(nil, nil, 200, nil).Provider(); got != "" {
		t.Errorf("nil URL: Provider() = %q", got)
	}
}

func TestModel(t *testing.T) {
	tests := []struct {
		name, url, request, body, want string
	}{
		{"request first", "https://api.openai.com/v1/chat/completions", `{"model":"gpt-4o"}`, `{"model":"gpt-4o-2024-08-06"}`, "gpt-4o"},
		{"top-level key only", "https://api.openai.com/v1/chat/completions", `{"metadata":{"model":"not-this"},"messages":[{"role":"user","content":"{\"model\":\"nor-this\"}"}],"model":"this"}`, `{}`, "this"},
		{"escaped request model", "https://api.openai.com/v1/chat/completions", `{"model":"ft:gpt-4o-mini:acme::AbC\u00e9"}`, `{}`, "ft:gpt-4o-mini:acme::AbCé"},
		{"truncated request before the model", "https://api.openai.com/v1/chat/completions", `{"messages":[{"role":"user","content":"very long`, `{"model":"gpt-4o-2024-08-06"}`, "gpt-4o-2024-08-06"},
		{"truncated request after the model", "https://api.openai.com/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"very long`, `{}`, "gpt-4o"},
		{"truncated inside the model value", "https://api.openai.com/v1/chat/completions", `{"model":"gpt-4`, `{"model":"gpt-4o-2024-08-06"}`, "gpt-4o-2024-08-06"},
		{"non-string request model", "https://api.example.com/v1/x", `{"model":42}`, `{"model":"m"}`, "m"},
		{"multipart request", "https://api.openai.com/v1/audio/transcriptions",
			"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.mp3\"\r\nContent-Type: audio/mpeg\r\n\r\n\xff\xfb\x90\r\n--XyZ\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\ngpt-4o-transcribe\r\n--XyZ--\r\n",
			`{"text":"hi","usage":{"type":"tokens","input_tokens":14,"input_token_details":{"text_tokens":0,"audio_tokens":14},"output_tokens":45,"total_tokens":59}}`, "gpt-4o-transcribe"},
		{"response model", "https://api.groq.com/openai/v1/chat/completions", ``, `{"model":"llama-3.1-8b-instant"}`, "llama-3.1-8b-instant"},
		{"response modelVersion", "https://llm.example.com/x", ``, `{"modelVersion":"gemini-2.0-flash-001"}`, "gemini-2.0-flash-001"},
		{"first response model wins", "https://llm.example.com/x", ``, "{\"model\":\"a\"}\n{\"model\":\"b\"}", "a"},
		{"gemini path", "https://generativelanguage.googleapis.com/v1beta/models/gemini-1.5-flash:generateContent?key=x", `{"contents":[]}`, `{}`, "gemini-1.5-flash"},
		{"gemini path, escaped colon", "https://generativelanguage.googleapis.com/v1beta/models/gemini-1.5-flash%3AgenerateContent", ``, `{}`, "gemini-1.5-flash"},
		{"vertex path", "https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.0-flash-001:streamGenerateContent?alt=sse", ``, `{}`, "gemini-2.0-flash-001"},
		{"bedrock path beats the response", bdHost + "/model/anthropic.claude-3-haiku-20240307-v1:0/invoke", `{"anthropic_version":"bedrock-2023-05-31"}`, `{"model":"claude-3-haiku-20240307"}`, "anthropic.claude-3-haiku-20240307-v1:0"},
		{"bedrock ARN with raw slashes", bdHost + "/model/arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3/converse", ``, `{}`, "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3"},
		{"azure deployment", "https://contoso.openai.azure.com/openai/deployments/prod-4o/embeddings?api-version=2024-10-21", `{"input":"x"}`, `{}`, "prod-4o"},
		{"nothing", "https://api.example.com/v1/x", ``, `{}`, ""},
	}
	for _, tt := range tests {
		u, _ := url.Parse(tt.url)
		m := NewMeter(u, []byte(tt.request), 200, http.Header{"Content-Type": {js}})
		m.Write([]byte(tt.body))
		if got := m.Tokens().Model; got != tt.want {
			t.Errorf("%s: Model = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// Usage-object variants beyond the fixtures.
func TestUsageShapes(t *testing.T) {
	tests := []struct {
		name, body string
		want       usage.Tokens
	}{
		{"audio transcription tokens", `{"text":"hi","usage":{"type":"tokens","input_tokens":14,"input_token_details":{"text_tokens":0,"audio_tokens":14},"output_tokens":45,"total_tokens":59}}`,
			usage.Tokens{Provider: OpenAI, Input: n(14), Output: n(45)}},
		{"audio transcription duration", `{"text":"hi","usage":{"type":"duration","seconds":9}}`, usage.Tokens{}},
		{"image generation", `{"created":1,"data":[{"b64_json":"aGk="}],"usage":{"total_tokens":100,"input_tokens":50,"output_tokens":50,"input_tokens_details":{"text_tokens":10,"image_tokens":40}}}`,
			usage.Tokens{Provider: OpenAI, Input: n(50), Output: n(50)}},
		{"openai-format usage with anthropic cache fields (LiteLLM)", `{"usage":{"prompt_tokens":100,"completion_tokens":5,"total_tokens":105,"prompt_tokens_details":{"cached_tokens":80},"cache_read_input_tokens":80,"cache_creation_input_tokens":10}}`,
			usage.Tokens{Provider: OpenAI, Input: n(100), Output: n(5), Cached: n(80), CacheWrite: n(10)}},
		{"cohere billed units as doubles", `{"meta":{"billed_units":{"input_tokens":12.0,"output_tokens":3.0}}}`,
			usage.Tokens{Provider: Cohere, Input: n(12), Output: n(3)}},
		{"cohere tokens without billed units", `{"meta":{"tokens":{"input_tokens":70,"output_tokens":4}}}`,
			usage.Tokens{Provider: Cohere, Input: n(70), Output: n(4)}},
		{"numeric strings", `{"usage":{"prompt_tokens":"10","completion_tokens":"2"}}`, usage.Tokens{Provider: OpenAI, Input: n(10), Output: n(2)}},
		{"wrong types are skipped, not fatal", `{"usage":{"prompt_tokens":{"x":1},"completion_tokens":7,"prompt_tokens_details":5,"completion_tokens_details":{"reasoning_tokens":3}}}`,
			usage.Tokens{Provider: OpenAI, Output: n(7), Reasoning: n(3)}},
		{"negative and fractional counts are not counts", `{"usage":{"prompt_tokens":-1,"completion_tokens":2.5}}`, usage.Tokens{Provider: OpenAI}},
		{"usage not at the record root is not this call's", `{"choices":[{"usage":{"prompt_tokens":9}}],"data":{"usage":{"input_tokens":9}}}`, usage.Tokens{}},
		{"gemini tool-use prompt tokens are input", `{"usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":5,"toolUsePromptTokenCount":7,"totalTokenCount":22}}`,
			usage.Tokens{Input: n(17), Output: n(5)}},
		{"gemini with no candidates: output from the total", `{"usageMetadata":{"promptTokenCount":10,"totalTokenCount":10}}`,
			usage.Tokens{Input: n(10), Output: n(0)}},
		{"null usage", `{"usage":null}`, usage.Tokens{}},
		{"top-level array of records", `[{"usage":{"prompt_tokens":1,"completion_tokens":1}},{"usage":{"prompt_tokens":1,"completion_tokens":2}}]`,
			usage.Tokens{Provider: OpenAI, Input: n(1), Output: n(2)}},
		{"NDJSON records", "{\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1}}\n{\"usage\":{\"completion_tokens\":6}}\n",
			usage.Tokens{Provider: OpenAI, Input: n(5), Output: n(6)}},
		{"NDJSON with a garbage line", "{\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1}}\nnot json at all\n{\"usage\":{\"completion_tokens\":6}}\n",
			usage.Tokens{Provider: OpenAI, Input: n(5), Output: n(6)}},
	}
	for _, tt := range tests {
		u, _ := url.Parse("https://api.example.com/v1/x")
		m := NewMeter(u, nil, 200, http.Header{"Content-Type": {js}})
		m.Write([]byte(tt.body))
		if d := diffTokens(m.Tokens(), tt.want); len(d) > 0 {
			t.Errorf("%s: %v", tt.name, d)
		}
	}
}

func TestBodyModes(t *testing.T) {
	chat := `{"usage":{"prompt_tokens":3,"completion_tokens":4}}`
	sseChat := "data: " + chat + "\n\ndata: [DONE]\n\n"
	want := usage.Tokens{Provider: OpenAI, Input: n(3), Output: n(4)}
	tests := []struct {
		name   string
		url    string
		status int
		header http.Header
		body   string
		want   usage.Tokens
	}{
		{"SSE without a content type", "https://api.example.com/v1/chat/completions", 200, http.Header{}, sseChat, want},
		{"SSE as text/plain", "https://api.example.com/v1/chat/completions", 200, http.Header{"Content-Type": {"text/plain"}}, sseChat, want},
		{"SSE starting with a comment", "https://api.example.com/v1/chat/completions", 200, http.Header{}, ": keep-alive\n\n" + sseChat, want},
		{"SSE with CR line ends", "https://api.example.com/v1/chat/completions", 200, http.Header{"Content-Type": {sse}}, strings.ReplaceAll(sseChat, "\n", "\r"), want},
		{"SSE data split over lines", "https://api.example.com/v1/chat/completions", 200, http.Header{"Content-Type": {sse}}, "data: {\"usage\":\ndata: {\"prompt_tokens\":3,\ndata: \"completion_tokens\":4}}\n\n", want},
		{"SSE data without a space", "https://api.example.com/v1/chat/completions", 200, http.Header{"Content-Type": {sse}}, "data:" + chat + "\n\n", want},
		{"JSON without a content type, leading space", "https://api.example.com/v1/chat/completions", 200, http.Header{}, "\n  " + chat, want},
		{"JSON error status still read", "https://api.example.com/v1/chat/completions", 500, http.Header{"Content-Type": {js}}, chat, want},
		{"binary body", "https://api.openai.com/v1/audio/speech", 200, http.Header{"Content-Type": {"audio/mpeg"}}, "\xff\xfb\x90\x64" + chat, usage.Tokens{Provider: OpenAI}},
		{"plain text", "https://api.example.com/v1/x", 200, http.Header{}, "dat " + chat, usage.Tokens{}},
		{"compressed body", "https://api.example.com/v1/x", 200, http.Header{"Content-Type": {js}, "Content-Encoding": {"gzip"}}, chat, usage.Tokens{}},
		{"identity encoding", "https://api.example.com/v1/x", 200, http.Header{"Content-Type": {js}, "Content-Encoding": {"identity"}}, chat, want},
		{"no content", "https://api.example.com/v1/x", 204, http.Header{}, chat, usage.Tokens{}},
		{"stored chat completion", "https://api.openai.com/v1/chat/completions/chatcmpl-abc123", 200, http.Header{"Content-Type": {js}}, chat, usage.Tokens{Provider: OpenAI}},
		{"stored response", "https://api.openai.com/v1/responses/resp_123", 200, http.Header{"Content-Type": {js}}, chat, usage.Tokens{Provider: OpenAI}},
		{"responses compact", "https://api.openai.com/v1/responses/compact", 200, http.Header{"Content-Type": {js}}, chat, usage.Tokens{Provider: OpenAI, Input: n(3), Output: n(4)}},
		{"polled assistants run", "https://api.openai.com/v1/threads/thread_1/runs/run_1", 200, http.Header{"Content-Type": {js}}, chat, usage.Tokens{Provider: OpenAI}},
		{"streamed assistants run", "https://api.openai.com/v1/threads/thread_1/runs", 200, http.Header{"Content-Type": {sse}},
			"event: thread.run.completed\ndata: {\"id\":\"run_1\",\"object\":\"thread.run\",\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4,\"total_tokens\":7}}\n\nevent: done\ndata: [DONE]\n\n",
			usage.Tokens{Provider: OpenAI, Input: n(3), Output: n(4)}},
		{"bedrock event stream without a content type", bdHost + "/model/m/converse-stream", 200, http.Header{},
			string(esEvent("metadata", []byte(`{"usage":{"inputTokens":3,"outputTokens":4}}`))), usage.Tokens{Provider: Bedrock, Model: "m", Input: n(3), Output: n(4)}},
	}
	for _, tt := range tests {
		for _, size := range []int{0, 1, 3} {
			u, _ := url.Parse(tt.url)
			m := NewMeter(u, nil, tt.status, tt.header)
			feed(m, []byte(tt.body), size)
			if d := diffTokens(m.Tokens(), tt.want); len(d) > 0 {
				t.Errorf("%s (%d-byte writes): %v", tt.name, size, d)
			}
		}
	}
}

func TestEventStreamFraming(t *testing.T) {
	metrics := func(in, out int) []byte {
		return bedrockChunk(`{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":` + strconv.Itoa(in) + `,"outputTokenCount":` + strconv.Itoa(out) + `}}`)
	}
	start := bedrockChunk(`{"type":"message_start","message":{"usage":{"input_tokens":7,"output_tokens":1}}}`)
	corrupt := append([]byte(nil), metrics(9, 9)...)
	corrupt[len(corrupt)-6] ^= 0xff // payload byte: the message CRC no longer matches
	badPrelude := append([]byte(nil), metrics(9, 9)...)
	badPrelude[9] ^= 0xff
	big := esEvent("chunk", []byte(`{"bytes":"`+strings.Repeat("A", maxFrame)+`"}`))
	exception := esMessage([]byte(`{"message":"Too many tokens, please wait before trying again.","usage":{"inputTokens":99}}`),
		esHdr{":exception-type", "throttlingException"}, esHdr{":content-type", "application/json"}, esHdr{":message-type", "exception"})
	// non-string headers before the event type (every header type)
	var h []byte
	for _, typ := range []struct {
		t byte
		v []byte
	}{{0, nil}, {1, nil}, {2, []byte{1}}, {3, []byte{0, 1}}, {4, []byte{0, 0, 0, 1}}, {5, make([]byte, 8)}, {6, []byte{0, 2, 'h', 'i'}}, {8, make([]byte, 8)}, {9, make([]byte, 16)}} {
		h = append(h, 1, 'x', typ.t)
		h = append(h, typ.v...)
	}
	h = append(h, byte(len(":event-type")))
	h = append(h, ":event-type"...)
	h = append(h, 7, 0, 8)
	h = append(h, "metadata"...)
	typed := rawESMessage(h, []byte(`{"usage":{"inputTokens":5,"outputTokens":6}}`))

	tests := []struct {
		name string
		body [][]byte
		want usage.Tokens
	}{
		{"whole stream", [][]byte{start, metrics(7, 3)}, usage.Tokens{Input: n(7), Output: n(3)}},
		{"message CRC mismatch stops reading", [][]byte{start, corrupt, metrics(8, 8)}, usage.Tokens{Input: n(7), Output: n(1)}},
		{"prelude CRC mismatch stops reading", [][]byte{start, badPrelude, metrics(8, 8)}, usage.Tokens{Input: n(7), Output: n(1)}},
		{"oversized message skipped", [][]byte{start, big, metrics(7, 3)}, usage.Tokens{Input: n(7), Output: n(3)}},
		{"exceptions carry no usage", [][]byte{start, exception}, usage.Tokens{Input: n(7), Output: n(1)}},
		{"all header types", [][]byte{typed}, usage.Tokens{Input: n(5), Output: n(6)}},
		{"not an event stream", [][]byte{[]byte(`{"usage":{"inputTokens":1}}`), start}, usage.Tokens{}},
	}
	for _, tt := range tests {
		body := bytes.Join(tt.body, nil)
		for _, size := range []int{0, 1, 13} {
			u, _ := url.Parse(bdHost + "/model/m/invoke-with-response-stream")
			m := NewMeter(u, nil, 200, http.Header{"Content-Type": {awsES}})
			feed(m, body, size)
			tt.want.Provider, tt.want.Model = Bedrock, "m"
			if d := diffTokens(m.Tokens(), tt.want); len(d) > 0 {
				t.Errorf("%s (%d-byte writes): %v", tt.name, size, d)
			}
		}
	}
}

func rawESMessage(headers, payload []byte) []byte {
	var b []byte
	total := esPrelude + len(headers) + len(payload) + 4
	b = append(b, byte(total>>24), byte(total>>16), byte(total>>8), byte(total))
	b = append(b, byte(len(headers)>>24), byte(len(headers)>>16), byte(len(headers)>>8), byte(len(headers)))
	b = appendCRC(b, b)
	b = append(b, headers...)
	b = append(b, payload...)
	return appendCRC(b, b)
}

// Write and Tokens may be called from different goroutines (run with -race).
func TestConcurrentUse(t *testing.T) {
	tc := goldenByName(t, "openai chat stream with usage")
	m := tc.x.meter(t)
	body := tc.x.body(t)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		feed(m, body, 5)
	}()
	for range 100 {
		_ = m.Tokens()
		_ = m.Provider()
	}
	wg.Wait()
	checkTokens(t, m.Tokens(), tc.want)
}

// An unknown upstream is named by its body only where the shape is unmistakable.
func TestProviderFromShape(t *testing.T) {
	tests := []struct {
		name, url, ct string
		body          []byte
		want          string
	}{
		{"anthropic message JSON", "https://llm.corp/v1/messages", js,
			[]byte(`{"id":"msg_1","type":"message","role":"assistant","content":[],"usage":{"input_tokens":3,"output_tokens":4}}`), Anthropic},
		{"anthropic events without a type in the data", "https://llm.corp/v1/messages", sse,
			[]byte("event: message_start\ndata: {\"message\":{\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n" +
				"event: message_delta\ndata: {\"usage\":{\"output_tokens\":4}}\n\n"), Anthropic},
		{"bedrock invocation metrics", "https://llm.corp/invoke", awsES,
			bedrockChunk(`{"amazon-bedrock-invocationMetrics":{"inputTokenCount":3,"outputTokenCount":4}}`), Bedrock},
		{"bedrock anthropic chunks are bedrock", "https://llm.corp/invoke", awsES,
			append(bedrockChunk(`{"type":"message_start","message":{"usage":{"input_tokens":3,"output_tokens":1}}}`),
				bedrockChunk(`{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":3,"outputTokenCount":4}}`)...), Bedrock},
		{"openai-compatible chat is openai", "https://llm.corp/v1/chat/completions", js,
			[]byte(`{"object":"chat.completion","model":"x","usage":{"prompt_tokens":3,"completion_tokens":4}}`), OpenAI},
		{"openai-compatible stream is openai", "https://api.groq.com/openai/v1/chat/completions", sse,
			[]byte("data: {\"choices\":[]}\n\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}\n\ndata: [DONE]\n\n"), OpenAI},
		{"openai Responses API shape is openai", "https://llm.corp/v1/responses", js,
			[]byte(`{"object":"response","usage":{"input_tokens":3,"input_tokens_details":{"cached_tokens":0},"output_tokens":4,"output_tokens_details":{"reasoning_tokens":0}}}`), OpenAI},
		{"cohere v2 shape is cohere", "https://llm.corp/v2/chat", js,
			[]byte(`{"id":"c","usage":{"billed_units":{"input_tokens":3,"output_tokens":4},"tokens":{"input_tokens":9,"output_tokens":4}}}`), Cohere},
		{"cohere v1 meta is cohere", "https://llm.corp/v1/chat", js,
			[]byte(`{"text":"hi","meta":{"billed_units":{"input_tokens":3,"output_tokens":4}}}`), Cohere},
		{"anthropic usage names are not openai", "https://llm.corp/generate", js,
			[]byte(`{"usage":{"input_tokens":3,"output_tokens":4}}`), ""},
		{"gemini-shaped stays unnamed", "https://llm.corp/generate", js,
			[]byte(`{"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":4}}`), ""},
		{"a known host is not renamed by its body", "https://api.openai.com/v1/chat/completions", js,
			[]byte(`{"type":"message","usage":{"input_tokens":3,"output_tokens":4}}`), OpenAI},
	}
	for _, tt := range tests {
		u, _ := url.Parse(tt.url)
		m := NewMeter(u, nil, 200, http.Header{"Content-Type": {tt.ct}})
		m.Write(tt.body)
		got := m.Tokens()
		if got.Provider != tt.want {
			t.Errorf("%s: Provider = %q, want %q", tt.name, got.Provider, tt.want)
		}
		if got.Input == nil || got.Output == nil || *got.Input != 3 || *got.Output != 4 {
			t.Errorf("%s: tokens %s/%s, want 3/4", tt.name, show(got.Input), show(got.Output))
		}
	}
}

// When the response says nothing about its shape (an error, a stream without a usage chunk),
// the request path names the API it belongs to; a path several APIs share names none, and a
// shape in the body wins over the path.
func TestProviderFromRequestPath(t *testing.T) {
	tests := []struct{ url, body, want string }{
		{"https://api.groq.com/openai/v1/chat/completions", `{"error":{"message":"rate limited"}}`, OpenAI},
		{"http://vllm.internal:8000/v1/embeddings", `{}`, OpenAI},
		{"https://llm.corp/v1/responses", `{}`, OpenAI},
		{"https://api.minimax.io/anthropic/v1/messages", `{}`, Anthropic},
		{"https://cohere.corp/v2/chat", `{}`, Cohere},
		{"https://cohere.corp/v1/embed", `{}`, Cohere},
		{"https://api.jina.ai/v1/rerank", `{}`, ""},
		{"https://llm.corp/v1/things", `{}`, ""},
		{"https://llm.corp/v1/chat/completions", `{"meta":{"billed_units":{"input_tokens":3}}}`, Cohere},
	}
	for _, tt := range tests {
		u, _ := url.Parse(tt.url)
		m := NewMeter(u, nil, 200, http.Header{"Content-Type": {js}})
		m.Write([]byte(tt.body))
		if got := m.Tokens().Provider; got != tt.want {
			t.Errorf("%s %s: Provider = %q, want %q", tt.url, tt.body, got, tt.want)
		}
		if got := m.Provider(); got != "" {
			t.Errorf("%s: Provider() = %q: the host names no provider", tt.url, got)
		}
	}
}
