package providers

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"

	"github.com/passthru/gateway/shared/usage"
)

const fiftyMB = 50 << 20

// allocated runs f and returns the bytes allocated meanwhile (garbage included).
func allocated(f func()) uint64 {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// stream writes head, then block repeatedly until total bytes, then tail, in writes of at
// most 32 KiB (what the proxy's relay hands over).
func stream(m *Meter, head, block, tail []byte, total int) int {
	written := 0
	w := func(b []byte) {
		for len(b) > 0 {
			k := min(32<<10, len(b))
			m.Write(b[:k])
			written += k
			b = b[k:]
		}
	}
	w(head)
	for written < total {
		w(block)
	}
	w(tail)
	return written
}

func repeatTo(unit string, size int) []byte {
	return bytes.Repeat([]byte(unit), max(1, size/len(unit)))
}

// checkBounded asserts a meter's retained buffers stay within their caps.
func checkBounded(t *testing.T, m *Meter) {
	t.Helper()
	if c := cap(m.js.capBuf); c > 2*maxCapture {
		t.Errorf("capture buffer cap = %d", c)
	}
	if c := cap(m.js.kinds); c > 2*maxTrack+32 {
		t.Errorf("container stack cap = %d", c)
	}
	if c := cap(m.es.frame); c > 2*maxFrame {
		t.Errorf("event-stream frame cap = %d", c)
	}
	if c := cap(m.sniff); c > 64 {
		t.Errorf("sniff buffer cap = %d", c)
	}
}

func TestFiftyMegabytes(t *testing.T) {
	if testing.Short() {
		t.Skip("50 MB bodies")
	}
	const limit = 2 << 20 // allocations allowed while metering 50 MB
	chunk := `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_06737a9306","choices":[{"index":0,"delta":{"content":"token \"quoted\" \\n text"},"logprobs":null,"finish_reason":null}],"usage":null}` + "\n\n"
	floats := `{"object":"embedding","index":0,"embedding":[` + strings.Repeat(`-0.0123456789,0.0234567891,`, 40) + `0.5]},`
	tests := []struct {
		name              string
		url, ct, request  string
		head, block, tail string
		want              usage.Tokens
	}{
		{"SSE stream of chat chunks", "https://api.openai.com/v1/chat/completions", sse, `{"model":"gpt-4o-mini"}`,
			"", chunk, `data: {"choices":[],"usage":{"prompt_tokens":8,"completion_tokens":1500000}}` + "\n\ndata: [DONE]\n\n",
			usage.Tokens{Provider: OpenAI, Model: "gpt-4o-mini", Input: n(8), Output: n(1500000)}},
		{"SSE stream without model in the request", "https://llm.example.com/v1/chat/completions", sse, ``,
			"", chunk, `data: {"choices":[],"usage":{"prompt_tokens":8,"completion_tokens":1500000}}` + "\n\n",
			usage.Tokens{Provider: OpenAI, Model: "gpt-4o-mini-2024-07-18", Input: n(8), Output: n(1500000)}},
		{"one 50 MB SSE event, then usage", "https://api.anthropic.com/v1/messages", sse, `{"model":"claude"}`,
			`event: content_block_delta` + "\n" + `data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"`, "lorem ipsum \\\" dolor ", `"}}` + "\n\n" +
				`event: message_delta` + "\n" + `data: {"type":"message_delta","usage":{"input_tokens":3,"output_tokens":9000000}}` + "\n\n",
			usage.Tokens{Provider: Anthropic, Model: "claude", Input: n(3), Output: n(9000000)}},
		{"one 50 MB SSE line without a newline", "https://api.anthropic.com/v1/messages", sse, `{"model":"claude"}`,
			"data: ", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "",
			usage.Tokens{Provider: Anthropic, Model: "claude"}},
		{"50 MB embeddings JSON, usage at the end", "https://api.openai.com/v1/embeddings", js, `{"model":"text-embedding-3-large"}`,
			`{"object":"list","data":[`, floats, `{"object":"embedding","index":1,"embedding":[0.1]}],"model":"text-embedding-3-large","usage":{"prompt_tokens":8191,"total_tokens":8191}}`,
			usage.Tokens{Provider: OpenAI, Model: "text-embedding-3-large", Input: n(8191), Output: n(0)}},
		{"50 MB JSON string value", "https://api.anthropic.com/v1/messages", js, `{"model":"claude"}`,
			`{"type":"message","content":[{"type":"text","text":"`, "abc\\u00e9\\\"def ", `"}],"usage":{"input_tokens":5,"output_tokens":12000000}}`,
			usage.Tokens{Provider: Anthropic, Model: "claude", Input: n(5), Output: n(12000000)}},
		{"50 MB NDJSON", "https://api.cohere.com/v1/chat", "application/stream+json", `{"model":"command-r"}`,
			"", `{"is_finished":false,"event_type":"text-generation","text":" word"}` + "\n",
			`{"is_finished":true,"event_type":"stream-end","response":{"meta":{"billed_units":{"input_tokens":6,"output_tokens":700000}}}}` + "\n",
			usage.Tokens{Provider: Cohere, Model: "command-r", Input: n(6), Output: n(700000)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, _ := url.Parse(tt.url)
			m := NewMeter(u, []byte(tt.request), 200, http.Header{"Content-Type": {tt.ct}})
			block := repeatTo(tt.block, 64<<10)
			var written int
			got := allocated(func() {
				written = stream(m, []byte(tt.head), block, []byte(tt.tail), fiftyMB)
			})
			if written < fiftyMB {
				t.Fatalf("wrote %d bytes", written)
			}
			t.Logf("%d MB metered, %d bytes allocated", written>>20, got)
			if got > limit {
				t.Errorf("metering %d MB allocated %d bytes, want ≤ %d", written>>20, got, limit)
			}
			checkTokens(t, m.Tokens(), tt.want)
			checkBounded(t, m)
		})
	}
}

// Bedrock streams decode JSON per message: garbage, but nothing retained.
func TestEventStreamLongStreamBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("long stream")
	}
	u, _ := url.Parse(bdHost + "/model/m/invoke-with-response-stream")
	m := NewMeter(u, nil, 200, http.Header{"Content-Type": {awsES}})
	block := repeatTo(string(bedrockChunk(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hello world"}}`)), 64<<10)
	stream(m, bedrockChunk(`{"type":"message_start","message":{"usage":{"input_tokens":4,"output_tokens":1}}}`), block,
		bedrockChunk(`{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":4,"outputTokenCount":77}}`), 20<<20)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	checkTokens(t, m.Tokens(), usage.Tokens{Provider: Bedrock, Model: "m", Input: n(4), Output: n(77)})
	checkBounded(t, m)
	if ms.HeapInuse > 64<<20 {
		t.Errorf("heap in use %d MB after a 20 MB stream", ms.HeapInuse>>20)
	}
}

func TestScannerLimits(t *testing.T) {
	long := strings.Repeat("x", maxCapture)
	tests := []struct {
		name, body string
		want       usage.Tokens
	}{
		{"usage object over the capture limit is dropped", `{"usage":{"prompt_tokens":1,"pad":"` + long + `"}}`, usage.Tokens{}},
		{"…and the next one is read", `{"usage":{"prompt_tokens":1,"pad":"` + long + `"}}` + "\n" + `{"usage":{"prompt_tokens":2}}`, usage.Tokens{Provider: OpenAI, Input: n(2)}},
		{"model over the capture limit is dropped", `{"model":"` + long + `","usage":{"prompt_tokens":1}}`, usage.Tokens{Provider: OpenAI, Input: n(1)}},
		{"long keys never match", `{"` + strings.Repeat("k", 1000) + `":{"usage":1},"usage":{"prompt_tokens":4}}`, usage.Tokens{Provider: OpenAI, Input: n(4)}},
		{"escaped keys never match", `{"us\u0061ge":{"prompt_tokens":1}}`, usage.Tokens{}},
		{"deep nesting costs nothing", `{"a":` + strings.Repeat(`[{"b":`, 100000) + `1` + strings.Repeat(`}]`, 100000) + `,"usage":{"prompt_tokens":8}}`, usage.Tokens{Provider: OpenAI, Input: n(8)}},
		{"usage deep inside is not the record's", strings.Repeat("[", 10000) + `{"usage":{"prompt_tokens":1}}`, usage.Tokens{}},
		{"nesting within the stack is followed", `{"a":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `,"usage":{"prompt_tokens":6}}`, usage.Tokens{Provider: OpenAI, Input: n(6)}},
		{"deep values below the tracked depth never match", `{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":{"usage":{"prompt_tokens":1}}}}}}}}}},"usage":{"prompt_tokens":3}}`, usage.Tokens{Provider: OpenAI, Input: n(3)}},
		{"strings full of escapes", `{"x":"` + strings.Repeat(`\"\\\/\n`, 5000) + `","usage":{"prompt_tokens":9}}`, usage.Tokens{Provider: OpenAI, Input: n(9)}},
		{"mismatched brackets in a skipped value are only counted", `{"a":[1,2}}` + "\n" + `{"usage":{"prompt_tokens":2}}`, usage.Tokens{Provider: OpenAI, Input: n(2)}},
		{"a malformed line is skipped", `{"a":tru,e}` + "\n" + `{"usage":{"prompt_tokens":2}}`, usage.Tokens{Provider: OpenAI, Input: n(2)}},
	}
	for _, tt := range tests {
		for _, size := range []int{0, 1, 5} {
			u, _ := url.Parse("https://api.example.com/v1/x")
			m := NewMeter(u, nil, 200, http.Header{"Content-Type": {js}})
			feed(m, []byte(tt.body), size)
			if d := diffTokens(m.Tokens(), tt.want); len(d) > 0 {
				t.Errorf("%s (%d-byte writes): %v", tt.name, size, d)
			}
			checkBounded(t, m)
		}
	}
}

// The escapes-in-a-long-string case must stay linear: a quadratic scan would take minutes.
func TestScannerLinearOnEscapes(t *testing.T) {
	body := []byte(`{"x":"` + strings.Repeat(`a\nb`, 1<<20) + `","usage":{"prompt_tokens":1}}`)
	u, _ := url.Parse("https://api.example.com/v1/x")
	m := NewMeter(u, nil, 200, http.Header{"Content-Type": {js}})
	m.Write(body)
	checkTokens(t, m.Tokens(), usage.Tokens{Provider: OpenAI, Input: n(1)})
}

func ExampleMeter() {
	u, _ := url.Parse("https://api.anthropic.com/v1/messages")
	m := NewMeter(u, []byte(`{"model":"claude-sonnet-4-20250514","stream":true}`), 200,
		http.Header{"Content-Type": {"text/event-stream"}})
	// the proxy tees every chunk it sends to the client
	m.Write([]byte("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":10,\"cache_read_input_tokens\":90,\"output_tokens\":1}}}\n\n"))
	m.Write([]byte("event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":25}}\n\n"))
	t := m.Tokens()
	fmt.Println(t.Provider, t.Model, *t.Input, *t.Output, *t.Cached)
	// Output: anthropic claude-sonnet-4-20250514 100 25 90
}
