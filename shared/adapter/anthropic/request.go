// Package anthropic serves Anthropic's Messages API from an OpenAI-format chat backend: it
// translates a /v1/messages request into a /chat/completions one, and the backend's answer
// (a JSON completion, or its SSE stream, incrementally) back into Anthropic's message and
// event shapes, as LiteLLM's anthropic adapter does (litellm-providers.md §3), with the
// stream translated event by event instead of buffered.
package anthropic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Request is a parsed and validated Messages request.
type Request struct {
	Model  string // as the client asked for it
	Stream bool
	req    messagesRequest
}

type messagesRequest struct {
	Model         string          `json:"model"`
	Messages      []message       `json:"messages"`
	System        json.RawMessage `json:"system"`
	MaxTokens     *int64          `json:"max_tokens"`
	Temperature   *float64        `json:"temperature"`
	TopP          *float64        `json:"top_p"`
	StopSequences []string        `json:"stop_sequences"`
	Stream        bool            `json:"stream"`
	Metadata      *struct {
		UserID string `json:"user_id"`
	} `json:"metadata"`
	Tools      []tool      `json:"tools"`
	ToolChoice *toolChoice `json:"tool_choice"`
	Thinking   *struct {
		Type         string `json:"type"`
		BudgetTokens int64  `json:"budget_tokens"`
	} `json:"thinking"`
}

