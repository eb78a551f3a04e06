package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/passthru/gateway/shared/providers"
)

const (
	// streamBudget bounds opening, holding and closing one path's streams.
	streamBudget = 60 * time.Second
	// settleTime lets the server processes finish what the last phase left (closing connections)
	// before a memory baseline.
	settleTime = 300 * time.Millisecond
)

// streamResult is the memory one open SSE stream costs the path's own process: its resident
// memory (heap, goroutine stacks, kernel-visible everything) grows by this much per stream.
type streamResult struct{ rssKiB float64 }

// measureStreams holds o.streams SSE streams open through each path in turn, and reads the
// growth of that path's process's RSS.
func measureStreams(ctx context.Context, rg *rig, o options) (*[numPaths]streamResult, error) {
	var res [numPaths]streamResult
	for _, p := range rg.paths() {
		r, err := measureStreamPath(ctx, rg, p, o.streams)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", pathNames[p], err)
		}
		res[p] = r
	}
	return &res, nil
}

func measureStreamPath(ctx context.Context, rg *rig, p pathID, k int) (streamResult, error) {
	ctx, cancel := context.WithTimeout(ctx, streamBudget)
	defer cancel()
	rg.idle.CloseIdleConnections()
	time.Sleep(settleTime)
	before, err := rg.procs[p].rss()
	if err != nil {
		return streamResult{}, err
	}
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
	time.Sleep(settleTime / 3) // the proxies' upstream write loops start just after the first event
	after, rssErr := rg.procs[p].rss()
	if openErr != nil {
		cancel() // don't leave the streams that did open waiting for the hold limit
	}
	relErr := rg.releaseStreams(ctx)
	wg.Wait()
	// The client's connections end with the phase, as a burst's would after the client's idle
	// timeout. Left open, the last path measured here (the gateway) would carry 200 idle
	// keep-alive connections from its client into the c=32 phase, which uses 32, and into its
	// RSS, while the other paths' were closed by the next path's start. The proxies' own idle
	// connections to the mock stay in their pools, as they would in service.
	rg.idle.CloseIdleConnections()
	close(errs)
	for _, err := range []error{openErr, rssErr, relErr, <-errs} {
		if err != nil {
			return streamResult{}, err
		}
	}
	return streamResult{rssKiB: float64(after.rss-before.rss) / 1024 / float64(k)}, nil
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
	resp, err := rg.do(ctx, p, http.MethodGet, "/sse", nil)
	if err != nil {
		return err
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

// eventResult is how the events of a timed stream arrived: the median delay from the mock's
// write to the client's read, and how many events arrived in the same read as another.
type eventResult struct {
	p50, p99  time.Duration
	coalesced int
	events    int
}

// measureEvents reads o.eventStreams timed streams per path, paths interleaved.
func measureEvents(ctx context.Context, rg *rig, o options) (*[numPaths]eventResult, error) {
	var delays [numPaths][]time.Duration
	var res [numPaths]eventResult
	for round := range o.eventStreams {
		for _, p := range rg.rotated(round) {
			d, coalesced, err := rg.timedStream(ctx, p, o.events, o.eventGap)
			if err != nil {
				return nil, err
			}
			delays[p] = append(delays[p], d...)
			res[p].coalesced += coalesced
			res[p].events += len(d)
		}
	}
	for _, p := range rg.paths() {
		slices.Sort(delays[p])
		res[p].p50, res[p].p99 = percentile(delays[p], 50), percentile(delays[p], 99)
	}
	return &res, nil
}

// timedStream reads one /events stream read by read, as a client would, and returns each
// event's delay and how many events shared a read with an earlier one.
func (rg *rig) timedStream(ctx context.Context, p pathID, n int, gap time.Duration) ([]time.Duration, int, error) {
	ctx, cancel := context.WithTimeout(ctx, streamBudget)
	defer cancel()
	resp, err := rg.do(ctx, p, http.MethodGet, "/events?n="+strconv.Itoa(n)+"&gap="+gap.String(), nil)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("%s GET /events: status %d, want 200", pathNames[p], resp.StatusCode)
	}
	var (
		delays    []time.Duration
		coalesced int
		events    providers.SSEEvents // the project's one SSE parser cuts the events
		badEvent  []byte
	)
	buf := make([]byte, 64<<10)
	for {
		m, rerr := resp.Body.Read(buf)
		now := time.Now().UnixNano()
		inRead := 0
		events.Feed(buf[:m], func(e providers.SSEEvent) {
			sent, err := strconv.ParseInt(string(e.Data), 10, 64)
			if err != nil && badEvent == nil {
				badEvent = bytes.Clone(e.Data) // Data is the parser's buffer, reused by the next event
			}
			delays = append(delays, time.Duration(now-sent))
			inRead++
		})
		if badEvent != nil {
			return nil, 0, fmt.Errorf("%s GET /events: event data %q is not the mock's", pathNames[p], badEvent)
		}
		coalesced += max(inRead-1, 0)
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return nil, 0, fmt.Errorf("%s GET /events: %w", pathNames[p], rerr)
		}
	}
	if stray := events.Pending().Len; len(delays) != n || stray != 0 {
		return nil, 0, fmt.Errorf("%s GET /events: %d events and %d stray bytes, want %d events", pathNames[p], len(delays), stray, n)
	}
	return delays, coalesced, nil
}
