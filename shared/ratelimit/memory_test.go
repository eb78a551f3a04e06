package ratelimit_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passthru/gateway/shared/ratelimit"
)

// clock is a settable clock for WithClock.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock { c := &clock{}; c.ns.Store(t.UnixNano()); return c }
func (c *clock) Now() time.Time   { return time.Unix(0, c.ns.Load()) }
func (c *clock) Set(t time.Time)  { c.ns.Store(t.UnixNano()) }

// t0 is 20 s into a minute.
var t0 = time.Date(2026, 3, 14, 15, 9, 20, 0, time.UTC)

// burst runs n concurrent Allow calls for key at rpm, spread round-robin over limiters, and
// returns the decisions; any error fails t.
func burst(t testing.TB, limiters []ratelimit.Limiter, n int, key string, rpm int) []ratelimit.Decision {
	t.Helper()
	ds := make([]ratelimit.Decision, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			ds[i], errs[i] = limiters[i%len(limiters)].Allow(context.Background(), key, rpm)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Allow #%d: %v", i, err)
		}
	}
	return ds
}

// checkBurst asserts exactly rpm admitted with Remaining rpm-1..0 once each, the rest refused
// with Remaining 0, all with Limit rpm and Reset reset.
func checkBurst(t *testing.T, ds []ratelimit.Decision, rpm int, reset time.Time) {
	t.Helper()
	var remaining []int
	refused := 0
	for _, d := range ds {
		if d.Limit != rpm || !d.Reset.Equal(reset) {
			t.Errorf("decision %+v: want Limit %d, Reset %v", d, rpm, reset)
		}
		if d.Allowed {
			remaining = append(remaining, d.Remaining)
		} else {
			refused++
			if d.Remaining != 0 {
				t.Errorf("refused decision %+v: want Remaining 0", d)
			}
		}
	}
	slices.Sort(remaining)
	want := make([]int, rpm)
	for i := range want {
		want[i] = i
	}
	if !slices.Equal(remaining, want) {
		t.Errorf("Remaining of the admitted: got %v, want %v", remaining, want)
	}
	if refused != len(ds)-rpm {
		t.Errorf("refused %d, want %d", refused, len(ds)-rpm)
	}
}

func TestMemoryConcurrentExact(t *testing.T) {
	c := newClock(t0)
	m := ratelimit.NewMemory(ratelimit.WithClock(c.Now))
	end := time.Date(2026, 3, 14, 15, 10, 0, 0, time.UTC)

	checkBurst(t, burst(t, []ratelimit.Limiter{m}, 50, "k1", 10), 10, end)

	// Still the same window at its last nanosecond: refused.
	c.Set(end.Add(-time.Nanosecond))
	d, _ := m.Allow(context.Background(), "k1", 10)
	if want := (ratelimit.Decision{Allowed: false, Limit: 10, Remaining: 0, Reset: end}); d != want {
		t.Errorf("end of window: got %+v, want %+v", d, want)
	}
	// Another key has its own window.
	d, _ = m.Allow(context.Background(), "k2", 10)
	if want := (ratelimit.Decision{Allowed: true, Limit: 10, Remaining: 9, Reset: end}); d != want {
		t.Errorf("other key: got %+v, want %+v", d, want)
	}

	// The next window admits again, exactly rpm.
	c.Set(end)
	checkBurst(t, burst(t, []ratelimit.Limiter{m}, 50, "k1", 10), 10, end.Add(time.Minute))
}

func TestMemoryReset(t *testing.T) {
	c := newClock(t0)
	m := ratelimit.NewMemory(ratelimit.WithClock(c.Now))
	want := ratelimit.Decision{Allowed: true, Limit: 3, Remaining: 2, Reset: time.Date(2026, 3, 14, 15, 10, 0, 0, time.UTC)}
	if d, err := m.Allow(context.Background(), "k", 3); err != nil || d != want {
		t.Fatalf("got %+v, %v; want %+v", d, err, want)
	}
	// Exactly on a boundary the new window starts.
	c.Set(time.Date(2026, 3, 14, 15, 10, 0, 0, time.UTC))
	want = ratelimit.Decision{Allowed: true, Limit: 3, Remaining: 2, Reset: time.Date(2026, 3, 14, 15, 11, 0, 0, time.UTC)}
	if d, err := m.Allow(context.Background(), "k", 3); err != nil || d != want {
		t.Fatalf("got %+v, %v; want %+v", d, err, want)
	}
}

func TestMemoryUnlimited(t *testing.T) {
	m := ratelimit.NewMemory(ratelimit.WithClock(newClock(t0).Now))
	want := ratelimit.Decision{Allowed: true, Limit: 0, Remaining: -1}
	for _, rpm := range []int{0, -5} {
		for range 100 {
			if d, err := m.Allow(context.Background(), "k", rpm); err != nil || d != want {
				t.Fatalf("rpm %d: got %+v, %v; want %+v", rpm, d, err, want)
			}
		}
	}
	// Unlimited calls counted nothing.
	if d, _ := m.Allow(context.Background(), "k", 1); !d.Allowed || d.Remaining != 0 {
		t.Errorf("first limited call after unlimited ones: %+v", d)
	}
}

func BenchmarkMemoryAllow(b *testing.B) {
	m := ratelimit.NewMemory(ratelimit.WithClock(newClock(t0).Now))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if d, err := m.Allow(ctx, "3f2a9c0d5e", 1<<30); err != nil || !d.Allowed {
			b.Fatal(d, err)
		}
	}
}
