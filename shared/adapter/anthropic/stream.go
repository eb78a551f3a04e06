package anthropic

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
)

// Stream translates a backend's OpenAI chat completion stream (SSE, in any chunking) into
// Anthropic's Messages stream, incrementally: every Write translates the complete events it
// completes and writes what they yield to the destination in one Write, so each event goes
// out as soon as its source chunk arrives. Nothing is held back except the final
// message_delta, which waits for the backend's usage chunk (it follows finish_reason when
// stream_options.include_usage is set) because the SDKs read the token counts from it.
//
// The output follows what @anthropic-ai/sdk requires (litellm-providers.md §3.5): every event
// has an event: line; message_start comes once and first; content blocks are opened before
// their deltas, with indexes that follow text → tool_use → parallel tool calls; empty deltas
// are never sent; message_delta carries usage; message_stop is last; a backend failure
// mid-stream is an error event.
type Stream struct {
	w        io.Writer
	model    string
	names    ToolNames
	withCost bool

	line  []byte // an incomplete line
	data  []byte // the data of the event being read
	event []byte // its event name
	out   []byte // the events one Write yields
	chunk chatChunk

	started, finished, ended bool
	kind                     uint8 // the open block's kind (kindNone: none open)
	index                    int   // the next block's index
	toolIdx                  int   // the open tool block's OpenAI tool_calls index
	toolID                   string
	stop                     string
	usage                    *chatUsage
}

const (
	kindNone uint8 = iota
	kindText
	kindThinking
	kindTool
)

// NewStream writes the translation of a backend stream to w. model is the model the client
// asked for; names the tool names the request shortened; withCost passes the cost the
// backend's usage chunk carries (the gateway's include_cost_in_streaming_usage) into
// message_delta's usage.
func NewStream(w io.Writer, model string, names ToolNames, withCost bool) *Stream {
	return &Stream{w: w, model: model, names: names, withCost: withCost}
}

type chatChunk struct {
	ID      string
	Choices []choice
	Usage   *chatUsage
	Error   json.RawMessage
}

type choice struct {
	Index int
	Delta struct {
		Content          string
		ReasoningContent string
		ToolCalls        []struct {
			Index    int    `json:"index"`
			ID       string `json:"id"`
			Function struct {
				Name      string `json:"name"`
				Arguments string `json:"arguments"`
			} `json:"function"`
		}
	}
	FinishReason *string
}

// Write translates the events p completes. It returns len(p) unless the destination fails.
func (s *Stream) Write(p []byte) (int, error) {
	n := len(p)
	s.out = s.out[:0]
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			s.line = append(s.line, p...)
			break
		}
		line := p[:i]
		if len(s.line) > 0 {
			s.line = append(s.line, line...)
			line = s.line
		}
		s.field(bytes.TrimSuffix(line, []byte{'\r'}))
		s.line = s.line[:0]
		p = p[i+1:]
	}
	return s.flushOut(n)
}

func (s *Stream) flushOut(n int) (int, error) {
	if len(s.out) == 0 {
		return n, nil
	}
	if _, err := s.w.Write(s.out); err != nil {
		return 0, err
	}
	return n, nil
}

// field reads one SSE line; a blank line ends the event.
func (s *Stream) field(line []byte) {
	switch {
	case len(line) == 0:
		s.dispatch()
	case bytes.HasPrefix(line, []byte("data:")):
		v := bytes.TrimPrefix(line[5:], []byte{' '})
		if len(s.data) > 0 {
			s.data = append(s.data, '\n')
		}
		s.data = append(s.data, v...)
	case bytes.HasPrefix(line, []byte("event:")):
		s.event = append(s.event[:0], bytes.TrimSpace(line[6:])...)
	}
}

