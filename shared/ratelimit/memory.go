package ratelimit

import (
	"context"
	"sync"
	"time"
)

// Memory is the fixed one-minute window kept in this process. It is exact under concurrency
// and safe for concurrent use; it shares nothing with other processes, so it suits local runs
// and a single instance only.
type Memory struct {
	now func() time.Time

	mu      sync.Mutex
	current int64             // the latest window seen; older entries are swept when it moves
	counts  map[string]*count // per key
}

type count struct {
	minute int64
	hits   int
}

// NewMemory returns an empty in-process limiter.
func NewMemory(opts ...Option) *Memory {
	o := newOptions(opts)
	return &Memory{now: o.now, counts: make(map[string]*count)}
}

// Allow implements Limiter. It never returns an error.
func (m *Memory) Allow(_ context.Context, key string, rpm int) (Decision, error) {
	if rpm <= 0 {
		return unlimited, nil
	}
	minute, end := window(m.now())

	m.mu.Lock()
	defer m.mu.Unlock()
	if minute > m.current {
		// A new window: forget finished ones so memory stays bounded by the keys active in
		// one minute. Runs once per minute.
		for k, c := range m.counts {
			if c.minute < minute {
				delete(m.counts, k)
			}
		}
		m.current = minute
	}
	c := m.counts[key]
	if c == nil {
		c = &count{minute: minute}
		m.counts[key] = c
	} else if c.minute != minute {
		*c = count{minute: minute}
	}
	if c.hits >= rpm {
		return Decision{Allowed: false, Limit: rpm, Remaining: 0, Reset: end}, nil
	}
	c.hits++
	return Decision{Allowed: true, Limit: rpm, Remaining: rpm - c.hits, Reset: end}, nil
}
