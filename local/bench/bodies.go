package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// bodyBudget bounds one large transfer; loopback moves 50 MiB in well under a second.
const bodyBudget = 60 * time.Second

// rssGrowth is the process's resident memory growth during one transfer, in bytes.
type rssGrowth struct {
	measured bool  // false where /proc/self/status is unavailable (not Linux)
	end      int64 // VmRSS after − VmRSS before
	peak     int64 // VmHWM − VmRSS before; -1 when the peak could not be reset first
}

type bodyResult struct {
	response, upload rssGrowth
}

// measureBodies streams one large response and one large upload through each path, checking
// every byte count. RSS is per process (/proc), so the paths are measured one at a time.
func measureBodies(ctx context.Context, rg *rig, o options) (*[numPaths]bodyResult, error) {
	var res [numPaths]bodyResult
	for p := range numPaths {
		var err error
		if res[p].response, err = rg.measureRSS(func() error { return rg.download(ctx, p, o.respBytes) }); err != nil {
			return nil, fmt.Errorf("%s: %w", pathNames[p], err)
		}
		if res[p].upload, err = rg.measureRSS(func() error { return rg.upload(ctx, p, o.uploadBytes) }); err != nil {
			return nil, fmt.Errorf("%s: %w", pathNames[p], err)
		}
	}
	return &res, nil
}

// measureRSS runs transfer from a baseline with no pooled connections and the heap returned to
// the OS, so growth counts what the transfer needed rather than what was already resident.
// Without /proc the transfer still runs, for its byte-count checks, and growth is unmeasured.
func (rg *rig) measureRSS(transfer func() error) (rssGrowth, error) {
	rg.quietSnapshot()
	debug.FreeOSMemory()
	peakReset := resetPeakRSS() == nil
	before, beforeErr := readRSS()
	if err := transfer(); err != nil {
		return rssGrowth{}, err
	}
	after, afterErr := readRSS()
	if beforeErr != nil || afterErr != nil {
		return rssGrowth{}, nil
	}
	g := rssGrowth{measured: true, end: after.rss - before.rss, peak: -1}
	if peakReset {
		g.peak = after.hwm - before.rss
	}
	return g, nil
}

func (rg *rig) download(ctx context.Context, p pathID, size int64) error {
	ctx, cancel := context.WithTimeout(ctx, bodyBudget)
	defer cancel()
	u := rg.urls[p] + "/large?bytes=" + strconv.FormatInt(size, 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+gatewayKey)
	resp, err := rg.client.Do(req)
	if err != nil {
		return fmt.Errorf("GET /large: %w", err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	switch {
	case err != nil:
		return fmt.Errorf("GET /large: reading body after %d bytes: %w", n, err)
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("GET /large: status %d, want 200", resp.StatusCode)
	case n != size:
		return fmt.Errorf("GET /large: received %d bytes, want %d", n, size)
	}
	return nil
}

// upload sends size bytes generated on the fly and checks the upstream's count of them.
func (rg *rig) upload(ctx context.Context, p pathID, size int64) error {
	ctx, cancel := context.WithTimeout(ctx, bodyBudget)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rg.urls[p]+"/upload", &patternReader{remaining: size})
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.ContentLength = size // a plain io.Reader would otherwise go chunked, length unknown
	req.Header.Set("Authorization", "Bearer "+gatewayKey)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := rg.client.Do(req)
	if err != nil {
		return fmt.Errorf("POST /upload: %w", err)
	}
	defer resp.Body.Close()
	var got struct {
		ReceivedBytes *int64 `json:"received_bytes"`
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST /upload: status %d, want 200", resp.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<10)).Decode(&got); err != nil || got.ReceivedBytes == nil {
		return fmt.Errorf("POST /upload: unreadable answer (err %v)", err)
	}
	if *got.ReceivedBytes != size {
		return fmt.Errorf("POST /upload: upstream received %d bytes, want %d", *got.ReceivedBytes, size)
	}
	return nil
}

type rssSample struct{ rss, hwm int64 } // bytes

// readRSS reads the resident set and its peak from /proc/self/status (Linux only).
func readRSS() (rssSample, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return rssSample{}, fmt.Errorf("read process status: %w", err)
	}
	defer f.Close()
	var s rssSample
	found := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			return rssSample{}, fmt.Errorf("parse %s %q: %w", name, value, err)
		}
		if name == "VmRSS" {
			s.rss = kb << 10
		} else {
			s.hwm = kb << 10
		}
		found++
	}
	if err := sc.Err(); err != nil {
		return rssSample{}, fmt.Errorf("read process status: %w", err)
	}
	if found != 2 {
		return rssSample{}, errors.New("VmRSS or VmHWM missing from /proc/self/status")
	}
	return s, nil
}

// resetPeakRSS sets VmHWM back to the current RSS (Linux ≥ 4.0), so that the next reading of
// it is the peak of what follows and not of an earlier phase.
func resetPeakRSS() error {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return fmt.Errorf("reset peak RSS: %w", err)
	}
	return nil
}
