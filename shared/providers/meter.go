// Package providers reads the token usage of one call from the response bytes on their way to
// the client: OpenAI (chat completions, Responses, embeddings), Anthropic messages, Cohere
// (v1/v2 chat, embed, rerank), Gemini and Vertex AI, Bedrock (invoke, converse and their AWS
// event streams), and the generic usage shapes of any other upstream.
//
// A Meter parses as the bytes pass, never holding them back or changing them, in bounded
// memory: JSON bodies and SSE events are scanned incrementally, and only the few values that
// carry usage (each at most 64 KiB) and one AWS event-stream message (at most 1 MiB) are ever
// kept, whatever the length of the body. A cut body still yields the usage seen so far.
//
// The parsers are shape-driven rather than host-gated: every response is read for every
// usage shape below, so an OpenAI-, Anthropic- or Gemini-compatible upstream behind any host is
// metered too. The upstream host (else the path) names the provider and picks the model; on
// any other host the body's shape names the wire format it has (Bedrock invocation metrics,
// Anthropic event types, Cohere's billed_units/tokens, OpenAI's prompt_tokens/completion_tokens
// and *_tokens_details; Gemini's usageMetadata, shared with Vertex AI, names none), else the
// request path's API (shapeOfPath).
//
// Usage shapes, by where they sit in a response record (a JSON body, an element of a
// top-level array, an NDJSON line, an SSE event's data, a Bedrock stream chunk):
//
//   - usage, message.usage (Anthropic message_start), response.usage (OpenAI Responses
//     events), delta.usage (Cohere v2 message-end): prompt_tokens / completion_tokens with
//     prompt_tokens_details.cached_tokens and completion_tokens_details.reasoning_tokens
//     (OpenAI chat, embeddings); input_tokens / output_tokens with
//     input_tokens_details.cached_tokens and output_tokens_details.reasoning_tokens (OpenAI
//     Responses: input includes the cache) or with cache_read_input_tokens and
//     cache_creation_input_tokens (Anthropic: input excludes them); inputTokens /
//     outputTokens / cacheReadInputTokens / cacheWriteInputTokens (Bedrock converse, Nova;
//     input excludes the cache); billed_units / tokens (Cohere v2).
//   - usageMetadata (Gemini, Vertex): promptTokenCount (includes cachedContentTokenCount),
//     candidatesTokenCount, thoughtsTokenCount, toolUsePromptTokenCount.
//   - meta and response.meta (Cohere v1 and embed/rerank): billed_units (else tokens).
//   - amazon-bedrock-invocationMetrics (Bedrock streams), the X-Amzn-Bedrock-*-Token-Count
//     response headers (Bedrock invoke, used for what the body does not say), and the
//     Titan and Llama body fields.
//   - predictions[].embeddings.statistics.token_count (Vertex text embeddings), summed.
//
// Counts merge field by field, the last report of each field winning: Anthropic's
// message_delta output replaces message_start's, Gemini's last chunk carries the totals, and
// Bedrock's invocation metrics close the stream. Normalised, Input includes cached and
// cache-write tokens (and Gemini's tool-use prompt tokens, billed as input), Output includes
// reasoning tokens; an embeddings Output of 0 comes from total_tokens = prompt_tokens.
//
// The model is the request's "model" (JSON, or a multipart form field), else the response's
// (model, modelVersion, message.model, response.model), else the path's (Gemini and Vertex
// models/{model}:{action}, Azure deployments/{name}). For Bedrock the path's model id
// (unescaped, ARNs included) comes before the response's, which is only the short name.
//
// Item routes that return a stored object's usage (GET /chat/completions/{id},
// /responses/{id}, polled assistants runs) are not metered, so polling them never counts a
// call twice; neither is a body with a Content-Encoding (the gateway does not forward
// Accept-Encoding, so upstreams answer uncompressed).
package providers

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/passthru/gateway/shared/usage"
)

// Provider names.
const (
	OpenAI    = "openai"
	Anthropic = "anthropic"
	Cohere    = "cohere"
	Gemini    = "gemini"
	VertexAI  = "vertex_ai"
	Bedrock   = "bedrock"
)

// Body modes.
const (
	modeSniff       uint8 = iota // not yet known: decided by the first bytes
	modeJSON                     // one or more JSON texts (JSON, a JSON array, NDJSON)
	modeSSE                      // text/event-stream
	modeEventStream              // application/vnd.amazon.eventstream
	modeOff                      // nothing to read (binary, compressed, no body)
)

