// Package clocktest holds a clock that tests move by hand, for the packages whose caches and
// expiries take a clock function (awssecrets, ssmroutes).
package clocktest

import (
	"sync"
	"time"
)

// Start is where New's clock starts: a fixed instant, so that tests are reproducible.
var Start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Manual is a clock that moves only when Advance is called; safe for concurrent use.
type Manual struct {
	mu sync.Mutex
	t  time.Time
}

// New returns a clock standing at Start.
func New() *Manual { return &Manual{t: Start} }

// Now returns the clock's current time.
func (c *Manual) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Manual) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
