package providers

import "bytes"

// sseParser splits a text/event-stream into fields without buffering lines: the value of each
// data line streams straight to the handler (one JSON text per event, data lines joined by
// newlines as the SSE spec says), and only the field name (a few bytes) and the event name
// (bounded) are kept. Lines may end with LF, CR or CRLF, and chunks may split them anywhere.
type sseParser struct {
	phase     uint8
	afterCR   bool // the last line ended with CR: a following LF belongs to it
	field     [8]byte
	fieldLen  int   // -1: too long to be a field we read
	lineBytes bool  // the current line is not empty
	kind      uint8 // the current line's field
	dataLines int   // data lines in the current event
	event     [32]byte
	eventLen  int
}

const (
	phField      uint8 = iota // reading the field name
	phValueStart              // after ':', before the optional space
	phValue                   // the value
)

const (
	fieldOther uint8 = iota
	fieldData
	fieldEvent
)

// events is what the SSE parser drives.
type events interface {
	data(p []byte)         // bytes of the event's data (lines joined by "\n")
	eventName(name []byte) // a complete event field (names longer than 32 bytes are not reported)
	dispatch()             // a blank line: the event ended
}

var newline = []byte{'\n'}

func (s *sseParser) write(p []byte, h events) {
	for len(p) > 0 {
		if s.afterCR {
			s.afterCR = false
			if p[0] == '\n' {
				p = p[1:]
				continue
			}
		}
		switch s.phase {
		case phField:
			i := 0
			for ; i < len(p); i++ {
				c := p[i]
				if c == ':' || c == '\n' || c == '\r' {
					break
				}
				s.lineBytes = true
				if s.fieldLen >= 0 && s.fieldLen < len(s.field) {
					s.field[s.fieldLen] = c
					s.fieldLen++
				} else {
					s.fieldLen = -1
				}
			}
			if i == len(p) {
				return
			}
			c := p[i]
			p = p[i+1:]
			if c == ':' {
				s.lineBytes = true
				s.beginValue(h)
				s.phase = phValueStart
				continue
			}
			// End of line. A blank line ends the event; a line without a colon is a field
			// name with an empty value.
			s.afterCR = c == '\r'
			if !s.lineBytes {
				h.dispatch()
				s.dataLines, s.eventLen = 0, 0
			} else {
				s.beginValue(h)
				s.endValue(h)
			}
			s.endLine()
		case phValueStart:
			s.phase = phValue
			if p[0] == ' ' {
				p = p[1:]
			}
		case phValue:
			n := indexEOL(p)
			v := p
			if n >= 0 {
				v = p[:n]
			}
			switch s.kind {
			case fieldData:
				if len(v) > 0 {
					h.data(v)
				}
			case fieldEvent:
				if s.eventLen < len(s.event) {
					copy(s.event[s.eventLen:], v)
				}
				s.eventLen += len(v)
			}
			if n < 0 {
				return
			}
			s.afterCR = p[n] == '\r'
			p = p[n+1:]
			s.endValue(h)
			s.endLine()
		}
	}
}

// beginValue starts the value of the current line's field.
func (s *sseParser) beginValue(h events) {
	s.kind = fieldOther
	if s.fieldLen >= 0 {
		switch string(s.field[:s.fieldLen]) {
		case "data":
			s.kind = fieldData
		case "event":
			s.kind = fieldEvent
		}
	}
	switch s.kind {
	case fieldData:
		s.dataLines++
		if s.dataLines > 1 {
			h.data(newline)
		}
	case fieldEvent:
		s.eventLen = 0
	}
}

// endValue ends the current line's value.
func (s *sseParser) endValue(h events) {
	if s.kind == fieldEvent && s.eventLen <= len(s.event) {
		h.eventName(s.event[:s.eventLen])
	}
}

func (s *sseParser) endLine() {
	s.phase, s.fieldLen, s.lineBytes, s.kind = phField, 0, false, fieldOther
}

// indexEOL is the index of the first CR or LF in p, or -1.
func indexEOL(p []byte) int {
	n := bytes.IndexByte(p, '\n')
	lim := p
	if n >= 0 {
		lim = p[:n]
	}
	if r := bytes.IndexByte(lim, '\r'); r >= 0 {
		return r
	}
	return n
}
