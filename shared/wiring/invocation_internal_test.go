package wiring

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passthru/gateway/shared/route"
)

// refreshing is a route source with a background refresh that takes d (forever when d is 0).
type refreshing struct {
	d      time.Duration
	waited atomic.Bool
}

func (r *refreshing) Table(context.Context) (*route.Table, error) { return nil, nil }

func (r *refreshing) WaitBackground(ctx context.Context) {
	var done <-chan time.Time
	if r.d > 0 {
		done = time.After(r.d)
	}
	select {
	case <-done:
		r.waited.Store(true)
	case <-ctx.Done():
	}
}

// After the response, the invocation waits for the sources' background refreshes (so Lambda
// does not freeze them mid-call) and flushes the usage records, both bounded by the flush
// timeout and by the invocation's deadline less the margin.
func TestAfterResponseWaitsForRefreshes(t *testing.T) {
	var flushed atomic.Int32
	u := Usage{Flush: func(context.Context) { flushed.Add(1) }, flushTimeout: 300 * time.Millisecond}
	for _, tt := range []struct {
		name     string
		refresh  time.Duration
		deadline time.Duration // of the invocation, from now
		min, max time.Duration // how long AfterResponse takes
		finished bool          // whether the refresh completed
	}{
		{"a quick refresh is waited for", 100 * time.Millisecond, time.Minute, 90 * time.Millisecond, time.Second, true},
		{"a hanging one for the flush timeout", 0, time.Minute, 280 * time.Millisecond, 2 * time.Second, false},
		{"and never past the deadline less the margin", 0, flushMargin + 100*time.Millisecond, 80 * time.Millisecond, time.Second, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src := &refreshing{d: tt.refresh}
			ctx, cancel := context.WithTimeout(context.Background(), tt.deadline)
			defer cancel()
			start := time.Now()
			AfterResponse(Sources{Routes: src}, u)(ctx)
			took := time.Since(start)
			if took < tt.min || took > tt.max || src.waited.Load() != tt.finished {
				t.Errorf("took %v (want %v..%v), refresh finished %v (want %v)", took, tt.min, tt.max, src.waited.Load(), tt.finished)
			}
		})
	}
	if n := flushed.Load(); n != 3 {
		t.Errorf("flushed %d times, want once per invocation", n)
	}
}
