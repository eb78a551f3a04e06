package proxy

import (
	"mime"
	"testing"
)

// The media type checks run several times per call (relay, buffer choice, cost injection);
// they must agree with mime.ParseMediaType, which allocated a parameter map each time (4 of the
// ~100 allocations of a call), except where ParseMediaType rejects a well-named media type for
// its parameters' sake (a repeated parameter with two values): a stream is still a stream.
func TestMediaTypeChecksAgreeWithParseMediaType(t *testing.T) {
	cases := []string{
		"text/event-stream", "TEXT/Event-Stream", " text/event-stream ", "text/event-stream;charset=utf-8",
		"text/event-stream; charset=utf-8; x=\"a;b\"", "text/event-stream;", "text/event-stream; charset",
		"text/event-streams", "text/event", "text/event-stream garbage", "text /event-stream", "",
		"application/json", "application/vnd.amazon.eventstream", "Application/VND.Amazon.EventStream; x=1",
		"application/vnd.amazon.eventstream2", ";text/event-stream", "text/event-stream\x00",
	}
	for _, ct := range cases {
		mt, _, _ := mime.ParseMediaType(ct)
		if got, want := isEventStream(ct), mt == "text/event-stream"; got != want {
			t.Errorf("isEventStream(%q) = %v, ParseMediaType says %v", ct, got, want)
		}
		if got, want := isAWSEventStream(ct), mt == "application/vnd.amazon.eventstream"; got != want {
			t.Errorf("isAWSEventStream(%q) = %v, ParseMediaType says %v", ct, got, want)
		}
	}
	if !isEventStream("text/event-stream; a=1; a=2") {
		t.Error("a stream with a repeated parameter is not taken for a stream")
	}
}

func TestMediaTypeChecksDoNotAllocate(t *testing.T) {
	ct := "text/event-stream; charset=utf-8"
	if n := testing.AllocsPerRun(100, func() { _ = isEventStream(ct) || isAWSEventStream(ct) }); n != 0 {
		t.Errorf("%v allocations per check, want 0", n)
	}
}