type message struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type block struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	Source    *imageSource    `json:"source"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	ToolUseID string          `json:"tool_use_id"`
	Content   json.RawMessage `json:"content"`
}

type imageSource struct {
	Type      string `json:"type"`
	MediaType string `json:"media_type"`
	Data      string `json:"data"`
	URL       string `json:"url"`
}

type tool struct {
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	InputSchema json.RawMessage `json:"input_schema"`
}

type toolChoice struct {
	Type                   string `json:"type"`
	Name                   string `json:"name"`
	DisableParallelToolUse bool   `json:"disable_parallel_tool_use"`
}

// Error is a request the adapter refuses, or an error to send in Anthropic's shape.
type Error struct {
	Status  int
	Type    string
	Message string
}

func (e *Error) Error() string { return e.Message }

func badRequest(format string, args ...any) *Error {
	return &Error{Status: 400, Type: "invalid_request_error", Message: fmt.Sprintf(format, args...)}
}

// ParseRequest reads and validates a Messages request body. A body Anthropic's API would
// refuse is a 400 *Error (streaming or not: the client learns it before any stream starts).
func ParseRequest(body []byte) (*Request, *Error) {
	var r messagesRequest
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, badRequest("The request body is not a valid Messages request: %v", err)
	}
	switch {
	case r.Model == "":
		return nil, badRequest("model: Field required")
	case r.MaxTokens == nil:
		return nil, badRequest("max_tokens: Field required")
	case *r.MaxTokens < 1:
		return nil, badRequest("max_tokens: must be at least 1")
	case len(r.Messages) == 0:
		return nil, badRequest("messages: at least one message is required")
	}
	for i, m := range r.Messages {
		if m.Role != "user" && m.Role != "assistant" {
			return nil, badRequest("messages.%d.role: must be \"user\" or \"assistant\", found %q", i, m.Role)
		}
	}
	return &Request{Model: r.Model, Stream: r.Stream, req: r}, nil
}

// Backend says how the request goes to the backend.
type Backend struct {
	// Model is the backend's model name ("": the client's).
	Model string
}

// OpenAI translates the request into an OpenAI chat completions body for the backend, and
// returns the tool names it shortened (to restore them in the answer).
func (r *Request) OpenAI(b Backend) ([]byte, ToolNames, *Error) {
	model := b.Model
	if model == "" {
		model = r.Model
	}
	names := ToolNames{}
	out := chatRequest{Model: model, Temperature: r.req.Temperature, TopP: r.req.TopP, Stop: r.req.StopSequences}
	if reasoningModel(model) {
		out.MaxCompletionTokens = r.req.MaxTokens
	} else {
		out.MaxTokens = r.req.MaxTokens
	}
	if r.req.Stream {
		out.Stream, out.StreamOptions = true, &streamOptions{IncludeUsage: true}
	}
	if r.req.Metadata != nil {
		out.User = r.req.Metadata.UserID
	}
	if err := r.system(&out); err != nil {
		return nil, nil, err
	}
	for i, m := range r.req.Messages {
		msgs, err := translateMessage(i, m, names)
		if err != nil {
			return nil, nil, err
		}
		out.Messages = append(out.Messages, msgs...)
	}
	if err := r.tools(&out, names); err != nil {
		return nil, nil, err
	}
	r.thinking(&out, model)
	body, err := json.Marshal(out)
	if err != nil {
		return nil, nil, badRequest("The request cannot be translated: %v", err)
	}
	return body, names, nil
}

// reasoningModel: OpenAI's reasoning models refuse max_tokens and take max_completion_tokens.
func reasoningModel(model string) bool {
	m := model[strings.LastIndexByte(model, '/')+1:]
	for _, p := range []string{"o1", "o3", "o4", "gpt-5"} {
		if m == p || strings.HasPrefix(m, p+"-") {
			return true
		}
	}
	return false
}

// thinking: a Claude backend keeps Anthropic's thinking; others get OpenAI's reasoning_effort,
// from the budget (LiteLLM derives it the same way).
func (r *Request) thinking(out *chatRequest, model string) {
	t := r.req.Thinking
	if t == nil || t.Type != "enabled" {
		return
	}
	if strings.Contains(strings.ToLower(model), "claude") {
		out.Thinking, _ = json.Marshal(t)
		return
	}
	switch {
	case t.BudgetTokens >= 10000:
		out.ReasoningEffort = "high"
	case t.BudgetTokens >= 5000:
		out.ReasoningEffort = "medium"
	default:
		out.ReasoningEffort = "low"
	}
}

func (r *Request) system(out *chatRequest) *Error {
	s := bytes.TrimSpace(r.req.System)
	if len(s) == 0 || string(s) == "null" {
		return nil
	}
	text, err := textOf(s, "system")
	if err != nil {
		return err
	}
	out.Messages = append(out.Messages, chatMessage{Role: "system", Content: text})
	return nil
}

// textOf reads a string or a list of text blocks as one string (blocks joined by a blank
// line; cache_control dropped: OpenAI-format backends have none).
func textOf(raw json.RawMessage, field string) (string, *Error) {
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", badRequest("%s: %v", field, err)
		}
		return s, nil
	}
	var blocks []block
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return "", badRequest("%s: must be a string or a list of text blocks", field)
	}
	parts := make([]string, 0, len(blocks))
	for i, b := range blocks {
		if b.Type != "text" {
			return "", badRequest("%s.%d: only text blocks are supported here, found %q", field, i, b.Type)
		}
		parts = append(parts, b.Text)
	}
	return strings.Join(parts, "\n\n"), nil
}

func (r *Request) tools(out *chatRequest, names ToolNames) *Error {
	for i, t := range r.req.Tools {
		if t.Type != "" && t.Type != "custom" {
			return badRequest("tools.%d: Anthropic's hosted tool %q cannot run on an OpenAI-format backend", i, t.Type)
		}
		if t.Name == "" {
			return badRequest("tools.%d.name: Field required", i)
		}
		params := t.InputSchema
		if len(params) == 0 {
			params = json.RawMessage(`{"type":"object","properties":{}}`)
		}
		out.Tools = append(out.Tools, chatTool{Type: "function", Function: chatFunction{Name: names.short(t.Name), Description: t.Description, Parameters: params}})
	}
	c := r.req.ToolChoice
	if c == nil {
		return nil
	}
	switch c.Type {
	case "auto":
		out.ToolChoice = "auto"
	case "any":
		out.ToolChoice = "required"
	case "none":
		out.ToolChoice = "none"
	case "tool":
		if c.Name == "" {
			return badRequest("tool_choice.name: Field required for type \"tool\"")
		}
		out.ToolChoice = namedChoice{Type: "function", Function: struct {
			Name string `json:"name"`
		}{names.short(c.Name)}}
	default:
		return badRequest("tool_choice.type: must be auto, any, tool or none, found %q", c.Type)
	}
	if c.DisableParallelToolUse && len(out.Tools) > 0 {
		f := false
		out.ParallelToolCalls = &f
	}
	return nil
}

// translateMessage turns one Anthropic message into OpenAI messages: a user message's
// tool_result blocks become tool messages, before the rest of its content; an assistant's
// tool_use blocks become tool_calls.
func translateMessage(i int, m message, names ToolNames) ([]chatMessage, *Error) {
	raw := bytes.TrimSpace(m.Content)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, badRequest("messages.%d.content: Field required", i)
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, badRequest("messages.%d.content: %v", i, err)
		}
		return []chatMessage{{Role: m.Role, Content: s}}, nil
	}
	var blocks []block
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return nil, badRequest("messages.%d.content: must be a string or a list of content blocks", i)
	}
	if m.Role == "assistant" {
		msg, err := assistantMessage(i, blocks, names)
		return []chatMessage{msg}, err
	}
	return userMessages(i, blocks)
}

func userMessages(i int, blocks []block) ([]chatMessage, *Error) {
	var out []chatMessage
	var parts []contentPart
	for j, b := range blocks {
		switch b.Type {
		case "text":
			parts = append(parts, contentPart{Type: "text", Text: &b.Text})
		case "image":
			p, err := imagePart(b.Source)
			if err != nil {
				return nil, badRequest("messages.%d.content.%d: %s", i, j, err.Message)
			}
			parts = append(parts, p)
		case "tool_result":
			text, err := toolResultText(b.Content)
			if err != nil {
				return nil, badRequest("messages.%d.content.%d.content: %s", i, j, err.Message)
			}
			out = append(out, chatMessage{Role: "tool", ToolCallID: b.ToolUseID, Content: text})
		default:
			return nil, badRequest("messages.%d.content.%d: content block type %q is not supported by the adapter", i, j, b.Type)
		}
	}
	if len(parts) > 0 {
		out = append(out, chatMessage{Role: "user", Content: parts})
	}
	return out, nil
}

func imagePart(s *imageSource) (contentPart, *Error) {
	switch {
	case s == nil:
		return contentPart{}, badRequest("image: source: Field required")
	case s.Type == "base64":
		return contentPart{Type: "image_url", ImageURL: &imageURL{URL: "data:" + s.MediaType + ";base64," + s.Data}}, nil
	case s.Type == "url":
		return contentPart{Type: "image_url", ImageURL: &imageURL{URL: s.URL}}, nil
	}
	return contentPart{}, badRequest("image: source.type must be base64 or url, found %q", s.Type)
}

// toolResultText reads a tool_result's content: a string, or text blocks joined by newlines.
func toolResultText(raw json.RawMessage) (string, *Error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", badRequest("not a string")
		}
		return s, nil
	}
	var blocks []block
	if json.Unmarshal(raw, &blocks) != nil {
		return "", badRequest("must be a string or a list of text blocks")
	}
	parts := make([]string, 0, len(blocks))
	for _, b := range blocks {
		if b.Type != "text" {
			return "", badRequest("only text blocks can go back to an OpenAI-format backend in a tool result, found %q", b.Type)
		}
		parts = append(parts, b.Text)
	}
	return strings.Join(parts, "\n"), nil
}

func assistantMessage(i int, blocks []block, names ToolNames) (chatMessage, *Error) {
	msg := chatMessage{Role: "assistant"}
	var text strings.Builder
	hasText := false
	for j, b := range blocks {
		switch b.Type {
		case "text":
			text.WriteString(b.Text)
			hasText = true
		case "tool_use":
			args := "{}"
			if in := bytes.TrimSpace(b.Input); len(in) > 0 && string(in) != "null" {
				var buf bytes.Buffer
				if err := json.Compact(&buf, in); err != nil {
					return msg, badRequest("messages.%d.content.%d.input: %v", i, j, err)
				}
				args = buf.String()
			}
			msg.ToolCalls = append(msg.ToolCalls, toolCall{ID: b.ID, Type: "function", Function: callFunction{Name: names.short(b.Name), Arguments: args}})
		case "thinking", "redacted_thinking":
			// An OpenAI-format backend cannot take earlier reasoning back: dropped.
		default:
			return msg, badRequest("messages.%d.content.%d: content block type %q is not supported by the adapter", i, j, b.Type)
		}
	}
	if hasText {
		msg.Content = text.String()
	}
	return msg, nil
}

// The OpenAI request, fields in the order they are sent.
type chatRequest struct {
	Model               string          `json:"model"`
	Messages            []chatMessage   `json:"messages"`
	MaxTokens           *int64          `json:"max_tokens,omitempty"`
	MaxCompletionTokens *int64          `json:"max_completion_tokens,omitempty"`
	Temperature         *float64        `json:"temperature,omitempty"`
	TopP                *float64        `json:"top_p,omitempty"`
	Stop                []string        `json:"stop,omitempty"`
	Stream              bool            `json:"stream,omitempty"`
	StreamOptions       *streamOptions  `json:"stream_options,omitempty"`
	Tools               []chatTool      `json:"tools,omitempty"`
	ToolChoice          any             `json:"tool_choice,omitempty"`
	ParallelToolCalls   *bool           `json:"parallel_tool_calls,omitempty"`
	User                string          `json:"user,omitempty"`
	ReasoningEffort     string          `json:"reasoning_effort,omitempty"`
	Thinking            json.RawMessage `json:"thinking,omitempty"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type chatMessage struct {
	Role       string     `json:"role"`
	Content    any        `json:"content"` // a string, a list of parts, or null (tool calls only)
	ToolCalls  []toolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
}

type contentPart struct {
	Type     string    `json:"type"`
	Text     *string   `json:"text,omitempty"` // set on text parts, even when empty
	ImageURL *imageURL `json:"image_url,omitempty"`
}

type imageURL struct {
	URL string `json:"url"`
}

type toolCall struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Function callFunction `json:"function"`
}

type callFunction struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

type chatTool struct {
	Type     string       `json:"type"`
	Function chatFunction `json:"function"`
}

type chatFunction struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters"`
}

type namedChoice struct {
	Type     string `json:"type"`
	Function struct {
		Name string `json:"name"`
	} `json:"function"`
}
