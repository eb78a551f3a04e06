package providers

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
)

// TestSSEEvents: events end at any blank line (LF, CR, CRLF, mixed), data lines are joined with
// "\n" and located, and the result is the same however the stream is cut into reads.
func TestSSEEvents(t *testing.T) {
	stream := "data: a\ndata: b\n\n" + // two data lines
		"data: {\"x\":1}\n\r\n" + // LF then CRLF blank line
		": comment\revent: e\rdata:c\r\r" + // CR endings, a comment, no space after the colon
		"id: 1\r\ndata\r\n\r\n" + // CRLF; "data" alone is an empty data line
		"data: tail" // no blank line: pending
	// Each event as data | its data lines as they sit in the stream. A read that ends on the CR
	// of a CRLF dispatches there; the LF then leads the next event's bytes (the same bytes in
	// the same order), so offsets are compared through the text they point at.
	want := []string{
		`"a\nb" | "data: a\n" "data: b\n"`,
		`"{\"x\":1}" | "data: {\"x\":1}\n"`,
		`"c" | "data:c\r"`,
		`"" | "data\r\n"`,
	}
	for cut := 0; cut <= len(stream); cut++ {
		got, s, off := eventsOf(stream, cut)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("cut at %d: events\n%q\nwant\n%q", cut, got, want)
		}
		p := s.Pending()
		if off+p.Len != len(stream) || string(p.Data) != "tail" || len(p.DataLines) != 1 || stream[off+p.DataLines[0].Start:off+p.DataLines[0].End] != "data: tail" {
			t.Fatalf("cut at %d: pending %d %q %v", cut, p.Len, p.Data, p.DataLines)
		}
	}
}

// eventsOf feeds stream cut into reads at cuts (ascending; out-of-range or repeated cuts are
// skipped) and returns each event as data | its data lines as they sit in the stream, the
// parser, and the offset where the pending bytes start.
func eventsOf(stream string, cuts ...int) ([]string, *SSEEvents, int) {
	var s SSEEvents
	var got []string
	off := 0
	fn := func(e SSEEvent) {
		ev := stream[off : off+e.Len]
		off += e.Len
		line := fmt.Sprintf("%q |", e.Data)
		for _, l := range e.DataLines {
			line += fmt.Sprintf(" %q", ev[l.Start:l.End])
		}
		got = append(got, line)
	}
	prev := 0
	for _, c := range cuts {
		if c > prev && c < len(stream) {
			s.Feed([]byte(stream[prev:c]), fn)
			prev = c
		}
	}
	s.Feed([]byte(stream[prev:]), fn)
	return got, &s, off
}

// TestSSEEventsLoneCRThenSplitLine: a line ended by a lone CR at the end of one read, then a
// read with only part of the next line, then one starting with that line's LF: the LF ends the
// second line, not the CR's, so the event's DataLines list both lines (the streaming guard's
// mask rewrites exactly those; the second was once missed and relayed unmasked).
func TestSSEEventsLoneCRThenSplitLine(t *testing.T) {
	stream := "data: a\rdata: b\n\n"
	want := []string{`"a\nb" | "data: a\r" "data: b\n"`}
	if got, _, _ := eventsOf(stream, len("data: a\r"), len("data: a\rdata: b")); !reflect.DeepEqual(got, want) {
		t.Errorf("cut into 3 reads: %q\nwant %q", got, want)
	}
}

// FuzzSSEEventsCuts: however a stream is cut into reads, the events, their data lines and the
// pending rest are the ones the whole stream gives.
func FuzzSSEEventsCuts(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3}, uint8(3), uint8(7), uint8(9))
	alphabet := []string{"data: ", "data:", "data", "x", "\r", "\n", "\r\n", ":c", "event: e", "id: 1", " "}
	f.Fuzz(func(t *testing.T, toks []byte, a, b, c uint8) {
		stream := ""
		for _, k := range toks {
			stream += alphabet[int(k)%len(alphabet)]
		}
		n := len(stream) + 1
		cuts := []int{int(a) % n, int(b) % n, int(c) % n}
		slices.Sort(cuts)
		want, ws, woff := eventsOf(stream)
		got, gs, goff := eventsOf(stream, cuts...)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("stream %q cuts %v:\n got %q\nwant %q", stream, cuts, got, want)
		}
		if wp, gp := ws.Pending(), gs.Pending(); woff+wp.Len != goff+gp.Len || string(wp.Data) != string(gp.Data) || len(wp.DataLines) != len(gp.DataLines) {
			t.Fatalf("stream %q cuts %v: pending differs", stream, cuts)
		}
	})
}
