package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// latencyBudget bounds the c=1 phase: 4×(3000+200) sequential loopback requests take a few
	// seconds, so hitting this means something is wrong, not slow.
	latencyBudget = 90 * time.Second
	// hammerGrace is how long in-flight requests may run past a throughput deadline.
	hammerGrace = 10 * time.Second
	// maxRequestsPerWorker keeps a throughput loop bounded in count as well as in time.
	maxRequestsPerWorker = 10_000_000
)

type latencyResult struct {
	p50, p99 [numPaths]time.Duration
}

// measureLatency times sequential POSTs on each path. The paths take turns in short rounds, in
// a rotating order, so that a noisy moment on the machine lands on all of them alike.
func measureLatency(ctx context.Context, rg *rig, o options) (*latencyResult, error) {
	ctx, cancel := context.WithTimeout(ctx, latencyBudget)
	defer cancel()
	for _, p := range rg.paths() {
		for range o.warmup {
			if err := rg.rerank(ctx, p); err != nil {
				return nil, fmt.Errorf("warm-up: %w", err)
			}
		}
	}
	var samples [numPaths][]time.Duration
	for round := 0; round*o.roundSize < o.n; round++ {
		size := min(o.roundSize, o.n-round*o.roundSize)
		for _, p := range rg.rotated(round) {
			for range size {
				start := time.Now()
				if err := rg.rerank(ctx, p); err != nil {
					return nil, err
				}
				samples[p] = append(samples[p], time.Since(start))
			}
		}
	}
	res := &latencyResult{}
	for _, p := range rg.paths() {
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
	rps    [numPaths]float64       // median round
	cpu    [numPaths]time.Duration // CPU per request of the path's own process (the median round's ratio)
	rssMax [numPaths]int64         // RSS after a round, the highest
}

// measureThroughput runs the c=32 test rounds times per path, rotating the order each round,
// and keeps the median of each path's rounds. CPU is the path's server process's own (for
// direct: the mock's), from /proc, over the round.
func measureThroughput(ctx context.Context, rg *rig, o options) (*throughputResult, error) {
	var rps, cpu [numPaths][]float64
	var res throughputResult
	for round := range o.rounds {
		for _, p := range rg.rotated(round) {
			r, perReq, rss, err := throughputRound(ctx, rg, o, p, round)
			if err != nil {
				return nil, err
			}
			rps[p], cpu[p] = append(rps[p], r), append(cpu[p], perReq)
			res.rssMax[p] = max(res.rssMax[p], rss)
			fmt.Fprintf(rg.progress, "bench:   round %d %-12s %6.0f req/s, %5.1f µs CPU/req\n", round+1, pathNames[p], r, perReq/1e3)
		}
	}
	for _, p := range rg.paths() {
		res.rps[p] = median(rps[p])
		res.cpu[p] = time.Duration(median(cpu[p]))
	}
	return &res, nil
}

// throughputRound is one c=32 round on path p: requests per second, CPU ns per request and the
// RSS after it, read as soon as the round ends. The gateway's first round runs under the CPU
// profiler when one is wanted.
func throughputRound(ctx context.Context, rg *rig, o options, p pathID, round int) (rps, cpuPerReq float64, rss int64, err error) {
	pr := rg.procs[p]
	before, err := pr.cpu()
	if err != nil {
		return 0, 0, 0, err
	}
	if p == pathGateway && round == 0 && rg.profiler != nil {
		profile := rg.profiler.start(ctx, o.duration, o.cpuProfile)
		defer func() {
			if err != nil {
				profile.abort()
				return
			}
			reportProfile(rg.progress, o.cpuProfile, profile.wait())
		}()
	}
	n, elapsed, err := hammer(ctx, rg, p, o.concurrency, o.duration)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("round %d: %w", round+1, err)
	}
	after, err := pr.cpu()
	if err != nil {
		return 0, 0, 0, err
	}
	mem, err := pr.rss()
	if err != nil {
		return 0, 0, 0, err
	}
	return float64(n) / elapsed.Seconds(), float64(after-before) / float64(max(n, 1)), mem.rss, nil
}

// reportProfile says where the profile went, or why it did not: a missing profile is not a
// failed check, and the round's figures stand.
func reportProfile(w io.Writer, file string, err error) {
	if err != nil {
		fmt.Fprintf(w, "bench:   no CPU profile of the gateway (the figures stand): %v\n", err)
		return
	}
	fmt.Fprintf(w, "bench:   CPU profile of the gateway's round 1 written to %s\n", file)
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
