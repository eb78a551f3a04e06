package providers

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
)

// benchExchange meters body, written in the given pieces, from NewMeter to Tokens: the whole
// per-call cost of metering.
func benchExchange(b *testing.B, rawURL, request, contentType string, pieces [][]byte) {
	u, _ := url.Parse(rawURL)
	h := http.Header{"Content-Type": {contentType}}
	total := 0
	for _, p := range pieces {
		total += len(p)
	}
	b.SetBytes(int64(total))
	b.ReportAllocs()
	for b.Loop() {
		m := NewMeter(u, []byte(request), 200, h)
		for _, p := range pieces {
			m.Write(p)
		}
		if m.Tokens().Input == nil {
			b.Fatal("no input tokens")
		}
	}
}

// A typical OpenAI chat stream: 200 content chunks and the usage chunk, one event per write.
func BenchmarkOpenAIStream(b *testing.B) {
	var pieces [][]byte
	for i := range 200 {
		pieces = append(pieces, fmt.Appendf(nil, `data: {"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_06737a9306","choices":[{"index":0,"delta":{"content":" token%d"},"logprobs":null,"finish_reason":null}],"usage":null}`+"\n\n", i))
	}
	pieces = append(pieces,
		[]byte(`data: {"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-mini-2024-07-18","choices":[],"usage":{"prompt_tokens":812,"completion_tokens":200,"total_tokens":1012,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}`+"\n\n"),
		[]byte("data: [DONE]\n\n"))
	benchExchange(b, "https://api.openai.com/v1/chat/completions",
		`{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`, sse, pieces)
}

// A non-streaming OpenAI chat completion, one write.
func BenchmarkOpenAIJSON(b *testing.B) {
	body, err := os.ReadFile("testdata/openai_chat.json")
	if err != nil {
		b.Fatal(err)
	}
	benchExchange(b, "https://api.openai.com/v1/chat/completions", `{"model":"o3-mini","messages":[]}`, js, [][]byte{body})
}

// An Anthropic stream: message_start, 200 text deltas, message_delta, one event per write.
func BenchmarkAnthropicStream(b *testing.B) {
	pieces := [][]byte{[]byte(`event: message_start` + "\n" + `data: {"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-20250514","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":472,"cache_creation_input_tokens":0,"cache_read_input_tokens":2048,"output_tokens":2}}}` + "\n\n")}
	for i := range 200 {
		pieces = append(pieces, fmt.Appendf(nil, `event: content_block_delta`+"\n"+`data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" token%d"}}`+"\n\n", i))
	}
	pieces = append(pieces, []byte(`event: message_delta`+"\n"+`data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":200}}`+"\n\n"+`event: message_stop`+"\n"+`data: {"type":"message_stop"}`+"\n\n"))
	benchExchange(b, "https://api.anthropic.com/v1/messages", `{"model":"claude-sonnet-4-20250514","stream":true}`, sse, pieces)
}

// A Bedrock InvokeModelWithResponseStream of 200 chunks.
func BenchmarkBedrockEventStream(b *testing.B) {
	pieces := [][]byte{bedrockChunk(`{"type":"message_start","message":{"usage":{"input_tokens":20,"output_tokens":1}}}`)}
	for i := range 200 {
		pieces = append(pieces, bedrockChunk(fmt.Sprintf(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" token%d"}}`, i)))
	}
	pieces = append(pieces, bedrockChunk(`{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":20,"outputTokenCount":200,"invocationLatency":900,"firstByteLatency":300}}`))
	benchExchange(b, bdHost+"/model/anthropic.claude-3-haiku-20240307-v1:0/invoke-with-response-stream", ``, awsES, pieces)
}

// Throughput on a large embeddings body (1 MiB of floats, 32 KiB writes).
func BenchmarkLargeJSON(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString(`{"object":"list","data":[`)
	for buf.Len() < 1<<20 {
		buf.WriteString(`{"object":"embedding","index":0,"embedding":[` + strings.Repeat(`-0.0123456789,0.0234567891,`, 40) + `0.5]},`)
	}
	buf.WriteString(`{"object":"embedding","index":1,"embedding":[0.1]}],"model":"text-embedding-3-small","usage":{"prompt_tokens":8191,"total_tokens":8191}}`)
	var pieces [][]byte
	for body := buf.Bytes(); len(body) > 0; {
		k := min(32<<10, len(body))
		pieces = append(pieces, body[:k])
		body = body[k:]
	}
	benchExchange(b, "https://api.openai.com/v1/embeddings", `{"model":"text-embedding-3-small"}`, js, pieces)
}
