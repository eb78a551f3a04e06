// Command bench measures what the gateway costs over calling the upstream directly and over a
// bare httputil.ReverseProxy: added latency at concurrency 1, throughput at concurrency 32, heap
// per open SSE stream, and RSS while large bodies stream through. The client, the three front
// ends and the mock upstream all run in this process on 127.0.0.1, so a run needs no network
// and no configuration. It prints a Markdown table for the README.
//
// The exit status is 0 even when a target is missed (that is a measurement, not a bug), 1 when a
// correctness check fails (a non-200 status, a wrong byte count, a phase that timed out) and 2
// when the benchmark itself cannot start.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"time"
)

const (
	exitOK          = 0
	exitCheckFailed = 1
	exitSetup       = 2
)

// runBudget bounds the whole run, whatever the flags, so a wedged phase cannot hang `make bench`.
const runBudget = 5 * time.Minute

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run is main without os.Exit, so the test can drive a quick run.
func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseOptions(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintln(stderr, "bench:", err)
		return exitSetup
	}
	if o.cpuprofile != "" {
		stop, err := startCPUProfile(o.cpuprofile)
		if err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return exitSetup
		}
		defer stop()
	}
	rg, err := newRig(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "bench: setting up:", err)
		return exitSetup
	}
	defer rg.close()

	ctx, cancel := context.WithTimeout(context.Background(), runBudget)
	defer cancel()
	res, err := measureAll(ctx, rg, o)
	printReport(stdout, o, args, res)
	if err != nil {
		fmt.Fprintf(stderr, "bench: correctness check failed:\n%v\n", err)
		return exitCheckFailed
	}
	return exitOK
}

// measureAll runs every phase. A failed phase does not stop the others, so one broken path still
// leaves the rest of the table to look at; its cells read n/a and the error is returned.
func measureAll(ctx context.Context, rg *rig, o options) (results, error) {
	var res results
	var errs []error
	step := func(name string, f func() error) {
		fmt.Fprintf(rg.progress, "bench: %s...\n", name)
		start := time.Now()
		if err := f(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
		fmt.Fprintf(rg.progress, "bench: %s done in %s\n", name, time.Since(start).Round(time.Millisecond))
	}
	step("latency at c=1", func() (err error) { res.latency, err = measureLatency(ctx, rg, o); return err })
	step("throughput at c=32", func() (err error) { res.throughput, err = measureThroughput(ctx, rg, o); return err })
	step("heap per open stream", func() (err error) { res.streams, err = measureStreams(ctx, rg, o); return err })
	step("large bodies", func() (err error) { res.bodies, err = measureBodies(ctx, rg, o); return err })
	return res, errors.Join(errs...)
}

// startCPUProfile profiles the whole run, for finding where the gateway spends its time.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create CPU profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("start CPU profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
