package inflight_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/passthru/gateway/shared/inflight"
)

func TestWaitEndsWhenWorkDoes(t *testing.T) {
	var g inflight.Group
	g.Wait(context.Background()) // nothing ran: returns at once
	release := make(chan struct{})
	finished := false
	g.Go(func() { <-release; finished = true })
	time.AfterFunc(30*time.Millisecond, func() { close(release) })
	g.Wait(context.Background())
	if !finished {
		t.Error("Wait returned before the work finished")
	}
}

func TestWaitEndsWithItsContext(t *testing.T) {
	var g inflight.Group
	release := make(chan struct{})
	defer close(release)
	g.Go(func() { <-release })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	g.Wait(ctx)
	if took := time.Since(start); took < 25*time.Millisecond || took > 2*time.Second {
		t.Errorf("Wait returned after %v, want its context's 30 ms", took)
	}
}

// Work may start while others wait, and again after the count went back to zero (which a
// sync.WaitGroup forbids); run with -race.
func TestGoWhileWaiting(t *testing.T) {
	var g inflight.Group
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(2)
		go func() { defer wg.Done(); g.Go(func() { time.Sleep(time.Millisecond) }) }()
		go func() { defer wg.Done(); g.Wait(context.Background()) }()
	}
	wg.Wait()
	g.Wait(context.Background())
}
