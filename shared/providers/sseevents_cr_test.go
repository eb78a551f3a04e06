package providers

import (
	"fmt"
	"reflect"
	"testing"
)

// TestSSEEventsLoneCRThenSplitLine: a line ended by a lone CR at the end of one read, then a
// read with only part of the next line, then one starting with that line's LF: the LF ends the
// second line, not the CR's, so the event's DataLines list both lines (the streaming guard's
// mask rewrites exactly those; the second was once missed and relayed unmasked).
func TestSSEEventsLoneCRThenSplitLine(t *testing.T) {
	stream := "data: a\rdata: b\n\n"
	collect := func(chunks ...string) []string {
		var s SSEEvents
		var got []string
		off := 0
		for _, c := range chunks {
			s.Feed([]byte(c), func(e SSEEvent) {
				ev := stream[off : off+e.Len]
				off += e.Len
				line := fmt.Sprintf("%q |", e.Data)
				for _, l := range e.DataLines {
					line += fmt.Sprintf(" %q", ev[l.Start:l.End])
				}
				got = append(got, line)
			})
		}
		return got
	}
	want := collect(stream)
	got := collect("data: a\r", "data: b", "\n\n")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("cut into 3 reads: %q\nwhole: %q", got, want)
	}
}
