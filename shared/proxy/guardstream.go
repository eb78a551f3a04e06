package proxy

// post_call guardrails on a streamed (SSE) response, when the route opts in with
// guardrail_streaming: each event is held until its data passed every guardrail, then sent
// (masked if one masked it). A block ends the stream with an error event. A secret split
// across two events is not seen whole: each event is checked on its own.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"

	"github.com/passthru/gateway/shared/guardrail"
)

// maxSSEEvent bounds one buffered event; a longer one fails the stream closed.
const maxSSEEvent = 1 << 20

type sseGuard struct {
	h      *Handler
	ctx    context.Context
	c      *call
	post   []*activeGuard
	src    io.ReadCloser
	in     []byte // bytes read, not yet a whole event
	out    []byte // checked bytes, ready for the client
	done   bool   // the stream ended (upstream EOF, a block or an error)
	err    error  // the upstream's error, returned after out drains
	rbuf   []byte
	closed bool
}

func (h *Handler) newSSEGuard(ctx context.Context, c *call, post []*activeGuard, src io.ReadCloser) io.ReadCloser {
	return &sseGuard{h: h, ctx: ctx, c: c, post: post, src: src, rbuf: make([]byte, 16<<10)}
}

func (s *sseGuard) Close() error { return s.src.Close() }

func (s *sseGuard) Read(p []byte) (int, error) {
	for len(s.out) == 0 {
		if s.done {
			if s.err != nil {
				return 0, s.err
			}
			return 0, io.EOF
		}
		n, err := s.src.Read(s.rbuf)
		s.in = append(s.in, s.rbuf[:n]...)
		s.drainEvents()
		if err != nil && !s.done {
			if len(s.in) > 0 && err == io.EOF { // a last event without its blank line
				s.checkEvent(s.in)
				s.in = nil
			}
			s.done = true
			if err != io.EOF {
				s.err = err
			}
		}
	}
	n := copy(p, s.out)
	s.out = s.out[n:]
	return n, nil
}

// drainEvents checks every complete event in s.in.
func (s *sseGuard) drainEvents() {
	for !s.done {
		end := eventEnd(s.in)
		if end < 0 {
			if len(s.in) > maxSSEEvent {
				s.fail("event too large to inspect")
			}
			return
		}
		ev := s.in[:end]
		s.in = s.in[end:]
		s.checkEvent(ev) // a block ends the stream and drops s.in
	}
}

// checkEvent runs the guardrails on the data of one event and queues it (or its end).
func (s *sseGuard) checkEvent(ev []byte) {
	data, start, end := eventData(ev)
	if len(data) == 0 || bytes.Equal(data, []byte("[DONE]")) {
		s.out = append(s.out, ev...)
		return
	}
	for _, a := range s.post {
		v, masked, err := s.h.runGuard(s.ctx, s.c, a, guardrail.PostCall, guardrail.Response, data)
		if err != nil {
			s.c.logger().Error("guardrail failed on a streamed event", "call_id", s.c.id, "guardrail", a.name, "error", err)
			s.end(a.name, "Guardrail "+a.name+" is unavailable; the stream was ended.", "guardrail_error")
			return
		}
		if v.Action == guardrail.Block {
			s.end(a.name, v.Reason, "content_filter")
			return
		}
		data = masked
	}
	s.out = append(s.out, ev[:start]...)
	s.out = append(s.out, data...)
	s.out = append(s.out, ev[end:]...)
}

// end closes the stream with an error event in the content_filter shape.
func (s *sseGuard) end(name, reason, typ string) {
	if reason == "" {
		reason = "Response blocked by guardrail"
	}
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": reason, "type": typ, "guardrail_name": name}})
	s.out = append(s.out, "event: error\ndata: "...)
	s.out = append(s.out, b...)
	s.out = append(s.out, "\n\n"...)
	s.done, s.in = true, nil
	s.c.partial = true
	s.c.errClass = "guardrail_blocked"
	if typ != "content_filter" {
		s.c.errClass = "guardrail_error"
	}
}

func (s *sseGuard) fail(reason string) {
	s.end(s.post[0].name, "Guardrail "+s.post[0].name+" could not inspect the stream: "+reason+".", "guardrail_error")
}

// eventData returns the value of the event's first data line and where it sits in ev.
func eventData(ev []byte) (data []byte, start, end int) {
	for i := 0; i < len(ev); {
		j := bytes.IndexByte(ev[i:], '\n')
		if j < 0 {
			j = len(ev) - i
		}
		line := ev[i : i+j]
		if rest, ok := bytes.CutPrefix(line, []byte("data:")); ok {
			off := i + 5
			if len(rest) > 0 && rest[0] == ' ' {
				rest, off = rest[1:], off+1
			}
			rest = bytes.TrimSuffix(rest, []byte("\r"))
			return rest, off, off + len(rest)
		}
		i += j + 1
	}
	return nil, 0, 0
}
