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
	"io/fs"
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
// profile starts a few milliseconds after the round does and ends at most a second after it),
// to be written to file.
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

// fetch takes the profile and writes it to file through file+".part", renamed once whole: an
// earlier run's file is removed first, so a failed fetch leaves no profile rather than an old
// or cut-off one for `go tool pprof` to show as this run's.
func (pf *profiler) fetch(ctx context.Context, seconds int, file string) error {
	if err := os.Remove(file); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
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
	part := file + ".part"
	f, err := os.Create(part)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, resp.Body)
	if err = errors.Join(err, f.Close()); err != nil {
		_ = os.Remove(part)
		return err
	}
	return os.Rename(part, file)
}