// Meter reads one exchange to find its usage. It is fed the bytes of the response as they go
// to the client, in order, and never alters or holds them back. It is safe for concurrent
// use.
type Meter struct {
	mu sync.Mutex

	provider  string // detected from the upstream URL
	pathShape string // the provider whose API the path has (shapeOfPath), the last resort
	shape     uint8  // providers recognised from the body (shapeAnthropic, shapeBedrock, ...)
	reqModel  string
	pathModel string
	respModel string
	pathFirst bool // the path's model outranks the response's (Bedrock model ids)

	mode  uint8
	sniff []byte // the first non-space bytes while the mode is undecided

	js  scanner
	sse sseParser
	es  esParser

	chunk []byte // a decoded Bedrock stream chunk (at most one event-stream message long)

	c counts
}

// Shapes a response can have that name a provider when its host does not. Gemini's
// usageMetadata is not one: Gemini and Vertex AI share it.
const (
	shapeAnthropic uint8 = 1 << iota
	shapeBedrock
	shapeOpenAI // OpenAI's usage field names (chat, completions, embeddings, Responses)
	shapeCohere // Cohere's billed_units / tokens
)

// NewMeter starts metering a response: upstream is the URL the request went to; request is a
// bounded prefix of the request body (may be truncated or empty; read for the model name);
// status and header are the upstream response's.
func NewMeter(upstream *url.URL, request []byte, status int, header http.Header) *Meter {
	m := &Meter{}
	var path, rawPath, host string
	if upstream != nil {
		host = strings.ToLower(upstream.Hostname())
		path, rawPath = upstream.Path, upstream.EscapedPath()
	}
	var buf, rawBuf [24]string
	segs := appendSegments(buf[:0], path)
	rawSegs := segs
	if rawPath != path {
		rawSegs = appendSegments(rawBuf[:0], rawPath)
	}
	m.provider = detect(host, path, segs)
	if m.provider == "" {
		m.pathShape = shapeOfPath(segs)
	}
	m.pathModel = modelFromPath(rawSegs)
	m.pathFirst = m.provider == Bedrock
	m.reqModel = requestModel(request)
	m.js.init(responseTrie, m, true)
	m.c.fromHeaders(header)

	ct := mediaType(headerValue(header, "Content-Type"))
	ce := strings.ToLower(strings.TrimSpace(headerValue(header, "Content-Encoding")))
	switch {
	case (status >= 100 && status < 200) || status == http.StatusNoContent || status == http.StatusNotModified:
		m.mode = modeOff
	case ce != "" && ce != "identity":
		m.mode = modeOff
	case !meteredPath(segs, ct == "text/event-stream"):
		m.mode = modeOff
	case ct == "text/event-stream":
		m.mode = modeSSE
	case ct == "application/vnd.amazon.eventstream":
		m.mode = modeEventStream
	default:
		m.mode = modeSniff
	}
	return m
}

