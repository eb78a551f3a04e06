package anthropic

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// chatResponse is the part of an OpenAI chat completion the translation reads.
type chatResponse struct {
	ID      string `json:"id"`
	Choices []struct {
		Message struct {
			Content          *string    `json:"content"`
			ReasoningContent string     `json:"reasoning_content"`
			Reasoning        string     `json:"reasoning"` // OpenRouter's name for it
			ToolCalls        []toolCall `json:"tool_calls"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage *chatUsage `json:"usage"`
}

type chatUsage struct {
	PromptTokens        int64 `json:"prompt_tokens"`
	CompletionTokens    int64 `json:"completion_tokens"`
	PromptTokensDetails *struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	// CacheCreationInputTokens: some OpenAI-format servers in front of Claude report it.
	CacheCreationInputTokens int64    `json:"cache_creation_input_tokens"`
	Cost                     *float64 `json:"cost"`
}

// Response translates a backend's chat completion into an Anthropic message; model is the
// model the client asked for, names the tool names the request shortened.
func Response(body []byte, model string, names ToolNames) ([]byte, *Error) {
	var r chatResponse
	if err := json.Unmarshal(body, &r); err != nil || len(r.Choices) == 0 {
		return nil, &Error{Status: http.StatusBadGateway, Type: "api_error", Message: "The backend's answer is not an OpenAI chat completion."}
	}
	ch := r.Choices[0]
	if ch.Message.ReasoningContent == "" {
		ch.Message.ReasoningContent = ch.Message.Reasoning
	}
	b := make([]byte, 0, len(body)+128)
	b = append(b, `{"id":`...)
	b = appendString(b, messageID(r.ID))
	b = append(b, `,"type":"message","role":"assistant","model":`...)
	b = appendString(b, model)
	b = append(b, `,"content":[`...)
	n := 0
	sep := func() {
		if n > 0 {
			b = append(b, ',')
		}
		n++
	}
	if ch.Message.ReasoningContent != "" {
		sep()
		b = append(b, `{"type":"thinking","thinking":`...)
		b = appendString(b, ch.Message.ReasoningContent)
		b = append(b, `,"signature":""}`...)
	}
	if c := ch.Message.Content; c != nil && *c != "" {
		sep()
		b = append(b, `{"type":"text","text":`...)
		b = appendString(b, *c)
		b = append(b, '}')
	}
	for i, tc := range ch.Message.ToolCalls {
		sep()
		b = append(b, `{"type":"tool_use","id":`...)
		b = appendString(b, toolID(tc.ID, i))
		b = append(b, `,"name":`...)
		b = appendString(b, names.restore(tc.Function.Name))
		b = append(b, `,"input":`...)
		b = appendInput(b, tc.Function.Arguments)
		b = append(b, '}')
	}
	b = append(b, `],"stop_reason":`...)
	b = appendString(b, StopReason(ch.FinishReason))
	b = append(b, `,"stop_sequence":null,"usage":`...)
	b = appendUsage(b, r.Usage, false)
	return append(b, '}'), nil
}

// appendInput appends a tool call's arguments as the tool_use input object: {} when empty or
// not a JSON object (a model's malformed arguments cannot be passed on as an input).
func appendInput(b []byte, args string) []byte {
	args = strings.TrimSpace(args)
	if args == "" || args[0] != '{' || !json.Valid([]byte(args)) {
		return append(b, "{}"...)
	}
	var buf bytes.Buffer
	_ = json.Compact(&buf, []byte(args))
	return append(b, buf.Bytes()...)
}

// appendUsage appends Anthropic's usage object: input_tokens excludes the cached tokens
// (OpenAI's prompt_tokens includes them); cost is added when asked and the backend's usage
// carries one (the gateway's include_cost_in_streaming_usage puts it there).
func appendUsage(b []byte, u *chatUsage, withCost bool) []byte {
	var in, out, cached, created int64
	if u != nil {
		out, created = u.CompletionTokens, u.CacheCreationInputTokens
		if u.PromptTokensDetails != nil {
			cached = u.PromptTokensDetails.CachedTokens
		}
		in = max(u.PromptTokens-cached-created, 0)
	}
	b = append(b, `{"input_tokens":`...)
	b = strconv.AppendInt(b, in, 10)
	b = append(b, `,"output_tokens":`...)
	b = strconv.AppendInt(b, out, 10)
	b = append(b, `,"cache_creation_input_tokens":`...)
	b = strconv.AppendInt(b, created, 10)
	b = append(b, `,"cache_read_input_tokens":`...)
	b = strconv.AppendInt(b, cached, 10)
	if withCost && u != nil && u.Cost != nil {
		b = append(b, `,"cost":`...)
		b = strconv.AppendFloat(b, *u.Cost, 'g', -1, 64)
	}
	return append(b, '}')
}

// toolID is a tool call's id, or one made up from its position for a backend that sent none
// (the client must have one to answer with a tool_result).
func toolID(id string, n int) string {
	if id != "" {
		return id
	}
	return "toolu_" + strconv.Itoa(n)
}

// StopReason maps an OpenAI finish_reason to Anthropic's stop_reason.
func StopReason(finish string) string {
	switch finish {
	case "length":
		return "max_tokens"
	case "tool_calls", "function_call":
		return "tool_use"
	case "content_filter":
		return "refusal"
	}
	return "end_turn"
}

// messageID is the message id: the backend's id with Anthropic's msg_ prefix, else a random one.
func messageID(upstream string) string {
	upstream = strings.TrimPrefix(upstream, "chatcmpl-")
	if upstream == "" {
		var r [12]byte
		_, _ = rand.Read(r[:])
		upstream = hex.EncodeToString(r[:])
	}
	return "msg_" + upstream
}

// ErrorType is Anthropic's error type for an HTTP status
// (https://docs.anthropic.com/en/api/errors).
func ErrorType(status int) string {
	switch status {
	case 400:
		return "invalid_request_error"
	case 401:
		return "authentication_error"
	case 402:
		return "billing_error"
	case 403:
		return "permission_error"
	case 404:
		return "not_found_error"
	case 413:
		return "request_too_large"
	case 429:
		return "rate_limit_error"
	case 504:
		return "timeout_error"
	case 529:
		return "overloaded_error"
	}
	if status >= 400 && status < 500 {
		return "invalid_request_error"
	}
	return "api_error"
}

// ErrorBody is an error in Anthropic's shape: {"type":"error","error":{"type","message"}}.
func ErrorBody(status int, message string) []byte {
	b := append([]byte(`{"type":"error","error":{"type":`), strconv.Quote(ErrorType(status))...)
	b = append(b, `,"message":`...)
	b = appendString(b, message)
	return append(b, "}}"...)
}

// ErrorMessage reads the message of an error body: OpenAI's and LiteLLM's error.message (a
// string or an object), a top-level message or detail, else the body's text, else the
// status text.
func ErrorMessage(status int, body []byte) string {
	var e struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
		Detail  string          `json:"detail"`
	}
	if json.Unmarshal(body, &e) == nil {
		var inner struct {
			Message json.RawMessage `json:"message"`
		}
		var s string
		switch {
		case json.Unmarshal(e.Error, &inner) == nil && json.Unmarshal(inner.Message, &s) == nil && s != "":
			return s
		case len(inner.Message) > 0 && string(inner.Message) != "null":
			return string(inner.Message)
		case json.Unmarshal(e.Error, &s) == nil && s != "":
			return s
		case e.Message != "":
			return e.Message
		case e.Detail != "":
			return e.Detail
		}
	}
	if t := strings.TrimSpace(string(body)); t != "" && utf8.ValidString(t) {
		if len(t) > 1024 {
			t = t[:1024] + "..."
		}
		return t
	}
	return http.StatusText(status)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. s is valid UTF-8 (it came out of a JSON decoder or
// the configuration); control characters, quotes and backslashes are escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