func (s *Stream) dispatch() {
	data, event := s.data, s.event
	s.data, s.event = s.data[:0], s.event[:0]
	if len(data) == 0 || s.ended {
		return
	}
	if string(data) == "[DONE]" {
		s.finish("")
		s.complete()
		return
	}
	if err := parseChunk(data, &s.chunk); err != nil {
		s.fail("The backend sent a stream event that is not JSON.")
		return
	}
	if string(event) == "error" || len(s.chunk.Error) > 0 {
		s.fail(ErrorMessage(502, data))
		return
	}
	s.translate(&s.chunk)
}

// translate turns one chunk into events: its choice's deltas (content before finish, for
// backends that send both in one chunk), then its usage.
func (s *Stream) translate(c *chatChunk) {
	s.start(c.ID)
	for i := range c.Choices {
		ch := &c.Choices[i]
		if ch.Index != 0 {
			continue // n > 1 has no Anthropic equivalent: the first choice is the message
		}
		d := &ch.Delta
		if d.ReasoningContent != "" {
			s.open(kindThinking, "", "")
			s.delta("thinking_delta", "thinking", d.ReasoningContent)
		}
		if d.Content != "" {
			s.open(kindText, "", "")
			s.delta("text_delta", "text", d.Content)
		}
		for j := range d.ToolCalls {
			tc := &d.ToolCalls[j]
			if s.kind != kindTool || tc.Index != s.toolIdx || (tc.ID != "" && tc.ID != s.toolID) {
				if tc.ID == "" && tc.Function.Name == "" {
					continue // arguments for a call that was never announced: nothing to attach them to
				}
				s.open(kindTool, toolID(tc.ID, s.index), s.names.restore(tc.Function.Name))
				s.toolIdx = tc.Index
			}
			if tc.Function.Arguments != "" {
				s.delta("input_json_delta", "partial_json", tc.Function.Arguments)
			}
		}
		if ch.FinishReason != nil && *ch.FinishReason != "" {
			s.finish(*ch.FinishReason)
		}
	}
	if c.Usage != nil {
		s.usage = c.Usage
		if s.finished {
			s.complete()
		}
	}
}

// start sends message_start before anything else, once.
func (s *Stream) start(id string) {
	if s.started {
		return
	}
	s.started = true
	s.out = append(s.out, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":"...)
	s.out = appendString(s.out, messageID(id))
	s.out = append(s.out, `,"type":"message","role":"assistant","content":[],"model":`...)
	s.out = appendString(s.out, s.model)
	s.out = append(s.out, `,"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":0,"output_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}}`+"\n\n"...)
}

