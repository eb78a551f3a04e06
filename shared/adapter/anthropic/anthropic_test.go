package anthropic

import (
	"bytes"
	"strings"
	"testing"
)

// Requests Anthropic's API refuses are refused with a 400 and Anthropic's error type, before
// anything is sent (streaming or not).
func TestBadRequests(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"not JSON", `{"model":`, "The request body is not a valid Messages request: unexpected end of JSON input"},
		{"messages not objects (LiteLLM's streaming case)", `{"model":"m","max_tokens":5,"stream":true,"messages":["hi"]}`, "The request body is not a valid Messages request: json: cannot unmarshal string into Go struct field messagesRequest.messages of type anthropic.message"},
		{"no model", `{"max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, "model: Field required"},
		{"no max_tokens", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, "max_tokens: Field required"},
		{"zero max_tokens", `{"model":"m","max_tokens":0,"messages":[{"role":"user","content":"hi"}]}`, "max_tokens: must be at least 1"},
		{"no messages", `{"model":"m","max_tokens":5,"messages":[]}`, "messages: at least one message is required"},
		{"system role", `{"model":"m","max_tokens":5,"messages":[{"role":"system","content":"hi"}]}`, `messages.0.role: must be "user" or "assistant", found "system"`},
		{"no content", `{"model":"m","max_tokens":5,"messages":[{"role":"user"}]}`, "messages.0.content: Field required"},
		{"document block", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"document","source":{}}]}]}`, `messages.0.content.0: content block type "document" is not supported by the adapter`},
		{"image without source", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"image"}]}]}`, "messages.0.content.0: image: source: Field required"},
		{"image in tool result", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"image"}]}]}]}`, `messages.0.content.0.content: only text blocks can go back to an OpenAI-format backend in a tool result, found "image"`},
		{"hosted tool", `{"model":"m","max_tokens":5,"tools":[{"type":"web_search_20250305","name":"web_search"}],"messages":[{"role":"user","content":"hi"}]}`, `tools.0: Anthropic's hosted tool "web_search_20250305" cannot run on an OpenAI-format backend`},
		{"unknown tool_choice", `{"model":"m","max_tokens":5,"tool_choice":{"type":"sometimes"},"messages":[{"role":"user","content":"hi"}]}`, `tool_choice.type: must be auto, any, tool or none, found "sometimes"`},
		{"system image", `{"model":"m","max_tokens":5,"system":[{"type":"image"}],"messages":[{"role":"user","content":"hi"}]}`, `system.0: only text blocks are supported here, found "image"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := ParseRequest([]byte(tt.body))
			if err == nil {
				_, _, err = req.OpenAI(Backend{})
			}
			if err == nil {
				t.Fatal("no error")
			}
			if err.Status != 400 || err.Type != "invalid_request_error" || err.Message != tt.want {
				t.Errorf("error = %d %s %q, want 400 invalid_request_error %q", err.Status, err.Type, err.Message, tt.want)
			}
		})
	}
}

// Each source event's translation is written as soon as it is fed, in one Write; only
// message_delta waits, for the usage chunk that follows finish_reason.
func TestStreamWritesEachEventAsItArrives(t *testing.T) {
	in := events(read(t, "streams/text_only.in.sse"))
	var writes []string
	s := NewStream(writerFunc(func(p []byte) { writes = append(writes, string(p)) }), "claude-x", nil, false)
	want := [][]string{
		{"message_start"},
		{"content_block_start", "content_block_delta"},
		{"content_block_delta"},
		{"content_block_stop"},
		{"message_delta", "message_stop"},
		nil, // [DONE]: all was sent already
	}
	for i, ev := range in {
		writes = nil
		if _, err := s.Write(ev); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, w := range writes {
			got = append(got, eventNames(w)...)
		}
		if len(writes) > 1 {
			t.Errorf("event %d: %d writes, want at most one", i, len(writes))
		}
		if strings.Join(got, ",") != strings.Join(want[i], ",") {
			t.Errorf("event %d: wrote %v, want %v", i, got, want[i])
		}
	}
	writes = nil
	if err := s.Close(); err != nil || len(writes) != 0 {
		t.Errorf("Close wrote %q, %v; want nothing", writes, err)
	}
}

// A stream that ends after finish_reason without a usage chunk (a backend that ignores
// include_usage) still completes, with zero counts; one that ends after message_stop is not
// failed by a later connection error.
func TestStreamEndings(t *testing.T) {
	finish := `data: {"id":"c","choices":[{"index":0,"delta":{"content":"x"},"finish_reason":"stop"}]}` + "\n\n"
	var out bytes.Buffer
	s := NewStream(&out, "m", nil, false)
	_, _ = s.Write([]byte(finish))
	if strings.Contains(out.String(), "message_delta") {
		t.Fatalf("message_delta sent before usage or the end: %s", out.String())
	}
	_ = s.Close()
	if got := eventNames(out.String()); strings.Join(got, ",") != "message_start,content_block_start,content_block_delta,content_block_stop,message_delta,message_stop" {
		t.Errorf("events = %v", got)
	}
	_ = s.Fail("cut")
	if strings.Contains(out.String(), "event: error") {
		t.Errorf("an error event followed message_stop")
	}

	out.Reset()
	s = NewStream(&out, "m", nil, false)
	_, _ = s.Write([]byte(`data: {"id":"c","choices":[{"index":0,"delta":{"content":"x"}}]}` + "\n\n"))
	_ = s.Fail("The backend's connection failed mid-stream.")
	if !strings.HasSuffix(out.String(), "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"The backend's connection failed mid-stream.\"}}\n\n") || !s.Complete() {
		t.Errorf("output = %q", out.String())
	}
}

func TestErrors(t *testing.T) {
	for status, typ := range map[int]string{400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
		404: "not_found_error", 405: "invalid_request_error", 413: "request_too_large", 429: "rate_limit_error",
		500: "api_error", 502: "api_error", 503: "api_error", 504: "timeout_error", 529: "overloaded_error"} {
		if got := ErrorType(status); got != typ {
			t.Errorf("ErrorType(%d) = %q, want %q", status, got, typ)
		}
	}
	if got := string(ErrorBody(401, "Bad \"key\"")); got != `{"type":"error","error":{"type":"authentication_error","message":"Bad \"key\""}}` {
		t.Errorf("ErrorBody = %s", got)
	}
	for _, tt := range []struct{ body, want string }{
		{`{"error":{"message":"Invalid model","type":"invalid_request_error","param":null,"code":null}}`, "Invalid model"},
		{`{"error":{"message":{"detail":"x"}}}`, `{"detail":"x"}`},
		{`{"error":"plain"}`, "plain"},
		{`{"message":"top"}`, "top"},
		{`{"detail":"fastapi"}`, "fastapi"},
		{`upstream exploded`, "upstream exploded"},
		{``, "Service Unavailable"},
	} {
		if got := ErrorMessage(503, []byte(tt.body)); got != tt.want {
			t.Errorf("ErrorMessage(%s) = %q, want %q", tt.body, got, tt.want)
		}
	}
	if _, err := Response([]byte(`<html>`), "m", nil); err == nil || err.Status != 502 {
		t.Errorf("Response(html) = %v, want a 502", err)
	}
}

func TestAppendString(t *testing.T) {
	got := string(appendString(nil, "a\"b\\c\nd\te\x01f\u2028é"))
	if want := `"a\"b\\c\nd\te\u0001f` + "\u2028é\""; got != want {
		t.Errorf("appendString = %s, want %s", got, want)
	}
}

type writerFunc func(p []byte)

func (f writerFunc) Write(p []byte) (int, error) { f(append([]byte(nil), p...)); return len(p), nil }

func eventNames(s string) []string {
	var names []string
	for _, line := range strings.Split(s, "\n") {
		if n, ok := strings.CutPrefix(line, "event: "); ok {
			names = append(names, n)
		}
	}
	return names
}
