package main

// A CPU profile of the gateway under the c=32 load (-cpuprofile). A gateway built with
// -tags pprof serves net/http/pprof on GATEWAY_PPROF_ADDR (local/gateway/pprof.go); the bench
// gives it a free loopback address and, as the gateway's first c=32 round starts, asks it for a
// profile as long as the round. `make bench-profile` builds that binary and runs this.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

const (
	pprofAddrEnv = "GATEWAY_PPROF_ADDR"
	// pprofLimit bounds the wait for the profiler's listener once the gateway listens: it
	// starts with the process, so a binary without it is told so in seconds.
	pprofLimit = 2 * time.Second
)

// profiler fetches CPU profiles from the gateway's pprof listener.
type profiler struct{ addr string }

// start asks for a profile of d (whole seconds, at least 1, as pprof takes them) and returns a
// wait that writes it to file once it has come.
func (pf *profiler) start(ctx context.Context, d time.Duration, file string) (wait func() error) {
	done := make(chan error, 1)
	go func() { done <- pf.fetch(ctx, max(1, int(d/time.Second)), file) }()
	return func() error { return <-done }
}

func (pf *profiler) fetch(ctx context.Context, seconds int, file string) error {
	url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", pf.addr, seconds)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("CPU profile: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("CPU profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("CPU profile: %s: %s", resp.Status, msg)
	}
	f, err := os.Create(file)
	if err != nil {
		return fmt.Errorf("CPU profile: %w", err)
	}
	_, err = io.Copy(f, resp.Body)
	if err = errors.Join(err, f.Close()); err != nil {
		return fmt.Errorf("CPU profile: write %s: %w", file, err)
	}
	return nil
}
