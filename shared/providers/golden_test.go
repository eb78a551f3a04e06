package providers

import (
	"testing"

	"github.com/passthru/gateway/shared/usage"
)

const (
	sse    = "text/event-stream"
	js     = "application/json"
	awsES  = "application/vnd.amazon.eventstream"
	bdHost = "https://bedrock-runtime.us-west-2.amazonaws.com"
)

func ct(v string) map[string]string { return map[string]string{"Content-Type": v} }

// Anthropic on Bedrock, InvokeModelWithResponseStream: the model's events, the last one
// with Bedrock's invocation metrics.
var bedrockAnthropicStream = bedrockInvokeStream(
	`{"type":"message_start","message":{"id":"msg_bdrk_01","type":"message","role":"assistant","model":"claude-3-5-haiku-20241022","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":20,"cache_creation_input_tokens":0,"cache_read_input_tokens":512,"output_tokens":1}}}`,
	`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`,
	`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello from Bedrock"}}`,
	`{"type":"content_block_stop","index":0}`,
	`{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":33}}`,
	`{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":20,"outputTokenCount":33,"invocationLatency":911,"firstByteLatency":402,"cacheReadInputTokenCount":512,"cacheWriteInputTokenCount":0}}`,
)

// Llama on Bedrock, streamed: counts in every chunk (null once sent), metrics at the end.
var bedrockLlamaStream = bedrockInvokeStream(
	`{"generation":"Paris","prompt_token_count":12,"generation_token_count":1,"stop_reason":null}`,
	`{"generation":" is the capital.","prompt_token_count":null,"generation_token_count":5,"stop_reason":null}`,
	`{"generation":"","prompt_token_count":null,"generation_token_count":7,"stop_reason":"stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":12,"outputTokenCount":7,"invocationLatency":640,"firstByteLatency":210}}`,
)

