package wiring

import (
	"context"
	"testing"
	"time"
)

// The flush outlives the request but never the invocation: it ends flushMargin before the
// Lambda deadline, at once when that has passed, and within its timeout otherwise.
func TestFlushContext(t *testing.T) {
	req, cancelReq := context.WithCancel(context.Background())
	cancelReq()
	ctx, cancel := flushContext(req, DefaultFlushTimeout)
	defer cancel()
	if ctx.Err() != nil {
		t.Error("a finished request cancelled the flush")
	}
	if dl, _ := ctx.Deadline(); time.Until(dl) > DefaultFlushTimeout {
		t.Errorf("deadline in %v, want at most %v", time.Until(dl), DefaultFlushTimeout)
	}
	soon, cancelSoon := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancelSoon()
	ctx, cancel = flushContext(soon, 5*time.Second)
	defer cancel()
	if dl, _ := ctx.Deadline(); time.Until(dl) > 2*time.Second-flushMargin {
		t.Errorf("deadline in %v, want before the invocation's minus %v", time.Until(dl), flushMargin)
	}
	late, cancelLate := context.WithTimeout(context.Background(), flushMargin/2)
	defer cancelLate()
	ctx, cancel = flushContext(late, DefaultFlushTimeout)
	defer cancel()
	if ctx.Err() == nil {
		t.Error("with less than the margin left the flush must not start (records go to stdout)")
	}
}
