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

// writeNotes says what each number includes, since all parts share one process and its CPUs.
func writeNotes(w io.Writer, o options) {
	notes := []string{
		fmt.Sprintf("All servers and the client run in this one process on 127.0.0.1 and share its %d CPUs; "+
			"each front end is a plain net/http server; the client pools keep-alive connections (MaxIdleConnsPerHost 256).", runtime.NumCPU()),
		"Paths: direct = client → mock upstream; gateway = client → proxy.Handler → mock; " +
			"ReverseProxy = client → httputil.ReverseProxy (Rewrite+SetURL, sets the same upstream Authorization) → mock. " +
			"ReverseProxy's transport is http.DefaultTransport cloned with MaxIdleConns 512, MaxIdleConnsPerHost 256 and " +
			"compression off, like the gateway's proxy.NewTransport(), so neither reconnects under load.",
		fmt.Sprintf("Latency: %d sequential POSTs (~%d B JSON each way) per path after %d warm-up requests, on one "+
			"keep-alive connection, paths alternating in rounds of %d in rotating order; nearest-rank percentiles; "+
			"added = path percentile − direct percentile.", o.n, len(rerankResponse), o.warmup, o.roundSize),
		fmt.Sprintf("Throughput: %d client goroutines POSTing back to back for %s, %d round(s) per path in rotating order, "+
			"median round reported (rounds are printed on stderr). The client and mock upstream use the same CPUs, so the proxied "+
			"paths also pay for the proxy's CPU and gateway/direct understates the gateway's standalone capacity. "+
			"Allocation per request is TotalAlloc and Mallocs growth over all runs of a path, divided by its requests; "+
			"the bare ReverseProxy has no BufferPool, so it allocates a 32 KiB copy buffer for every response.", o.concurrency, o.duration, o.rounds),
		fmt.Sprintf("Heap per stream: %d SSE streams held open (each client got its first event), "+
			"(HeapInuse after runtime.GC − HeapInuse before, with no pooled connections) / %d. "+
			"'Whole process' includes the client's connection and the mock upstream's server side of every stream; "+
			"'proxy's own share' subtracts the direct path, which has exactly those, leaving the proxy's server connection, "+
			"its upstream connection, its relay buffer and per-call state. Goroutine stacks are StackInuse, not heap.", o.streams, o.streams),
		"Large bodies: generated on the fly at both ends (no whole-body buffers), byte counts checked exactly. " +
			"RSS from /proc/self/status after runtime.GC and debug.FreeOSMemory; peak = VmHWM (reset through /proc/self/clear_refs) " +
			"− VmRSS before; end = VmRSS after − VmRSS before. Both include the client and the mock upstream.",
		"Targets are judged on the gateway column only; a miss does not change the exit status, a failed correctness check does.",
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
