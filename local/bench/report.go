package main

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"
	"unicode/utf8"
)

// The targets, each judged on the gateway column; most are ratios to nginx in the same
// run, so they read n/a when nginx is not installed.
const (
	targetP50VsNginx       = 2.0 // added latency p50, c=1
	targetP99VsNginx       = 3.0 // added latency p99, c=1
	targetRPSVsNginx       = 0.6 // throughput, c=32
	targetCPUVsNginx       = 2.0 // CPU per request
	targetIdleMiB          = 12
	targetLoadedMiB        = 20
	targetStreamKiB        = 48
	targetDownloadVsNginx  = 1.0
	targetDownloadGrowMiB  = 1
	targetEventOverNginxUS = 50
	notAvailable           = "n/a"
	notApplicable          = "—"
	verdictPass            = "PASS"
	verdictFail            = "FAIL"
)

// results holds what each phase measured; a nil field is a phase that failed.
type results struct {
	load       string // the load average when the run started
	nginx      bool
	idle       *[numPaths]int64
	download   *[numPaths]downloadResult
	streams    *[numPaths]streamResult
	events     *[numPaths]eventResult
	latency    *latencyResult
	throughput *throughputResult
}

// row is one metric: a value per path, the gateway's ratios to nginx and to the ReverseProxy,
// and the verdict of its target.
type row struct {
	metric string
	vals   [numPaths]float64
	have   [numPaths]bool
	digits int
	ratios bool // whether gateway ÷ nginx and gateway ÷ RP mean something for this metric
	target string
	// judge returns the verdict from the gateway's and nginx's values; ok=false when it cannot
	// (nginx missing, phase failed).
	judge func(gw, nginx float64, haveNginx bool) (pass, ok bool)
}

func newRow(metric string, digits int, ratios bool, target string, judge func(gw, ng float64, haveNg bool) (bool, bool)) row {
	return row{metric: metric, digits: digits, ratios: ratios, target: target, judge: judge}
}

func (r *row) set(p pathID, v float64) { r.vals[p], r.have[p] = v, true }

// vsNginx judges gw against factor × nginx's value (at most, or at least).
func vsNginx(factor float64, atLeast bool) func(gw, ng float64, haveNg bool) (bool, bool) {
	return func(gw, ng float64, haveNg bool) (bool, bool) {
		if !haveNg {
			return false, false
		}
		if atLeast {
			return gw >= factor*ng, true
		}
		return gw <= factor*ng, true
	}
}

// atMost judges gw against an absolute bound.
func atMost(bound float64) func(gw, ng float64, haveNg bool) (bool, bool) {
	return func(gw, _ float64, _ bool) (bool, bool) { return gw <= bound, true }
}