// open makes a block of kind the open one: a text or thinking block already open stays open;
// anything else closes the open block and starts a new one at the next index.
func (s *Stream) open(kind uint8, id, name string) {
	if s.kind == kind && kind != kindTool {
		return
	}
	s.closeBlock()
	s.kind = kind
	s.out = append(s.out, "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":"...)
	s.out = strconv.AppendInt(s.out, int64(s.index), 10)
	switch kind {
	case kindText:
		s.out = append(s.out, `,"content_block":{"type":"text","text":""}}`...)
	case kindThinking:
		s.out = append(s.out, `,"content_block":{"type":"thinking","thinking":"","signature":""}}`...)
	case kindTool:
		s.toolID = id
		s.out = append(s.out, `,"content_block":{"type":"tool_use","id":`...)
		s.out = appendString(s.out, id)
		s.out = append(s.out, `,"name":`...)
		s.out = appendString(s.out, name)
		s.out = append(s.out, `,"input":{}}}`...)
	}
	s.out = append(s.out, "\n\n"...)
}

func (s *Stream) delta(typ, field, text string) {
	s.out = append(s.out, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":"...)
	s.out = strconv.AppendInt(s.out, int64(s.index), 10)
	s.out = append(s.out, `,"delta":{"type":"`...)
	s.out = append(s.out, typ...)
	s.out = append(s.out, `","`...)
	s.out = append(s.out, field...)
	s.out = append(s.out, `":`...)
	s.out = appendString(s.out, text)
	s.out = append(s.out, "}}\n\n"...)
}

func (s *Stream) closeBlock() {
	if s.kind == kindNone {
		return
	}
	s.out = append(s.out, "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":"...)
	s.out = strconv.AppendInt(s.out, int64(s.index), 10)
	s.out = append(s.out, "}\n\n"...)
	s.kind = kindNone
	s.index++
}

// finish closes the open block and notes the stop reason; message_delta waits for usage.
func (s *Stream) finish(reason string) {
	if s.finished {
		return
	}
	s.start("")
	s.closeBlock()
	s.finished, s.stop = true, StopReason(reason)
}

// complete sends message_delta (with the usage known) and message_stop, once.
func (s *Stream) complete() {
	if s.ended {
		return
	}
	s.ended = true
	s.out = append(s.out, "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"...)
	s.out = appendString(s.out, s.stop)
	s.out = append(s.out, `,"stop_sequence":null},"usage":`...)
	s.out = appendUsage(s.out, s.usage, s.withCost)
	s.out = append(s.out, "}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"...)
}

func (s *Stream) fail(message string) {
	if s.ended {
		return
	}
	s.ended = true
	s.out = append(s.out, "event: error\ndata: "...)
	s.out = append(s.out, ErrorBody(500, message)...)
	s.out = append(s.out, "\n\n"...)
}

// Close ends the translation when the backend's stream ended: the held message_delta and
// message_stop go out, or an error event when the stream stopped before finish_reason.
func (s *Stream) Close() error {
	s.out = s.out[:0]
	if len(s.line) > 0 {
		s.field(bytes.TrimSuffix(s.line, []byte{'\r'}))
		s.line = s.line[:0]
	}
	s.dispatch()
	if s.finished {
		s.complete()
	} else {
		s.fail("The backend's stream ended before the message was complete.")
	}
	_, err := s.flushOut(0)
	return err
}

// Fail ends the translation with an error event, when the backend's connection failed
// mid-stream; a stream already complete is left as it is.
func (s *Stream) Fail(message string) error {
	s.out = s.out[:0]
	s.fail(message)
	_, err := s.flushOut(0)
	return err
}

// Complete reports whether message_stop or an error event went out.
func (s *Stream) Complete() bool { return s.ended }

// StreamFromResponse renders a backend's whole chat completion as the Anthropic event stream
// a streaming client expects, for a backend that answered a stream request with JSON (it
// ignored stream: true): the same events a streamed answer would give, each block in one delta.
func StreamFromResponse(body []byte, model string, names ToolNames, withCost bool) ([]byte, *Error) {
	var r chatResponse
	if err := json.Unmarshal(body, &r); err != nil || len(r.Choices) == 0 {
		return nil, &Error{Status: 502, Type: "api_error", Message: "The backend's answer is not an OpenAI chat completion."}
	}
	s := NewStream(io.Discard, model, names, withCost)
	s.start(r.ID)
	m := &r.Choices[0].Message
	if m.ReasoningContent == "" {
		m.ReasoningContent = m.Reasoning
	}
	if m.ReasoningContent != "" {
		s.open(kindThinking, "", "")
		s.delta("thinking_delta", "thinking", m.ReasoningContent)
	}
	if m.Content != nil && *m.Content != "" {
		s.open(kindText, "", "")
		s.delta("text_delta", "text", *m.Content)
	}
	for i, tc := range m.ToolCalls {
		s.open(kindTool, toolID(tc.ID, i), names.restore(tc.Function.Name))
		if in := appendInput(nil, tc.Function.Arguments); string(in) != "{}" {
			s.delta("input_json_delta", "partial_json", string(in)) // as in Response: a malformed input is {}
		}
	}
	s.finish(r.Choices[0].FinishReason)
	s.usage = r.Usage
	s.complete()
	return s.out, nil
}
