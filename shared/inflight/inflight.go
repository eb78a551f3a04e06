// Package inflight counts work a cache runs in the background (the refreshes of routes, secrets
// and keys) so that a Lambda invocation can wait for it to finish before the sandbox is frozen.
//
// Unlike sync.WaitGroup, work may start while someone waits (with Lambda's concurrent invoke
// loops, one invocation's request starts a refresh while another's invocation waits), and a wait
// ends when its context does.
package inflight

import (
	"context"
	"sync"
)

// Group counts work in flight. The zero value is ready to use.
type Group struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed when n drops to 0; nil while nothing ever ran
}

// Track counts one piece of work as in flight until the returned done is called (once).
func (g *Group) Track() (done func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.n == 0 {
		g.idle = make(chan struct{})
	}
	g.n++
	return g.done
}

// Go runs f in a new goroutine, counted as in flight from now until f returns.
func (g *Group) Go(f func()) {
	done := g.Track()
	go func() {
		defer done()
		f()
	}()
}

func (g *Group) done() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.n--; g.n == 0 {
		close(g.idle)
	}
}

// Wait returns once no work is in flight, or when ctx ends, whichever comes first.
func (g *Group) Wait(ctx context.Context) {
	g.mu.Lock()
	if g.n == 0 {
		g.mu.Unlock()
		return
	}
	idle := g.idle
	g.mu.Unlock()
	select {
	case <-idle:
	case <-ctx.Done():
	}
}
