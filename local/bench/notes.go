package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// writeNotes says what each number includes.
func writeNotes(w io.Writer, o options) {
	notes := []string{
		fmt.Sprintf("Every server is its own process on 127.0.0.1; the client is this process; all share the machine's %d CPUs, "+
			"so a proxied path also pays for the client's and the mock's CPU. The client pools keep-alive connections.", runtime.NumCPU()),
		"Paths: direct = client → mock upstream (this program, BENCH_ROLE=mock); nginx = client → nginx (worker_processes auto, " +
			"keep-alive upstream pool, proxy_buffering and proxy_request_buffering off, sets the upstream Authorization, access log on) → mock; " +
			"ReverseProxy = client → httputil.ReverseProxy (BENCH_ROLE=reverseproxy: Rewrite+SetURL, the same Authorization, transport with " +
			"MaxIdleConnsPerHost 256, compression off, no BufferPool as httputil ships it) → mock; gateway = client → bin/gateway as `make run` " +
			"runs it (-config with auth: true routes checked against the master key, -usage-log on) → mock. nginx and the ReverseProxy check no key.",
		fmt.Sprintf("Latency: %d sequential POSTs (~%d B JSON each way) per path after %d warm-up requests, on one keep-alive connection, "+
			"paths alternating in rounds of %d in rotating order; nearest-rank percentiles; added = path percentile − direct percentile.",
			o.n, len(rerankResponse), o.warmup, o.roundSize),
		fmt.Sprintf("Throughput: %d client goroutines POSTing back to back for %s, %d round(s) per path in rotating order, median round "+
			"(rounds are printed on stderr). CPU per request: utime+stime of the path's process (nginx: master and workers) from "+
			"/proc/<pid>/stat over the round, ÷ its requests, median round; 10 ms granular. RSS after c=%d: VmRSS (nginx: summed) after a round, the highest; "+
			"the client closed its %d connections of the stream phase at that phase's end (the proxies keep their idle "+
			"connections to the mock, up to 256, in every phase).",
			o.concurrency, o.duration, o.rounds, o.concurrency, o.streams),
		fmt.Sprintf("Memory per stream: %d SSE streams held open through the path at once (each client got its first event), "+
			"(VmRSS of the path's process with them open − before) ÷ %d: heap, goroutine stacks, buffers, all of it. "+
			"Measured before the load phases, since Go keeps freed heap resident.", o.streams, o.streams),
		fmt.Sprintf("SSE: %d stream(s) per path of %d events %s apart, each stamped by the mock with the wall clock when written; delay = "+
			"client read time − stamp; an event that arrives in the same read as an earlier one was coalesced on the way.",
			o.eventStreams, o.events, o.eventGap),
		fmt.Sprintf("Download: %d MiB generated on the fly, byte count checked; wall time from request to last byte; RSS growth = "+
			"VmHWM (reset through /proc/<pid>/clear_refs) − VmRSS before, of the path's process, the highest of the rounds; "+
			"measured first, on processes that have served one request.", o.downloadBytes>>20),
		"Correctness: every status and byte count is checked; at the end the gateway gets SIGTERM and its usage log must hold " +
			"one record per call it answered. A missed target does not change the exit status, a failed check does.",
	}
	if len(o.gatewayEnv) > 0 {
		notes = append(notes, fmt.Sprintf("The gateway process alone ran with %s in its environment (-gateway-env).", strings.Join(o.gatewayEnv, " ")))
	}
	if o.cpuProfile != "" {
		notes = append(notes, fmt.Sprintf("The gateway's first c=%d round ran under the CPU profiler (-cpuprofile %s, a binary built with -tags pprof): "+
			"that round's figures include the profiler's own cost.", o.concurrency, o.cpuProfile))
	}
	for _, n := range notes {
		fmt.Fprintf(w, "- %s\n", n)
	}
}

// commandLine reconstructs the invocation; under `go run` os.Args[0] is a temporary binary.
func commandLine(args []string) string {
	prog := os.Args[0]
	if strings.Contains(prog, "go-build") {
		prog = "go run ./local/bench"
	}
	parts := []string{prog}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"$\\`*?;&|<>()") {
			a = strconv.Quote(a)
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// cpuModel names the CPU, for comparing runs across machines; empty where unknown.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if name, value, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(name) == "model name" {
			return ", " + strings.TrimSpace(value)
		}
	}
	return ""
}

// loadAverage is /proc/loadavg's 1, 5 and 15 minute averages: the machine is shared, and the
// numbers mean little without it.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
