package main

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// latencyBudget bounds the c=1 phase: 3×(3000+200) sequential loopback requests take a few
	// seconds, so hitting this means something is wrong, not slow.
	latencyBudget = 60 * time.Second
	// hammerGrace is how long in-flight requests may run past a throughput deadline.
	hammerGrace = 10 * time.Second
	// maxRequestsPerWorker keeps a throughput loop bounded in count as well as in time.
	maxRequestsPerWorker = 10_000_000
)

type latencyResult struct {
	p50, p99 [numPaths]time.Duration
	samples  int // per path
}

// measureLatency times sequential POSTs on each path. The paths take turns in short rounds, in
// a rotating order, so that a noisy moment on the machine lands on all of them alike.
func measureLatency(ctx context.Context, rg *rig, o options) (*latencyResult, error) {
	ctx, cancel := context.WithTimeout(ctx, latencyBudget)
	defer cancel()
	for p := range numPaths {
		for range o.warmup {
			if err := rg.rerank(ctx, p); err != nil {
				return nil, fmt.Errorf("warm-up: %w", err)
			}
		}
	}
	var samples [numPaths][]time.Duration
	for p := range numPaths {
		samples[p] = make([]time.Duration, 0, o.n)
	}
	for round := 0; round*o.roundSize < o.n; round++ {
		size := min(o.roundSize, o.n-round*o.roundSize)
		for i := range numPaths {
			p := (pathID(round) + i) % numPaths
			for range size {
				start := time.Now()
				if err := rg.rerank(ctx, p); err != nil {
					return nil, err
				}
				samples[p] = append(samples[p], time.Since(start))
			}
		}
	}
	res := &latencyResult{samples: o.n}
	for p := range numPaths {
		slices.Sort(samples[p])
		res.p50[p] = percentile(samples[p], 50)
		res.p99[p] = percentile(samples[p], 99)
	}
	return res, nil
}

// percentile is the nearest-rank percentile of sorted: the smallest sample with at least q% of
// the samples at or below it. It returns 0 for no samples.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(q / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

type throughputResult struct {
	rps [numPaths]float64 // median run
	// Whole-process heap allocation per request over all runs: it explains throughput gaps
	// that CPU profiles spread thinly over the allocator and the GC.
	allocBytes, allocObjects [numPaths]float64
}

// measureThroughput runs the c=32 test rounds times per path, rotating the order each round,
// and keeps the median run of each path.
func measureThroughput(ctx context.Context, rg *rig, o options) (*throughputResult, error) {
	var runs [numPaths][]float64
	var requests, bytes, objects [numPaths]uint64
	for round := range o.rounds {
		for i := range numPaths {
			p := (pathID(round) + i) % numPaths
			runtime.GC() // so no run pays for the previous run's garbage
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			n, elapsed, err := hammer(ctx, rg, p, o.concurrency, o.duration)
			runtime.ReadMemStats(&after)
			if err != nil {
				return nil, fmt.Errorf("round %d: %w", round+1, err)
			}
			rps := float64(n) / elapsed.Seconds()
			runs[p] = append(runs[p], rps)
			requests[p] += uint64(n)
			bytes[p] += after.TotalAlloc - before.TotalAlloc
			objects[p] += after.Mallocs - before.Mallocs
			fmt.Fprintf(rg.progress, "bench:   round %d %-12s %6.0f req/s\n", round+1, pathNames[p], rps)
		}
	}
	var res throughputResult
	for p := range numPaths {
		res.rps[p] = median(runs[p])
		res.allocBytes[p] = float64(bytes[p]) / float64(max(requests[p], 1))
		res.allocObjects[p] = float64(objects[p]) / float64(max(requests[p], 1))
	}
	return &res, nil
}

// hammer has workers goroutines POST to path p back to back for d, and returns how many
// requests completed and how long that took.
func hammer(ctx context.Context, rg *rig, p pathID, workers int, d time.Duration) (int64, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, d+hammerGrace)
	defer cancel()
	var done atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for range workers {
		wg.Go(func() {
			for i := 0; i < maxRequestsPerWorker && time.Now().Before(deadline); i++ {
				if err := rg.rerank(ctx, p); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	return done.Load(), time.Since(start), firstErr
}

// median of xs (the mean of the middle two for an even count); xs is reordered.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	mid := len(xs) / 2
	if len(xs)%2 == 0 {
		return (xs[mid-1] + xs[mid]) / 2
	}
	return xs[mid]
}
