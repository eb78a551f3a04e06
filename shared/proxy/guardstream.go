package proxy

// post_call guardrails on a streamed (SSE) response, when the route opts in with
// guardrail_streaming: each event is held until its data (every data line, joined as a client
// joins them) passed every guardrail, then sent as it came, or with its data lines rewritten
// when one masked it. Events are cut by the one SSE parser (providers.SSEEvents): any blank
// line ends one. A block ends the stream with an error event. A secret split across two
// events is not seen whole: each event is checked on its own.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"

	"github.com/passthru/gateway/shared/guardrail"
	"github.com/passthru/gateway/shared/providers"
)

// maxSSEEvent bounds one buffered event; a longer one fails the stream closed.
const maxSSEEvent = 1 << 20

type sseGuard struct {
	h      *Handler
	ctx    context.Context
	c      *call
	post   []*activeGuard
	src    io.ReadCloser
	events providers.SSEEvents
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
		s.feed(s.rbuf[:n])
		if err != nil && !s.done {
			if len(s.in) > 0 && err == io.EOF { // a last event without its blank line
				s.checkEvent(s.in, s.events.Pending())
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

// feed passes read bytes to the parser and checks every event that ends in them; s.in holds
// the bytes of the events not yet checked, so each event starts at s.in[0].
func (s *sseGuard) feed(p []byte) {
	s.in = append(s.in, p...)
	s.events.Feed(p, func(e providers.SSEEvent) {
		if s.done {
			return
		}
		ev := s.in[:e.Len]
		s.in = s.in[e.Len:]
		s.checkEvent(ev, e) // a block ends the stream and drops s.in
	})
	if !s.done && len(s.in) > maxSSEEvent {
		s.fail("event too large to inspect")
	}
}

// checkEvent runs the guardrails on the data of one event and queues it (or its end).
func (s *sseGuard) checkEvent(ev []byte, e providers.SSEEvent) {
	data := e.Data
	if len(data) == 0 || bytes.Equal(data, []byte("[DONE]")) {
		s.out = append(s.out, ev...)
		return
	}
	masked := false
	for _, a := range s.post {
		v, next, err := s.h.runGuard(s.ctx, s.c, a, guardrail.PostCall, guardrail.Response, data, true)
		if err != nil {
			s.c.logger().Error("guardrail failed on a streamed event", "call_id", s.c.id, "guardrail", a.name, "error", err)
			msg := "Guardrail " + a.name + " is unavailable; the stream was ended."
			if be := (*guardBodyError)(nil); errors.As(err, &be) {
				msg = "Guardrail " + a.name + " could not inspect the stream: " + be.reason + "."
			}
			s.end(a.name, msg, "guardrail_error")
			return
		}
		if v.Action == guardrail.Block {
			s.end(a.name, v.Reason, "content_filter")
			return
		}
		data, masked = next, masked || v.Action == guardrail.Mask
	}
	if !masked {
		s.out = append(s.out, ev...)
		return
	}
	s.out = appendRewritten(s.out, ev, e.DataLines, data)
}

// appendRewritten appends ev with its data lines replaced by data, one "data: " line per line
// of it, where the first data line stood; every other line stays as it came.
func appendRewritten(out, ev []byte, lines []providers.Span, data []byte) []byte {
	prev := 0
	for i, l := range lines {
		out = append(out, ev[prev:l.Start]...)
		prev = l.End
		if i > 0 {
			continue
		}
		for _, line := range bytes.Split(data, []byte("\n")) {
			out = append(out, "data: "...)
			out = append(out, line...)
			out = append(out, '\n')
		}
	}
	return append(out, ev[prev:]...)
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
