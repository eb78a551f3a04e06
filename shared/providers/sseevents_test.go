package providers

import (
	"fmt"
	"reflect"
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
		s.Feed([]byte(stream[:cut]), fn)
		s.Feed([]byte(stream[cut:]), fn)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("cut at %d: events\n%q\nwant\n%q", cut, got, want)
		}
		p := s.Pending()
		if off+p.Len != len(stream) || string(p.Data) != "tail" || len(p.DataLines) != 1 || stream[off+p.DataLines[0].Start:off+p.DataLines[0].End] != "data: tail" {
			t.Fatalf("cut at %d: pending %d %q %v", cut, p.Len, p.Data, p.DataLines)
		}
	}
}
