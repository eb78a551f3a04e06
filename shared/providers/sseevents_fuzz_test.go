package providers

import (
	"fmt"
	"reflect"
	"testing"
)

func collectCuts(stream string, cuts []int) []string {
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
	p := s.Pending()
	got = append(got, fmt.Sprintf("pending %d %q %d", off+p.Len, p.Data, len(p.DataLines)))
	return got
}

func FuzzSSEEventsCuts(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3}, uint8(3), uint8(7), uint8(9))
	alphabet := []string{"data: ", "data:", "data", "x", "\r", "\n", "\r\n", ":c", "event: e", "id: 1", " "}
	f.Fuzz(func(t *testing.T, toks []byte, a, b, c uint8) {
		stream := ""
		for _, k := range toks {
			stream += alphabet[int(k)%len(alphabet)]
		}
		want := collectCuts(stream, nil)
		got := collectCuts(stream, []int{int(a) % (len(stream) + 1), int(b) % (len(stream) + 1), int(c) % (len(stream) + 1)})
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("stream %q cuts %d %d %d:\n got %q\nwant %q", stream, a, b, c, got, want)
		}
	})
}