// headerValue is header.Get for a name already in canonical form (as net/http keeps them),
// without canonicalising it again.
func headerValue(h http.Header, canonical string) string {
	if v := h[canonical]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// mediaType is a Content-Type without its parameters, lower-cased.
func mediaType(v string) string {
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	return strings.ToLower(strings.TrimSpace(v))
}

// Write feeds response bytes, in any chunking. It never fails and always returns len(p).
func (m *Meter) Write(p []byte) (int, error) {
	n := len(p)
	m.mu.Lock()
	m.write(p)
	m.mu.Unlock()
	return n, nil
}

func (m *Meter) write(p []byte) {
	if m.mode == modeSniff {
		p = m.decide(p)
	}
	if len(p) == 0 {
		return
	}
	switch m.mode {
	case modeJSON:
		m.js.write(p)
	case modeSSE:
		m.sse.write(p, m)
	case modeEventStream:
		m.es.write(p, m)
	}
}

// decide picks the body mode from its first non-space bytes and returns the bytes to parse
// (nil while still undecided).
func (m *Meter) decide(p []byte) []byte {
	if len(m.sniff) == 0 {
		i := 0
		for i < len(p) && isSpace(p[i]) {
			i++
		}
		p = p[i:]
		if len(p) == 0 {
			return nil
		}
		switch {
		case p[0] == '{' || p[0] == '[':
			m.mode = modeJSON
			return p
		case p[0] == 0 && m.provider == Bedrock:
			// an event stream's length prefix: Bedrock without a content type
			m.mode = modeEventStream
			return p
		}
	}
	// SSE without its content type: wait for enough bytes to see a field name.
	held := len(m.sniff)
	m.sniff = append(m.sniff, p[:min(len(p), sniffLen-held)]...)
	for _, f := range sseFields {
		if bytes.HasPrefix(m.sniff, []byte(f)) {
			m.mode = modeSSE
			out := append(m.sniff[:held:held], p...) // the bytes held back, then all of p
			m.sniff = nil
			return out
		}
	}
	if len(m.sniff) >= sniffLen || !couldBeSSE(m.sniff) {
		m.mode, m.sniff = modeOff, nil
	}
	return nil
}

const sniffLen = 8

var sseFields = []string{"data:", "event:", "id:", "retry:", ":"}

// couldBeSSE reports whether b is a prefix of an SSE field we would sniff.
func couldBeSSE(b []byte) bool {
	for _, f := range sseFields {
		if strings.HasPrefix(f, string(b)) {
			return true
		}
	}
	return false
}

// Tokens returns the usage found so far: complete once the body ended, partial (the counts
// seen so far) when it was cut. Provider is the detected provider, else the one the body's
// shape identifies (shapeProvider), else empty.
func (m *Meter) Tokens() usage.Tokens {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.c.tokens()
	t.Provider = m.provider
	if t.Provider == "" {
		t.Provider = m.shapeProvider()
	}
	t.Model = m.model()
	return t
}

// shapeProvider names the provider whose wire format the body had, for a compatible endpoint
// or a proxy on another host: Bedrock's invocation metrics first (Anthropic models on
// Bedrock send Anthropic events inside them), then Anthropic's event types, Cohere's units,
// OpenAI's usage names. It names the format, not who ran the model: a route's provider field
// says that.
func (m *Meter) shapeProvider() string {
	switch {
	case m.shape&shapeBedrock != 0:
		return Bedrock
	case m.shape&shapeAnthropic != 0:
		return Anthropic
	case m.shape&shapeCohere != 0:
		return Cohere
	case m.shape&shapeOpenAI != 0:
		return OpenAI
	}
	return m.pathShape
}

// shapeOfPath names the API a request path belongs to when the response said nothing (an
// error, a stream without a usage chunk): OpenAI's chat/completions, completions,
// embeddings and responses; Anthropic's v1/messages; Cohere's v2 chat, embed and rerank and
// v1 embed. Paths several APIs share (v1/rerank: Cohere and Jina) name none.
func shapeOfPath(segs []string) string {
	var a, b string // the last two segments
	if n := len(segs); n >= 2 {
		a, b = segs[n-2], segs[n-1]
	} else if n == 1 {
		b = segs[0]
	}
	switch {
	case b == "completions", b == "embeddings", b == "responses": // chat/completions too
		return OpenAI
	case a == "v1" && b == "messages":
		return Anthropic
	case a == "v2" && (b == "chat" || b == "embed" || b == "rerank"), a == "v1" && b == "embed":
		return Cohere
	}
	return ""
}

// Provider names the provider NewMeter detected from the upstream URL ("openai",
// "anthropic", "cohere", "gemini", "vertex_ai", "bedrock"), or "" when unknown.
func (m *Meter) Provider() string { return m.provider }

// model: the request's, else the response's, else the path's (for Bedrock the path's model
// id comes before the response's short model name).
func (m *Meter) model() string {
	switch {
	case m.reqModel != "":
		return m.reqModel
	case m.pathFirst && m.pathModel != "":
		return m.pathModel
	case m.respModel != "":
		return m.respModel
	}
	return m.pathModel
}

// want implements sink.
func (m *Meter) want(l leaf) bool {
	switch l {
	case leafModel:
		return m.respModel == "" && m.reqModel == "" && !(m.pathFirst && m.pathModel != "")
	case leafType:
		return m.provider == "" && m.shape&shapeAnthropic == 0
	}
	return true
}

// found implements sink: one captured value of a response record.
func (m *Meter) found(l leaf, raw []byte) {
	switch l {
	case leafUsage:
		m.shape |= m.c.usage(raw)
	case leafModel:
		if s, ok := jsonString(raw); ok && s != "" {
			m.respModel = s
		}
	case leafGemini:
		m.c.gemini(raw)
	case leafMeta:
		if m.c.cohereMeta(raw) {
			m.shape |= shapeCohere
		}
	case leafType:
		if s, ok := jsonString(raw); ok && isAnthropicType(s) {
			m.shape |= shapeAnthropic
		}
	case leafBedrock:
		m.shape |= shapeBedrock
		m.c.bedrockMetrics(raw)
	case leafInputExcl:
		if n, ok := parseCount(raw); ok {
			m.c.set(fInputExcl, n)
		}
	case leafOutput:
		if n, ok := parseCount(raw); ok {
			m.c.set(fOutput, n)
		}
	case leafSumInput:
		if n, ok := parseCount(raw); ok {
			m.c.add(fSumInput, n)
		}
	}
}

// data, eventName and dispatch implement events (SSE).
func (m *Meter) data(p []byte) { m.js.write(p) }

func (m *Meter) eventName(name []byte) {
	if m.provider == "" && isAnthropicType(string(name)) {
		m.shape |= shapeAnthropic
	}
}

func (m *Meter) dispatch() { m.js.reset() }

// frame implements frameHandler (AWS event stream).
func (m *Meter) frame(headers, payload []byte) {
	if mt := esHeader(headers, ":message-type"); mt != nil && string(mt) != "event" {
		return // exceptions and errors carry no usage
	}
	if string(esHeader(headers, ":event-type")) == "chunk" {
		// InvokeModelWithResponseStream: {"bytes":"<base64 of the model's chunk>","p":"…"}
		v, ok := member(payload, "bytes")
		if !ok || len(v) < 2 || v[0] != '"' {
			return
		}
		b64 := v[1 : len(v)-1]
		if bytes.IndexByte(b64, '\\') >= 0 {
			s, ok := jsonString(v) // an escaped "\/": rare
			if !ok {
				return
			}
			b64 = []byte(s)
		}
		m.chunk = slices.Grow(m.chunk[:0], base64.StdEncoding.DecodedLen(len(b64)))[:base64.StdEncoding.DecodedLen(len(b64))]
		n, err := base64.StdEncoding.Decode(m.chunk, b64)
		if err != nil {
			return
		}
		payload = m.chunk[:n]
	}
	// a ConverseStream event (metadata carries usage), or a model's chunk
	m.js.reset()
	m.js.write(payload)
	m.js.reset()
}

func isAnthropicType(s string) bool {
	switch s {
	case "message", "message_start", "message_delta", "message_stop",
		"content_block_start", "content_block_delta", "content_block_stop":
		return true
	}
	return false
}

// detect names the provider from the upstream host, else from a provider-specific path
// (Bedrock runtime, Vertex and Gemini model actions). Paths every OpenAI- or
// Anthropic-compatible server shares (/chat/completions, /v1/messages…) name no provider.
func detect(host, path string, segs []string) string {
	switch {
	case host == "api.openai.com", strings.HasSuffix(host, ".openai.azure.com"):
		return OpenAI
	case (strings.HasSuffix(host, ".cognitiveservices.azure.com") || strings.HasSuffix(host, ".services.ai.azure.com")) &&
		strings.HasPrefix(path, "/openai/"):
		return OpenAI // Azure OpenAI on the newer resource domains
	case host == "api.anthropic.com":
		return Anthropic
	case host == "api.cohere.com", host == "api.cohere.ai",
		strings.HasSuffix(host, ".cohere.com"), strings.HasSuffix(host, ".cohere.ai"):
		return Cohere
	case host == "generativelanguage.googleapis.com":
		return Gemini
	case strings.HasSuffix(host, "aiplatform.googleapis.com"):
		return VertexAI
	case isBedrockHost(host):
		return Bedrock
	}
	if _, ok := bedrockModel(segs); ok {
		return Bedrock
	}
	if i := strings.LastIndexByte(path, ':'); i >= 0 && isGoogleAction(path[i+1:]) && strings.Contains(path, "/models/") {
		if strings.Contains(path, "/projects/") && strings.Contains(path, "/locations/") {
			return VertexAI
		}
		return Gemini
	}
	return ""
}

// isBedrockHost matches bedrock-runtime[-fips].{region}.amazonaws.com[.cn] and its VPC
// endpoint names (vpce-….bedrock-runtime.{region}.vpce.amazonaws.com).
func isBedrockHost(host string) bool {
	if !strings.HasSuffix(host, ".amazonaws.com") && !strings.HasSuffix(host, ".amazonaws.com.cn") {
		return false
	}
	return strings.HasPrefix(host, "bedrock-runtime.") || strings.HasPrefix(host, "bedrock-runtime-fips.") ||
		strings.Contains(host, ".bedrock-runtime.") || strings.Contains(host, ".bedrock-runtime-fips.")
}

func isGoogleAction(a string) bool {
	switch a {
	case "generateContent", "streamGenerateContent", "embedContent", "batchEmbedContents",
		"predict", "rawPredict", "streamRawPredict", "countTokens":
		return true
	}
	return false
}

// meteredPath is false for item routes that return a stored object (and its usage) rather
// than a new call: GET /v1/chat/completions/{id}, /v1/responses/{id}[/…], and assistants
// threads unless streamed (a streamed run reports its usage once; a polled run, every time).
func meteredPath(segs []string, streamed bool) bool {
	for i, s := range segs {
		switch {
		case s == "threads" && !streamed:
			return false
		case s == "responses" && i+1 < len(segs) && segs[i+1] != "compact":
			return false
		case s == "completions" && i > 0 && segs[i-1] == "chat" && i+1 < len(segs):
			return false
		}
	}
	return true
}

// appendSegments appends the non-empty segments of path to segs.
func appendSegments(segs []string, path string) []string {
	for path != "" {
		var seg string
		seg, path, _ = strings.Cut(path, "/")
		if seg != "" {
			segs = append(segs, seg)
		}
	}
	return segs
}

var bedrockActions = map[string]bool{
	"invoke": true, "invoke-with-response-stream": true, "converse": true, "converse-stream": true,
}

// bedrockModel finds {modelId} in …/model/{modelId}/{action}; the id may span segments (an
// ARN with unescaped slashes). segs are escaped segments; the id is returned unescaped.
func bedrockModel(segs []string) (string, bool) {
	if len(segs) < 3 || !bedrockActions[segs[len(segs)-1]] {
		return "", false
	}
	for i, s := range segs[:len(segs)-2] {
		if s == "model" {
			id := strings.Join(segs[i+1:len(segs)-1], "/")
			if u, err := url.PathUnescape(id); err == nil {
				id = u
			}
			return id, id != ""
		}
	}
	return "", false
}

// modelFromPath reads the model from a Bedrock, Vertex/Gemini or Azure OpenAI path
// (escaped, so that an ARN's %2F stays inside its segment until unescaped).
func modelFromPath(segs []string) string {
	if id, ok := bedrockModel(segs); ok {
		return id
	}
	for i := len(segs) - 2; i >= 0; i-- {
		switch segs[i] {
		case "models":
			// …/models/{model}:{action}
			name := segs[i+1]
			if c := strings.IndexByte(name, ':'); c >= 0 {
				name = name[:c]
			} else if c := strings.Index(name, "%3A"); c >= 0 {
				name = name[:c]
			}
			if u, err := url.PathUnescape(name); err == nil {
				name = u
			}
			if name != "" {
				return name
			}
		case "deployments":
			// Azure OpenAI: /openai/deployments/{deployment}/…
			if i > 0 && segs[i-1] == "openai" {
				if u, err := url.PathUnescape(segs[i+1]); err == nil {
					return u
				}
			}
		}
	}
	return ""
}

// requestModel reads the top-level "model" of a JSON request prefix, or the "model" field of
// a multipart form (audio transcriptions).
func requestModel(req []byte) string {
	if i := skipSpace(req, 0); i < len(req) && req[i] == '{' {
		v, _ := member(req, "model")
		s, _ := jsonString(v)
		return s
	}
	const field = `name="model"`
	i := bytes.Index(req, []byte(field))
	if i < 0 {
		return ""
	}
	rest := req[i+len(field):]
	j := bytes.Index(rest, []byte("\r\n\r\n"))
	if j < 0 {
		return ""
	}
	rest = rest[j+4:]
	k := bytes.Index(rest, []byte("\r\n"))
	if k < 0 || k > 256 {
		return ""
	}
	return strings.TrimSpace(string(rest[:k]))
}

// jsonString decodes a JSON string value.
func jsonString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// maxCount bounds a count: no real one comes near it, and sums of a few stay far from
// overflowing.
const maxCount = 1 << 53

// parseCount reads a token count: a JSON integer, an integral float (Cohere's billed units
// are doubles) or a numeric string; negative, fractional or absurd values are not counts.
func parseCount(raw []byte) (int64, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' {
		raw = raw[1 : len(raw)-1]
	}
	if len(raw) == 0 {
		return 0, false
	}
	if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
		return n, n >= 0 && n <= maxCount
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f < 0 || f > maxCount || f != float64(int64(f)) {
		return 0, false
	}
	return int64(f), true
}
