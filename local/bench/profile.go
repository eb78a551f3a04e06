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
	// profileGrace is how long past the profile's length its answer may take (the gateway
	// encodes it after the last sample).
	profileGrace = 10 * time.Second
)

// profiler fetches CPU profiles from the gateway's pprof listener.
type profiler struct{ addr string }

// profileRun is one profile being taken.
type profileRun struct {
	cancel   context.CancelFunc
	finished chan struct{} // closed once the fetch has ended; err is then set
	err      error
}

// start asks for a profile of d, rounded up to whole seconds (pprof takes whole seconds: the
// profile covers the round and at most a second after it), to be written to file.
func (pf *profiler) start(ctx context.Context, d time.Duration, file string) *profileRun {
	ctx, cancel := context.WithCancel(ctx)
	run := &profileRun{cancel: cancel, finished: make(chan struct{})}
	seconds := int((d + time.Second - 1) / time.Second)
	go func() {
		defer close(run.finished)
		run.err = pf.fetch(ctx, seconds, file)
	}()
	return run
}

// wait waits for the profile and reports whether it was written.
func (r *profileRun) wait() error {
	<-r.finished
	r.cancel()
	return r.err
}

// abort gives the profile up, if it is still being taken, and waits until the fetch has ended.
// After wait it does nothing.
func (r *profileRun) abort() {
	r.cancel()
	<-r.finished
}

func (pf *profiler) fetch(ctx context.Context, seconds int, file string) error {
	url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", pf.addr, seconds)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	tr := &http.Transport{} // no proxy from the environment: the profiler is on loopback
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: time.Duration(seconds)*time.Second + profileGrace}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s: %s", resp.Status, msg)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, resp.Body)
	return errors.Join(err, f.Close())
}
