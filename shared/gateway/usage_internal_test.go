package gateway

import (
	"context"
	"testing"
	"time"
)

// The flush outlives the request but never the invocation: it ends flushMargin before the
// Lambda deadline, at once when that has passed, and within flushTimeout otherwise.
func TestFlushContext(t *testing.T) {
	req, cancelReq := context.WithCancel(context.Background())
	cancelReq()
	ctx, cancel := flushContext(req)
	defer cancel()
	if ctx.Err() != nil {
		t.Error("a finished request cancelled the flush")
	}
	if dl, _ := ctx.Deadline(); time.Until(dl) > flushTimeout {
		t.Errorf("deadline in %v, want at most %v", time.Until(dl), flushTimeout)
	}
	soon, cancelSoon := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancelSoon()
	ctx, cancel = flushContext(soon)
	defer cancel()
	if dl, _ := ctx.Deadline(); time.Until(dl) > 1600*time.Millisecond {
		t.Errorf("deadline in %v, want before the invocation's minus %v", time.Until(dl), flushMargin)
	}
	late, cancelLate := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancelLate()
	ctx, cancel = flushContext(late)
	defer cancel()
	if ctx.Err() == nil {
		t.Error("with less than the margin left the flush must not start (records go to stdout)")
	}
}
