package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// bodyBudget bounds one large transfer.
const bodyBudget = 60 * time.Second

// downloadResult is the large response through one path: the median wall time of the rounds and
// the path's own process's RSS growth (peak over the baseline), the highest of the rounds.
type downloadResult struct {
	wall      time.Duration
	growthKiB float64
}

// measureDownload fetches o.downloadBytes through each path, o.rounds times, paths interleaved.
func measureDownload(ctx context.Context, rg *rig, o options) (*[numPaths]downloadResult, error) {
	var walls [numPaths][]float64
	var res [numPaths]downloadResult
	for round := range o.rounds {
		for _, p := range rg.rotated(round) {
			pr := rg.procs[p]
			before, err := pr.rss()
			if err != nil {
				return nil, err
			}
			if err := pr.resetPeak(); err != nil {
				return nil, err
			}
			start := time.Now()
			if err := rg.download(ctx, p, o.downloadBytes); err != nil {
				return nil, err
			}
			walls[p] = append(walls[p], float64(time.Since(start)))
			after, err := pr.rss()
			if err != nil {
				return nil, err
			}
			res[p].growthKiB = max(res[p].growthKiB, float64(after.hwm-before.rss)/1024)
		}
	}
	for _, p := range rg.paths() {
		res[p].wall = time.Duration(median(walls[p]))
	}
	return &res, nil
}

func (rg *rig) download(ctx context.Context, p pathID, size int64) error {
	ctx, cancel := context.WithTimeout(ctx, bodyBudget)
	defer cancel()
	resp, err := rg.do(ctx, p, http.MethodGet, "/large?bytes="+strconv.FormatInt(size, 10), nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	switch {
	case err != nil:
		return fmt.Errorf("%s GET /large: reading body after %d bytes: %w", pathNames[p], n, err)
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("%s GET /large: status %d, want 200", pathNames[p], resp.StatusCode)
	case n != size:
		return fmt.Errorf("%s GET /large: received %d bytes, want %d", pathNames[p], n, size)
	}
	return nil
}