func printReport(w io.Writer, o options, args []string, res results) {
	fmt.Fprintf(w, "machine: %s/%s, NumCPU=%d, %s%s; load before the run: %s\n", runtime.GOOS, runtime.GOARCH,
		runtime.NumCPU(), runtime.Version(), cpuModel(), res.load)
	fmt.Fprintf(w, "command: %s\n", commandLine(args))
	fmt.Fprintf(w, "settings: c=1 n=%d per path (warm-up %d, interleaved rounds of %d); c=%d for %s × %d rounds per path; "+
		"%d held streams; %d timed streams × %d events %s apart; %d MiB download × %d rounds\n\n", o.n, o.warmup, o.roundSize,
		o.concurrency, o.duration, o.rounds, o.streams, o.eventStreams, o.events, o.eventGap, o.downloadBytes>>20, o.rounds)
	var rows []row
	rows = append(rows, latencyRows(res.latency)...)
	rows = append(rows, throughputRows(res.throughput, o)...)
	rows = append(rows, memoryRows(res)...)
	rows = append(rows, eventRows(res.events)...)
	rows = append(rows, downloadRows(res.download, o)...)
	writeTable(w, rows)
	fmt.Fprintln(w)
	if !res.nginx {
		fmt.Fprintf(w, "- %s\n", nginxMissing)
	}
	writeNotes(w, o)
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func latencyRows(l *latencyResult) []row {
	rows := []row{
		newRow("latency p50, c=1 (µs)", 0, false, "", nil),
		newRow("latency p99, c=1 (µs)", 0, false, "", nil),
		newRow("added latency p50 over direct, c=1 (µs)", 0, true, fmt.Sprintf("≤ %.0f× nginx", targetP50VsNginx), vsNginx(targetP50VsNginx, false)),
		newRow("added latency p99 over direct, c=1 (µs)", 0, true, fmt.Sprintf("≤ %.0f× nginx", targetP99VsNginx), vsNginx(targetP99VsNginx, false)),
	}
	if l == nil {
		return rows
	}
	for p := range numPaths {
		if l.p50[p] == 0 {
			continue
		}
		rows[0].set(p, micros(l.p50[p]))
		rows[1].set(p, micros(l.p99[p]))
		if p != pathDirect {
			rows[2].set(p, micros(l.p50[p]-l.p50[pathDirect]))
			rows[3].set(p, micros(l.p99[p]-l.p99[pathDirect]))
		}
	}
	return rows
}

func throughputRows(t *throughputResult, o options) []row {
	rows := []row{
		newRow(fmt.Sprintf("throughput, c=%d (req/s, median of %d)", o.concurrency, o.rounds), 0, true,
			fmt.Sprintf("≥ %.1f× nginx", targetRPSVsNginx), vsNginx(targetRPSVsNginx, true)),
		newRow("CPU per request, the process's own (µs; direct: the mock's)", 1, true,
			fmt.Sprintf("≤ %.0f× nginx", targetCPUVsNginx), vsNginx(targetCPUVsNginx, false)),
		newRow(fmt.Sprintf("RSS after c=%d (MiB)", o.concurrency), 1, true, fmt.Sprintf("≤ %d", targetLoadedMiB), atMost(targetLoadedMiB)),
	}
	if t == nil {
		return rows
	}
	for p := range numPaths {
		if t.rps[p] == 0 {
			continue
		}
		rows[0].set(p, t.rps[p])
		rows[1].set(p, micros(t.cpu[p]))
		rows[2].set(p, mib(t.rssMax[p]))
	}
	return rows
}

func memoryRows(res results) []row {
	rows := []row{
		newRow("RSS idle, after one request (MiB)", 1, true, fmt.Sprintf("≤ %d", targetIdleMiB), atMost(targetIdleMiB)),
		newRow("memory per open SSE stream, RSS growth incl. goroutine stacks (KiB)", 1, true,
			fmt.Sprintf("≤ %d", targetStreamKiB), atMost(targetStreamKiB)),
	}
	for p := range numPaths {
		if res.idle != nil && res.idle[p] != 0 {
			rows[0].set(p, mib(res.idle[p]))
		}
		if res.streams != nil && res.idle != nil && res.idle[p] != 0 {
			rows[1].set(p, res.streams[p].rssKiB)
		}
	}
	return rows
}

func eventRows(e *[numPaths]eventResult) []row {
	rows := []row{
		newRow("SSE event delay p50, mock write → client read (µs)", 0, false, "", nil),
		newRow("SSE added event delay p50 over direct (µs)", 0, false, fmt.Sprintf("≤ nginx + %d", targetEventOverNginxUS),
			func(gw, ng float64, haveNg bool) (bool, bool) { return gw <= ng+targetEventOverNginxUS, haveNg }),
		newRow("SSE events that shared a read with another (coalesced)", 0, false, "0", atMost(0)),
	}
	if e == nil {
		return rows
	}
	for p := range numPaths {
		if e[p].events == 0 {
			continue
		}
		rows[0].set(p, micros(e[p].p50))
		if p != pathDirect {
			rows[1].set(p, micros(e[p].p50-e[pathDirect].p50))
		}
		rows[2].set(p, float64(e[p].coalesced))
	}
	return rows
}

func downloadRows(d *[numPaths]downloadResult, o options) []row {
	rows := []row{
		newRow(fmt.Sprintf("%d MiB download, wall time (s, median of %d)", o.downloadBytes>>20, o.rounds), 3, true,
			fmt.Sprintf("≤ %.1f× nginx", targetDownloadVsNginx), vsNginx(targetDownloadVsNginx, false)),
		newRow(fmt.Sprintf("%d MiB download, RSS growth at peak (MiB)", o.downloadBytes>>20), 1, true,
			fmt.Sprintf("≤ %d", targetDownloadGrowMiB), atMost(targetDownloadGrowMiB)),
	}
	if d == nil {
		return rows
	}
	for p := range numPaths {
		if d[p].wall == 0 {
			continue
		}
		rows[0].set(p, d[p].wall.Seconds())
		rows[1].set(p, d[p].growthKiB/1024)
	}
	return rows
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// cells formats one row for the table.
func (r row) cells() []string {
	out := []string{r.metric}
	for p := range numPaths {
		switch {
		case r.have[p]:
			out = append(out, fmt.Sprintf("%.*f", r.digits, r.vals[p]))
		case p == pathDirect && strings.Contains(r.metric, "over direct"):
			out = append(out, notApplicable)
		default: // the phase failed, or nginx is not installed
			out = append(out, notAvailable)
		}
	}
	ratio := func(q pathID) string {
		if !r.ratios || !r.have[pathGateway] || !r.have[q] || r.vals[q] == 0 {
			return notApplicable
		}
		return fmt.Sprintf("%.2f×", r.vals[pathGateway]/r.vals[q])
	}
	out = append(out, ratio(pathNginx), ratio(pathProxy), r.target, r.verdict())
	return out
}

func (r row) verdict() string {
	if r.judge == nil {
		return ""
	}
	if !r.have[pathGateway] {
		return notAvailable
	}
	pass, ok := r.judge(r.vals[pathGateway], r.vals[pathNginx], r.have[pathNginx])
	switch {
	case !ok:
		return notAvailable
	case pass:
		return verdictPass
	}
	return verdictFail
}

// writeTable prints rows as a Markdown table, padded so it also reads well as plain text.
func writeTable(w io.Writer, rows []row) {
	header := []string{"metric", pathNames[pathDirect], pathNames[pathNginx], pathNames[pathProxy], pathNames[pathGateway],
		"gateway ÷ nginx", "gateway ÷ RP", "target (gateway)", "pass/fail"}
	lines := [][]string{header}
	for _, r := range rows {
		lines = append(lines, r.cells())
	}
	widths := make([]int, len(header))
	for _, l := range lines {
		for i, c := range l {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	pad := func(s string, n int) string { return s + strings.Repeat(" ", n-utf8.RuneCountInString(s)) }
	for i, l := range lines {
		cells := make([]string, len(l))
		for j, c := range l {
			cells[j] = pad(c, widths[j])
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
		if i == 0 {
			for j := range cells {
				cells[j] = strings.Repeat("-", widths[j])
			}
			fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
		}
	}
}
