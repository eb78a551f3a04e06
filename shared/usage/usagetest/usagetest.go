// Package usagetest holds a usage sink for tests: it keeps every record a handler writes and
// hands them out in order, waiting (boundedly) for records written after the response, as the
// proxy writes its record once the body has been relayed.
package usagetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/passthru/gateway/shared/usage"
)

// wait bounds Next: generous, as the box running the tests is shared.
const wait = 5 * time.Second

// Sink collects usage records; Next hands them out in the order they were written. Record
// never blocks, however many records nobody reads (a burst of thousands of calls).
type Sink struct {
	mu      sync.Mutex
	list    []usage.Record
	read    int
	written chan struct{} // a wake-up for Next; holds at most one
}

// NewSink returns an empty sink.
func NewSink() *Sink { return &Sink{written: make(chan struct{}, 1)} }

// Record implements usage.Sink.
func (s *Sink) Record(_ context.Context, rec usage.Record) {
	s.mu.Lock()
	s.list = append(s.list, rec)
	s.mu.Unlock()
	select {
	case s.written <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// Next waits for the next record, failing the test if none comes.
func (s *Sink) Next(t testing.TB) usage.Record {
	t.Helper()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		if s.read < len(s.list) {
			rec := s.list[s.read]
			s.read++
			s.mu.Unlock()
			return rec
		}
		s.mu.Unlock()
		select {
		case <-s.written:
		case <-deadline.C:
			t.Fatal("no usage record written")
		}
	}
}

// Drain returns every record written so far that Next has not handed out.
func (s *Sink) Drain() []usage.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	rest := s.list[s.read:]
	s.read = len(s.list)
	return rest
}
