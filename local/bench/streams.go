package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sync"
	"time"
)

const (
	// streamBudget bounds opening, holding and closing one path's streams.
	streamBudget = 60 * time.Second
	// settleLimit bounds the wait for closed connections' goroutines to exit before a baseline.
	settleLimit = 3 * time.Second
)

type streamResult struct {
	heapKiB    float64 // HeapInuse growth per open stream
	stackKiB   float64 // StackInuse growth per open stream (goroutine stacks are not heap)
	goroutines float64 // goroutines per open stream
}

// measureStreams holds streams open on each path in turn. Each path starts from a process with
// no pooled connections, so its baseline is the same empty state. A first, unrecorded pass over
// every path grows what never shrinks back (the servers' and transports' connection maps, which
// the mock server shares between all paths), so that the path measured first is not charged
// for it.
func measureStreams(ctx context.Context, rg *rig, o options) (*[numPaths]streamResult, error) {
	var res [numPaths]streamResult
	for pass := range 2 {
		for p := range numPaths {
			r, err := measureStreamPath(ctx, rg, p, o.streams)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", pathNames[p], err)
			}
			if pass == 1 {
				res[p] = r
			}
		}
	}
	return &res, nil
}

func measureStreamPath(ctx context.Context, rg *rig, p pathID, k int) (streamResult, error) {
	ctx, cancel := context.WithTimeout(ctx, streamBudget)
	defer cancel()
	before := rg.quietSnapshot()
	ready := make(chan error, k)
	errs := make(chan error, k)
	var wg sync.WaitGroup
	for range k {
		wg.Go(func() {
			if err := rg.holdStream(ctx, p, ready); err != nil {
				errs <- err
			}
		})
	}
	openErr := waitReady(ctx, ready, k)
	after := takeSnapshot()
	if openErr != nil {
		cancel() // don't leave the streams that did open waiting for the hold limit
	}
	rg.mock.releaseStreams()
	wg.Wait()
	close(errs)
	if openErr != nil {
		return streamResult{}, openErr
	}
	if err := <-errs; err != nil {
		return streamResult{}, err
	}
	perStream := func(a, b uint64) float64 { return (float64(a) - float64(b)) / 1024 / float64(k) }
	return streamResult{
		heapKiB:    perStream(after.heapInuse, before.heapInuse),
		stackKiB:   perStream(after.stackInuse, before.stackInuse),
		goroutines: float64(after.goroutines-before.goroutines) / float64(k),
	}, nil
}

// waitReady waits until k streams have reported, failing on the first error.
func waitReady(ctx context.Context, ready <-chan error, k int) error {
	for i := range k {
		select {
		case err := <-ready:
			if err != nil {
				return err
			}
		case <-ctx.Done():
			return fmt.Errorf("only %d of %d streams opened: %w", i, k, ctx.Err())
		}
	}
	return nil
}

// holdStream opens one SSE stream and sends on ready exactly once: nil when the first event has
// arrived, or the error that prevented it. After the mock releases the stream it checks the rest
// and returns any error found there.
func (rg *rig) holdStream(ctx context.Context, p pathID, ready chan<- error) (err error) {
	opened := false
	defer func() {
		if !opened {
			ready <- err
			err = nil // reported once, through ready
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rg.urls[p]+"/sse", nil)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+gatewayKey)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := rg.client.Do(req)
	if err != nil {
		return fmt.Errorf("GET /sse: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /sse: status %d, want 200", resp.StatusCode)
	}
	first := make([]byte, len(firstEvent))
	if _, err := io.ReadFull(resp.Body, first); err != nil || string(first) != firstEvent {
		return fmt.Errorf("GET /sse: first event %q, err %v; want %q", first, err, firstEvent)
	}
	opened = true
	ready <- nil
	rest, err := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if err != nil || string(rest) != lastEvent {
		return fmt.Errorf("GET /sse: stream ended with %q, err %v; want %q", rest, err, lastEvent)
	}
	return nil
}

type memSnapshot struct {
	heapInuse, stackInuse uint64
	goroutines            int
}

func takeSnapshot() memSnapshot {
	// Twice: a sync.Pool's contents survive one collection (in its victim cache), and pools
	// emptying between two snapshots would read as negative memory.
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memSnapshot{heapInuse: ms.HeapInuse, stackInuse: ms.StackInuse, goroutines: runtime.NumGoroutine()}
}

// quietSnapshot drops pooled connections and waits until their goroutines (client read/write
// loops, server connection goroutines) have exited, so the baseline holds no connections.
func (rg *rig) quietSnapshot() memSnapshot {
	prev := -1
	for deadline := time.Now().Add(settleLimit); time.Now().Before(deadline); {
		// Again each time: a proxy may return its upstream connection to the pool just after
		// the client saw the end of the stream.
		rg.closeIdle()
		n := runtime.NumGoroutine()
		if n == prev {
			break
		}
		prev = n
		time.Sleep(50 * time.Millisecond)
	}
	return takeSnapshot()
}
