// Command bench measures what the gateway binary costs against nginx and against a bare
// httputil.ReverseProxy, all three in front of the same mock upstream, each its own process on
// 127.0.0.1 (`make bench` builds bin/gateway and runs this): added latency at concurrency 1,
// throughput and CPU per request (each process's own accounting in /proc) at concurrency 32,
// resident memory idle and after load, memory per open SSE stream, each SSE event's delay and
// whether any were merged, and a large download's time and memory. It prints a Markdown table.
//
// The mock upstream and the ReverseProxy are this program again, started with BENCH_ROLE set.
// nginx is used when installed and left out (with a note saying how to get it) when not.
//
// The exit status is 0 even when a target is missed (that is a measurement, not a bug), 1 when a
// correctness check fails (a non-200 status, a wrong byte count, a usage record missing after
// SIGTERM, a phase that timed out) and 2 when the benchmark itself cannot start.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

const (
	exitOK          = 0
	exitCheckFailed = 1
	exitSetup       = 2
)

// runBudget bounds the whole run, whatever the flags, so a wedged phase cannot hang `make bench`.
const runBudget = 10 * time.Minute

func main() {
	if runRole() {
		return
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

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
	if o.nginx == "" {
		fmt.Fprintln(stderr, "bench:", nginxMissing)
	}
	rg, err := newRig(o, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "bench: setting up:", err)
		return exitSetup
	}
	ctx, cancel := context.WithTimeout(context.Background(), runBudget)
	defer cancel()
	res, err := measureAll(ctx, rg, o)
	err = errors.Join(err, rg.stopGateway(), rg.close())
	printReport(stdout, o, args, res)
	if o.chart != "" {
		if cerr := writeChart(o.chart, res); cerr != nil {
			fmt.Fprintln(stderr, "bench:", cerr)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "bench: correctness check failed:\n%v\n", err)
		return exitCheckFailed
	}
	return exitOK
}

// measureAll runs every phase. A failed phase does not stop the others, so one broken path still
// leaves the rest of the table to look at; its cells read n/a and the error is returned. Memory
// is measured first, on processes that have served almost nothing: Go keeps freed heap resident
// for minutes, so after the c=32 phase a stream's or a download's growth would hide in it.
func measureAll(ctx context.Context, rg *rig, o options) (results, error) {
	res := results{nginx: rg.has(pathNginx), load: loadAverage()}
	var errs []error
	step := func(name string, f func() error) {
		fmt.Fprintf(rg.progress, "bench: %s...\n", name)
		start := time.Now()
		if err := f(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
		fmt.Fprintf(rg.progress, "bench: %s done in %s\n", name, time.Since(start).Round(time.Millisecond))
	}
	step("idle memory", func() (err error) { res.idle, err = measureIdle(ctx, rg); return err })
	step("large download", func() (err error) { res.download, err = measureDownload(ctx, rg, o); return err })
	step("memory per open stream", func() (err error) { res.streams, err = measureStreams(ctx, rg, o); return err })
	step("SSE event delay", func() (err error) { res.events, err = measureEvents(ctx, rg, o); return err })
	step("latency at c=1", func() (err error) { res.latency, err = measureLatency(ctx, rg, o); return err })
	step("throughput at c=32", func() (err error) { res.throughput, err = measureThroughput(ctx, rg, o); return err })
	return res, errors.Join(errs...)
}

// measureIdle reads each process's RSS after one request: started, connected, nothing more.
func measureIdle(ctx context.Context, rg *rig) (*[numPaths]int64, error) {
	var res [numPaths]int64
	for _, p := range rg.paths() {
		if err := rg.rerank(ctx, p); err != nil {
			return nil, err
		}
	}
	time.Sleep(settleTime)
	for _, p := range rg.paths() {
		s, err := rg.procs[p].rss()
		if err != nil {
			return nil, err
		}
		res[p] = s.rss
	}
	return &res, nil
}