// ConverseStream: usage in the metadata event.
var bedrockConverseStreamBody = bedrockConverseStream(
	[2]string{"messageStart", `{"p":"abcdefghijk","role":"assistant"}`},
	[2]string{"contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"Hi"},"p":"abcdefghijklmnopqrs"}`},
	[2]string{"contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":" there"},"p":"abcd"}`},
	[2]string{"contentBlockStop", `{"contentBlockIndex":0,"p":"abcdefghijklmnopqrstuvwxyzABC"}`},
	[2]string{"messageStop", `{"p":"abcdefghijklmnop","stopReason":"end_turn"}`},
	[2]string{"metadata", `{"metrics":{"latencyMs":402},"p":"abcdefghijklmnopqrstuvwxyzABCDEF","usage":{"inputTokens":25,"outputTokens":9,"totalTokens":34,"cacheReadInputTokens":0,"cacheWriteInputTokens":16}}`},
)

type goldenCase struct {
	name     string
	x        exchange
	provider string // Provider()
	want     usage.Tokens
}

var golden = []goldenCase{
	// OpenAI
	{"openai chat", exchange{
		url: "https://api.openai.com/v1/chat/completions", header: ct(js), file: "openai_chat.json",
		request: `{"model":"o3-mini","reasoning_effort":"high","messages":[{"role":"user","content":"Capital of France?"}]}`},
		OpenAI, usage.Tokens{Provider: OpenAI, Model: "o3-mini", Input: n(1117), Output: n(846), Cached: n(1024), Reasoning: n(768)}},
	{"openai chat stream with usage", exchange{
		url: "https://api.openai.com/v1/chat/completions", header: ct("text/event-stream; charset=utf-8"), file: "openai_chat_stream.sse",
		request: `{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`},
		OpenAI, usage.Tokens{Provider: OpenAI, Model: "gpt-4o-mini", Input: n(8), Output: n(9), Cached: n(0), Reasoning: n(0)}},
	{"openai chat stream without usage", exchange{
		url: "https://api.openai.com/v1/chat/completions", header: ct(sse), file: "openai_chat_stream_no_usage.sse",
		request: `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}`},
		OpenAI, usage.Tokens{Provider: OpenAI, Model: "gpt-4o"}},
	{"openai responses", exchange{
		url: "https://api.openai.com/v1/responses", header: ct(js), file: "openai_responses.json",
		request: `{"model":"o4-mini","input":"Write a haiku about AI"}`},
		OpenAI, usage.Tokens{Provider: OpenAI, Model: "o4-mini", Input: n(2328), Output: n(541), Cached: n(2048), Reasoning: n(512)}},
	{"openai responses stream", exchange{
		url: "https://api.openai.com/v1/responses", header: ct(sse), file: "openai_responses_stream.sse",
		request: `{"model":"gpt-4.1","input":"hi","stream":true}`},
		OpenAI, usage.Tokens{Provider: OpenAI, Model: "gpt-4.1", Input: n(37), Output: n(11), Cached: n(0), Reasoning: n(0)}},
	{"openai embeddings", exchange{
		url: "https://api.openai.com/v1/embeddings", header: ct(js), file: "openai_embeddings.json",
		request: `{"input":["a","b","c"],"model":"text-embedding-3-small","dimensions":256}`},
		OpenAI, usage.Tokens{Provider: OpenAI, Model: "text-embedding-3-small", Input: n(24), Output: n(0)}},
	{"azure openai chat, model from the response", exchange{
		url: "https://myres.openai.azure.com/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21", header: ct(js), file: "azure_chat.json",
		request: `{"messages":[{"role":"user","content":"hello"}]}`},
		OpenAI, usage.Tokens{Provider: OpenAI, Model: "gpt-4o-2024-11-20", Input: n(19), Output: n(5), Cached: n(0), Reasoning: n(0)}},
	{"openai error", exchange{
		url: "https://api.openai.com/v1/chat/completions", status: 400, header: ct(js), file: "openai_error.json",
		request: `{"model":"gpt-4o","messages":[]}`},
		OpenAI, usage.Tokens{Provider: OpenAI, Model: "gpt-4o"}},

	// Anthropic
	{"anthropic messages with cache write", exchange{
		url: "https://api.anthropic.com/v1/messages", header: ct(js), file: "anthropic_messages.json",
		request: `{"model":"claude-sonnet-4-20250514","max_tokens":1024,"system":[{"type":"text","text":"...","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":"Key terms?"}]}`},
		Anthropic, usage.Tokens{Provider: Anthropic, Model: "claude-sonnet-4-20250514", Input: n(21 + 188086), Output: n(393), Cached: n(0), CacheWrite: n(188086)}},
	{"anthropic stream with cache read", exchange{
		url: "https://api.anthropic.com/v1/messages", header: ct(sse), file: "anthropic_stream.sse",
		request: `{"model":"claude-3-5-sonnet-20241022","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"Hello"}]}`},
		Anthropic, usage.Tokens{Provider: Anthropic, Model: "claude-3-5-sonnet-20241022", Input: n(472 + 2048), Output: n(15), Cached: n(2048), CacheWrite: n(0)}},
	{"anthropic stream, cumulative message_delta usage", exchange{
		url: "https://api.anthropic.com/v1/messages", header: ct(sse), file: "anthropic_stream_cumulative.sse",
		request: `{"model":"claude-opus-4-1-20250805","max_tokens":2048,"stream":true,"tools":[{"type":"web_search_20250305","name":"web_search"}],"messages":[{"role":"user","content":"Weather?"}]}`},
		Anthropic, usage.Tokens{Provider: Anthropic, Model: "claude-opus-4-1-20250805", Input: n(10682), Output: n(510), Cached: n(0), CacheWrite: n(0)}},
	{"anthropic stream ending in an error event", exchange{
		url: "https://api.anthropic.com/v1/messages", header: ct(sse), file: "anthropic_stream_error.sse",
		request: `{"model":"claude-3-5-haiku-latest","max_tokens":64,"stream":true,"messages":[]}`},
		Anthropic, usage.Tokens{Provider: Anthropic, Model: "claude-3-5-haiku-latest", Input: n(25), Output: n(1)}},
	{"anthropic-compatible host, named by its events", exchange{
		url: "https://api.minimax.io/anthropic/v1/messages", header: ct(sse), file: "anthropic_compatible_stream.sse",
		request: `{"model":"MiniMax-M2","max_tokens":64,"stream":true,"messages":[]}`},
		"", usage.Tokens{Provider: Anthropic, Model: "MiniMax-M2", Input: n(30), Output: n(4)}},

	// Cohere
	{"cohere v1 chat", exchange{
		url: "https://api.cohere.com/v1/chat", header: ct(js), file: "cohere_v1_chat.json",
		request: `{"model":"command-r-plus-08-2024","message":"What is an LLM?"}`},
		Cohere, usage.Tokens{Provider: Cohere, Model: "command-r-plus-08-2024", Input: n(17), Output: n(12)}},
	{"cohere v2 chat", exchange{
		url: "https://api.cohere.com/v2/chat", header: ct(js), file: "cohere_v2_chat.json",
		request: `{"model":"command-a-03-2025","messages":[{"role":"user","content":"What is an LLM?"}]}`},
		Cohere, usage.Tokens{Provider: Cohere, Model: "command-a-03-2025", Input: n(5), Output: n(418)}},
	{"cohere v2 chat stream", exchange{
		url: "https://api.cohere.ai/v2/chat", header: ct(sse), file: "cohere_v2_chat_stream.sse",
		request: `{"model":"command-r7b-12-2024","stream":true,"messages":[{"role":"user","content":"hi"}]}`},
		Cohere, usage.Tokens{Provider: Cohere, Model: "command-r7b-12-2024", Input: n(3), Output: n(2)}},
	{"cohere v1 chat stream (NDJSON)", exchange{
		url: "https://api.cohere.com/v1/chat", header: ct("application/stream+json"), file: "cohere_v1_chat_stream.ndjson",
		request: `{"message":"What is the answer?","stream":true,"model":"command-r-08-2024"}`},
		Cohere, usage.Tokens{Provider: Cohere, Model: "command-r-08-2024", Input: n(6), Output: n(5)}},
	{"cohere embed", exchange{
		url: "https://api.cohere.com/v2/embed", header: ct(js), file: "cohere_embed.json",
		request: `{"model":"embed-english-v3.0","texts":["hello","goodbye"],"input_type":"classification","embedding_types":["float"]}`},
		Cohere, usage.Tokens{Provider: Cohere, Model: "embed-english-v3.0", Input: n(2)}},
	{"cohere rerank", exchange{
		url: "https://api.cohere.com/v1/rerank", header: ct(js), file: "cohere_rerank.json",
		request: `{"model":"rerank-english-v3.0","query":"capital of the US?","top_n":3,"documents":["Carson City is the capital city of Nevada.","Washington, D.C. is the capital of the United States."]}`},
		Cohere, usage.Tokens{Provider: Cohere, Model: "rerank-english-v3.0", SearchUnits: n(1)}},

	// Gemini and Vertex AI
	{"gemini generateContent with thoughts and cache", exchange{
		url: "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent", header: ct("application/json; charset=UTF-8"), file: "gemini_generate.json",
		request: `{"contents":[{"parts":[{"text":"Write a story"}]}],"cachedContent":"cachedContents/abc"}`},
		Gemini, usage.Tokens{Provider: Gemini, Model: "gemini-2.5-flash", Input: n(2150), Output: n(322 + 992), Cached: n(2048), Reasoning: n(992)}},
	{"gemini streamGenerateContent alt=sse (CRLF)", exchange{
		url: "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse", header: ct(sse), file: "gemini_stream.sse",
		request: `{"contents":[{"parts":[{"text":"Tell a story"}]}]}`},
		Gemini, usage.Tokens{Provider: Gemini, Model: "gemini-2.0-flash", Input: n(9), Output: n(11)}},
	{"vertex generateContent", exchange{
		url: "https://us-central1-aiplatform.googleapis.com/v1/projects/my-proj/locations/us-central1/publishers/google/models/gemini-2.0-flash-001:generateContent", header: ct(js), file: "vertex_generate.json",
		request: `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`},
		VertexAI, usage.Tokens{Provider: VertexAI, Model: "gemini-2.0-flash-001", Input: n(2), Output: n(7)}},
	{"vertex streamGenerateContent as a JSON array", exchange{
		url: "https://aiplatform.googleapis.com/v1/projects/my-proj/locations/global/publishers/google/models/gemini-2.5-pro:streamGenerateContent", header: ct(js), file: "vertex_stream_array.json",
		request: `{"contents":[{"role":"user","parts":[{"text":"Why is the sky blue?"}]}]}`},
		VertexAI, usage.Tokens{Provider: VertexAI, Model: "gemini-2.5-pro", Input: n(8), Output: n(12 + 1200), Reasoning: n(1200)}},
	{"vertex anthropic streamRawPredict", exchange{
		url: "https://us-east5-aiplatform.googleapis.com/v1/projects/my-proj/locations/us-east5/publishers/anthropic/models/claude-3-5-sonnet-v2@20241022:streamRawPredict", header: ct(sse), file: "vertex_anthropic_stream.sse",
		request: `{"anthropic_version":"vertex-2023-10-16","max_tokens":256,"stream":true,"messages":[{"role":"user","content":"Say hello in French"}]}`},
		VertexAI, usage.Tokens{Provider: VertexAI, Model: "claude-3-5-sonnet-v2-20241022", Input: n(14), Output: n(6), Cached: n(0), CacheWrite: n(0)}},
	{"vertex text embeddings predict", exchange{
		url: "https://europe-west4-aiplatform.googleapis.com/v1/projects/my-proj/locations/europe-west4/publishers/google/models/text-embedding-005:predict", header: ct(js), file: "vertex_embeddings.json",
		request: `{"instances":[{"content":"What is life?"},{"content":"What is the meaning of it all?"}]}`},
		VertexAI, usage.Tokens{Provider: VertexAI, Model: "text-embedding-005", Input: n(17)}},

	// Bedrock
	{"bedrock invoke anthropic", exchange{
		url: bdHost + "/model/anthropic.claude-3-haiku-20240307-v1:0/invoke", header: ct(js), file: "bedrock_invoke_anthropic.json",
		request: `{"anthropic_version":"bedrock-2023-05-31","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}`},
		Bedrock, usage.Tokens{Provider: Bedrock, Model: "anthropic.claude-3-haiku-20240307-v1:0", Input: n(9 + 1800), Output: n(12), Cached: n(1800), CacheWrite: n(0)}},
	{"bedrock invoke titan", exchange{
		url: bdHost + "/model/amazon.titan-text-express-v1/invoke", header: ct(js), file: "bedrock_invoke_titan.json",
		request: `{"inputText":"Translate to French: Hello","textGenerationConfig":{"maxTokenCount":100}}`},
		Bedrock, usage.Tokens{Provider: Bedrock, Model: "amazon.titan-text-express-v1", Input: n(5), Output: n(26)}},
	{"bedrock invoke llama", exchange{
		url: bdHost + "/model/meta.llama3-70b-instruct-v1:0/invoke", header: ct(js), file: "bedrock_invoke_llama.json",
		request: `{"prompt":"<|begin_of_text|>What is the capital of France?","max_gen_len":64}`},
		Bedrock, usage.Tokens{Provider: Bedrock, Model: "meta.llama3-70b-instruct-v1:0", Input: n(18), Output: n(9)}},
	{"bedrock invoke nova through an inference-profile ARN", exchange{
		url: bdHost + "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.amazon.nova-pro-v1%3A0/invoke", header: ct(js), file: "bedrock_invoke_nova.json",
		request: `{"schemaVersion":"messages-v1","messages":[{"role":"user","content":[{"text":"Capital of Australia?"}]}]}`},
		Bedrock, usage.Tokens{Provider: Bedrock, Model: "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-pro-v1:0", Input: n(11 + 1000), Output: n(568), Cached: n(1000), CacheWrite: n(0)}},
	{"bedrock converse", exchange{
		url: bdHost + "/model/anthropic.claude-3-7-sonnet-20250219-v1:0/converse", header: ct(js), file: "bedrock_converse.json",
		request: `{"messages":[{"role":"user","content":[{"text":"Summarise"},{"cachePoint":{"type":"default"}}]}]}`},
		Bedrock, usage.Tokens{Provider: Bedrock, Model: "anthropic.claude-3-7-sonnet-20250219-v1:0", Input: n(4 + 1114), Output: n(44), Cached: n(1114), CacheWrite: n(0)}},
	{"bedrock invoke mistral, counts from the headers", exchange{
		url: bdHost + "/model/mistral.mistral-large-2402-v1:0/invoke", file: "bedrock_invoke_mistral.json",
		header: map[string]string{
			"Content-Type": js, "X-Amzn-Bedrock-Input-Token-Count": "15", "X-Amzn-Bedrock-Output-Token-Count": "9",
			"X-Amzn-Bedrock-Invocation-Latency": "412"},
		request: `{"prompt":"<s>[INST] Capital of France? [/INST]","max_tokens":64}`},
		Bedrock, usage.Tokens{Provider: Bedrock, Model: "mistral.mistral-large-2402-v1:0", Input: n(15), Output: n(9)}},
	{"bedrock invoke-with-response-stream anthropic", exchange{
		url: bdHost + "/model/us.anthropic.claude-3-5-haiku-20241022-v1:0/invoke-with-response-stream", header: ct(awsES), build: bedrockAnthropicStream,
		request: `{"anthropic_version":"bedrock-2023-05-31","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}`},
		Bedrock, usage.Tokens{Provider: Bedrock, Model: "us.anthropic.claude-3-5-haiku-20241022-v1:0", Input: n(20 + 512), Output: n(33), Cached: n(512), CacheWrite: n(0)}},
	{"bedrock invoke-with-response-stream llama", exchange{
		url: bdHost + "/model/meta.llama3-1-8b-instruct-v1:0/invoke-with-response-stream", header: ct(awsES), build: bedrockLlamaStream,
		request: `{"prompt":"Capital of France?"}`},
		Bedrock, usage.Tokens{Provider: Bedrock, Model: "meta.llama3-1-8b-instruct-v1:0", Input: n(12), Output: n(7)}},
	{"bedrock converse-stream", exchange{
		url: bdHost + "/model/amazon.nova-lite-v1:0/converse-stream", header: ct(awsES), build: bedrockConverseStreamBody,
		request: `{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`},
		Bedrock, usage.Tokens{Provider: Bedrock, Model: "amazon.nova-lite-v1:0", Input: n(25 + 16), Output: n(9), Cached: n(0), CacheWrite: n(16)}},

	// Unknown upstreams: the generic shapes
	{"generic openai-compatible chat (Groq)", exchange{
		url: "https://api.groq.com/openai/v1/chat/completions", header: ct(js), file: "generic_compat.json",
		request: `{"model":"llama-3.3-70b-versatile","messages":[{"role":"user","content":"hi"}]}`},
		"", usage.Tokens{Provider: OpenAI, Model: "llama-3.3-70b-versatile", Input: n(42), Output: n(4)}},
	{"generic prompt cache hits (DeepSeek)", exchange{
		url: "https://api.deepseek.com/chat/completions", header: ct(js), file: "generic_deepseek.json",
		request: `{"model":"deepseek-chat","messages":[]}`},
		"", usage.Tokens{Provider: OpenAI, Model: "deepseek-chat", Input: n(128), Output: n(3), Cached: n(64)}},
	{"generic stream (vLLM)", exchange{
		url: "http://vllm.internal:8000/v1/chat/completions", header: ct(sse), file: "generic_stream.sse",
		request: `{"model":"Qwen/Qwen2.5-7B-Instruct","stream":true,"stream_options":{"include_usage":true},"messages":[]}`},
		"", usage.Tokens{Provider: OpenAI, Model: "Qwen/Qwen2.5-7B-Instruct", Input: n(20), Output: n(7)}},
	{"generic usageMetadata", exchange{
		url: "https://llm.example.com/v1/generate", header: ct(js), file: "generic_gemini_shape.json"},
		"", usage.Tokens{Input: n(100), Output: n(50)}},
	{"generic meta.billed_units", exchange{
		url: "https://rerank.example.com/v1/rerank", header: ct(js), file: "generic_cohere_shape.json",
		request: `{"model":"my-reranker","query":"q","documents":["a"]}`},
		"", usage.Tokens{Provider: Cohere, Model: "my-reranker", SearchUnits: n(2)}},
	{"generic without usage", exchange{
		url: "https://api.example.com/v1/things", header: ct(js), file: "generic_no_usage.json"},
		"", usage.Tokens{}},
}

func TestGolden(t *testing.T) {
	for _, tc := range golden {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.x.meter(t)
			if got := m.Provider(); got != tc.provider {
				t.Errorf("Provider() = %q, want %q", got, tc.provider)
			}
			feed(m, tc.x.body(t), 0)
			checkTokens(t, m.Tokens(), tc.want)
		})
	}
}

// Every fixture gives the same tokens however the body is cut into writes.
func TestGoldenChunked(t *testing.T) {
	for _, tc := range golden {
		body := tc.x.body(t)
		for _, size := range []int{1, 2, 3, 7, 64, 4096} {
			m := tc.x.meter(t)
			feed(m, body, size)
			if d := diffTokens(m.Tokens(), tc.want); len(d) > 0 {
				t.Errorf("%s in %d-byte writes: %v", tc.name, size, d)
			}
		}
	}
}
