package providers

// SSEEvents cuts a text/event-stream into whole events with the one SSE parser (sse.go), for a
// reader that holds each event before it passes on (the streaming guardrail). It reports each
// event's length in the stream, its data (the data lines joined by "\n", as a client joins
// them) and where its data lines sit, so the event can be passed on byte for byte or have its
// data lines rewritten. An event ends at any blank line: LF, CR and CRLF endings, mixed.
type SSEEvents struct {
	p      sseParser
	buf    []byte
	lines  []Span
	pos    int  // bytes of the current event fed so far
	lineAt int  // where the current line starts in the event
	nData  int  // the parser's data line count when the current line started
	ended  bool // the parser dispatched during the current line
}

// Span is [Start, End) in an event's bytes.
type Span struct{ Start, End int }

// SSEEvent is one event as SSEEvents found it. Data and DataLines are valid until the next call.
type SSEEvent struct {
	Len       int    // bytes of the stream the event takes, its blank line included
	Data      []byte // the data lines' values joined by "\n"
	DataLines []Span // each data line, its line ending included
}

func (s *SSEEvents) data(p []byte)      { s.buf = append(s.buf, p...) }
func (s *SSEEvents) eventName(_ []byte) {}
func (s *SSEEvents) dispatch()          { s.ended = true }

// Feed parses the next bytes of the stream and calls fn with each event that ends in them.
func (s *SSEEvents) Feed(p []byte, fn func(SSEEvent)) {
	for len(p) > 0 {
		if s.p.afterCR && p[0] == '\n' { // the LF of a CRLF split between two reads (the parser's own state)
			s.p.write(p[:1], s)
			if n := len(s.lines); n > 0 && s.lines[n-1].End == s.pos {
				s.lines[n-1].End++ // a data line's own CRLF
			}
			s.pos++
			s.lineAt = s.pos
			p = p[1:]
			continue
		}
		n := indexEOL(p)
		if n < 0 {
			s.p.write(p, s)
			s.pos += len(p)
			return
		}
		line := p[:n+1]
		if p[n] == '\r' && n+1 < len(p) && p[n+1] == '\n' {
			line = p[:n+2]
		}
		s.p.write(line, s)
		s.pos += len(line)
		p = p[len(line):]
		s.endLine(fn)
	}
}

// endLine books the line just fed: a data line is remembered, a dispatch ends the event.
func (s *SSEEvents) endLine(fn func(SSEEvent)) {
	if s.p.dataLines > s.nData {
		s.lines = append(s.lines, Span{s.lineAt, s.pos})
	}
	s.lineAt, s.nData = s.pos, s.p.dataLines
	if !s.ended {
		return
	}
	fn(SSEEvent{Len: s.pos, Data: s.buf, DataLines: s.lines})
	s.pos, s.lineAt, s.nData, s.ended = 0, 0, 0, false
	s.buf, s.lines = s.buf[:0], s.lines[:0]
}

// Pending returns what was fed of an event that has not ended (the stream stopped before its
// blank line): SSE clients drop such an event, lenient ones may not.
func (s *SSEEvents) Pending() SSEEvent {
	lines := s.lines
	if s.p.dataLines > s.nData { // the last line, without its line ending
		lines = append(lines, Span{s.lineAt, s.pos})
	}
	return SSEEvent{Len: s.pos, Data: s.buf, DataLines: lines}
}
