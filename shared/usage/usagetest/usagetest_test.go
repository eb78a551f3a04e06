package usagetest_test

import (
	"context"
	"slices"
	"testing"

	"github.com/passthru/gateway/shared/usage"
	"github.com/passthru/gateway/shared/usage/usagetest"
)

// Next hands records out in the order written, including one written after it began waiting;
// Drain returns only those Next has not handed out; Record never blocks on unread records.
func TestSinkOrderAndDrain(t *testing.T) {
	s := usagetest.NewSink()
	ctx := context.Background()
	for _, id := range []string{"a", "b"} {
		s.Record(ctx, usage.Record{RequestID: id})
	}
	if got := s.Next(t).RequestID; got != "a" {
		t.Fatalf("first Next = %q, want a", got)
	}
	go s.Record(ctx, usage.Record{RequestID: "c"})
	if got := s.Next(t).RequestID; got != "b" {
		t.Fatalf("second Next = %q, want b", got)
	}
	if got := s.Next(t).RequestID; got != "c" {
		t.Fatalf("third Next = %q, want c (written while waiting)", got)
	}
	for i := range 5000 { // far beyond any channel buffer: must not block
		s.Record(ctx, usage.Record{RequestID: string(rune('d' + i%3))})
	}
	rest := s.Drain()
	if len(rest) != 5000 || rest[0].RequestID != "d" || rest[1].RequestID != "e" {
		t.Fatalf("Drain = %d records starting %v, want 5000 starting d, e", len(rest), ids(rest[:min(2, len(rest))]))
	}
	if again := s.Drain(); len(again) != 0 {
		t.Fatalf("second Drain = %v, want none", ids(again))
	}
}

func ids(rs []usage.Record) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.RequestID)
	}
	return slices.Clip(out)
}
