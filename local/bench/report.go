package main

import (
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The README's targets. Each is judged on the gateway alone; the other columns are context.
const (
	targetAddedP50    = 300 * time.Microsecond
	targetAddedP99    = time.Millisecond
	targetVsProxy     = 0.8 // gateway throughput over ReverseProxy's
	targetStreamKiB   = 64  // gateway's own heap per open stream
	targetGrowthMiB   = 8   // RSS growth while a large body passes
	notAvailable      = "n/a"
	notApplicable     = "—"
	verdictPass       = "PASS"
	verdictFail       = "FAIL"
	verdictUnmeasured = "n/a"
)

// results holds what each phase measured; a nil field is a phase that failed.
type results struct {
	latency    *latencyResult
	throughput *throughputResult
	streams    *[numPaths]streamResult
	bodies     *[numPaths]bodyResult
}

type row struct {
	metric  string
	cells   [numPaths]string
	target  string
	verdict string
}

func printReport(w io.Writer, o options, args []string, res results) {
	fmt.Fprintf(w, "machine: %s/%s, NumCPU=%d, GOMAXPROCS=%d, %s%s\n", runtime.GOOS, runtime.GOARCH,
		runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), cpuModel())
	fmt.Fprintf(w, "command: %s\n", commandLine(args))
	fmt.Fprintf(w, "settings: c=1 n=%d per path (warm-up %d, interleaved rounds of %d); c=%d for %s × %d rounds per path; "+
		"%d streams; %d MiB response; %d MiB upload\n\n", o.n, o.warmup, o.roundSize, o.concurrency, o.duration, o.rounds,
		o.streams, o.respBytes>>20, o.uploadBytes>>20)
	var rows []row
	rows = append(rows, latencyRows(res.latency)...)
	rows = append(rows, throughputRows(res.throughput, o)...)
	rows = append(rows, streamRows(res.streams)...)
	rows = append(rows, bodyRows(res.bodies, o)...)
	writeTable(w, rows)
	fmt.Fprintln(w)
	writeNotes(w, o)
}

func latencyRows(l *latencyResult) []row {
	rows := []row{
		{metric: "latency p50, c=1 (ms)"},
		{metric: "latency p99, c=1 (ms)"},
		{metric: "added p50 over direct, c=1 (ms)", target: "≤ 0.300"},
		{metric: "added p99 over direct, c=1 (ms)", target: "≤ 1.000"},
	}
	if l == nil {
		return fillUnavailable(rows)
	}
	for p := range numPaths {
		rows[0].cells[p] = millis(l.p50[p])
		rows[1].cells[p] = millis(l.p99[p])
		rows[2].cells[p] = addedMillis(p, l.p50)
		rows[3].cells[p] = addedMillis(p, l.p99)
	}
	rows[2].verdict = verdict(l.p50[pathGateway]-l.p50[pathDirect] <= targetAddedP50)
	rows[3].verdict = verdict(l.p99[pathGateway]-l.p99[pathDirect] <= targetAddedP99)
	return rows
}

func throughputRows(t *throughputResult, o options) []row {
	rows := []row{
		{metric: fmt.Sprintf("throughput, c=%d (req/s, median of %d)", o.concurrency, o.rounds)},
		{metric: fmt.Sprintf("throughput ratio, c=%d", o.concurrency), target: fmt.Sprintf("gateway ≥ %.1f× RP", targetVsProxy)},
		{metric: "heap allocated per request, whole process (KiB, allocs)"},
	}
	if t == nil {
		return fillUnavailable(rows)
	}
	for p := range numPaths {
		rows[0].cells[p] = strconv.FormatFloat(t.rps[p], 'f', 0, 64)
		rows[2].cells[p] = fmt.Sprintf("%.1f (%.0f)", t.allocBytes[p]/1024, t.allocObjects[p])
	}
	ratio := func(a, b pathID) float64 { return t.rps[a] / t.rps[b] }
	rows[1].cells = [numPaths]string{
		notApplicable,
		fmt.Sprintf("%.2f× RP, %.2f× direct", ratio(pathGateway, pathProxy), ratio(pathGateway, pathDirect)),
		fmt.Sprintf("%.2f× direct", ratio(pathProxy, pathDirect)),
	}
	rows[1].verdict = verdict(ratio(pathGateway, pathProxy) >= targetVsProxy)
	return rows
}

func streamRows(s *[numPaths]streamResult) []row {
	rows := []row{
		{metric: "heap per open SSE stream, whole process (KiB)"},
		{metric: "heap per open stream, proxy's own share = path − direct (KiB)", target: fmt.Sprintf("≤ %d", targetStreamKiB)},
		{metric: "goroutines per open stream (their stacks, not heap)"},
	}
	if s == nil {
		return fillUnavailable(rows)
	}
	for p := range numPaths {
		rows[0].cells[p] = fmt.Sprintf("%.1f", s[p].heapKiB)
		rows[1].cells[p] = notApplicable
		if p != pathDirect {
			rows[1].cells[p] = fmt.Sprintf("%.1f", s[p].heapKiB-s[pathDirect].heapKiB)
		}
		rows[2].cells[p] = fmt.Sprintf("%.1f (%.1f KiB)", s[p].goroutines, s[p].stackKiB)
	}
	rows[1].verdict = verdict(s[pathGateway].heapKiB-s[pathDirect].heapKiB <= targetStreamKiB)
	return rows
}

func bodyRows(b *[numPaths]bodyResult, o options) []row {
	target := fmt.Sprintf("< %d", targetGrowthMiB)
	rows := []row{
		{metric: fmt.Sprintf("%d MiB response: RSS growth, peak / end (MiB)", o.respBytes>>20), target: target},
		{metric: fmt.Sprintf("%d MiB upload: RSS growth, peak / end (MiB)", o.uploadBytes>>20), target: target},
	}
	if b == nil {
		return fillUnavailable(rows)
	}
	for p := range numPaths {
		rows[0].cells[p] = growthCell(b[p].response)
		rows[1].cells[p] = growthCell(b[p].upload)
	}
	rows[0].verdict = growthVerdict(b[pathGateway].response)
	rows[1].verdict = growthVerdict(b[pathGateway].upload)
	return rows
}

func growthCell(g rssGrowth) string {
	switch {
	case !g.measured:
		return notAvailable
	case g.peak < 0:
		return fmt.Sprintf("? / %.1f", mib(g.end))
	}
	return fmt.Sprintf("%.1f / %.1f", mib(g.peak), mib(g.end))
}

// growthVerdict judges the peak, which is what a memory limit would see; the end state only
// when the peak could not be isolated.
func growthVerdict(g rssGrowth) string {
	switch {
	case !g.measured:
		return verdictUnmeasured
	case g.peak >= 0:
		return verdict(mib(g.peak) < targetGrowthMiB)
	}
	return verdict(mib(g.end) < targetGrowthMiB)
}

func fillUnavailable(rows []row) []row {
	for i := range rows {
		for p := range numPaths {
			rows[i].cells[p] = notAvailable
		}
		if rows[i].target != "" {
			rows[i].verdict = verdictUnmeasured
		}
	}
	return rows
}

func verdict(ok bool) string {
	if ok {
		return verdictPass
	}
	return verdictFail
}

func millis(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d)/float64(time.Millisecond)) }

func addedMillis(p pathID, v [numPaths]time.Duration) string {
	if p == pathDirect {
		return notApplicable
	}
	return fmt.Sprintf("%+.3f", float64(v[p]-v[pathDirect])/float64(time.Millisecond))
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// writeTable prints rows as a Markdown table, padded so it also reads well as plain text.
func writeTable(w io.Writer, rows []row) {
	header := []string{"metric", pathNames[pathDirect], pathNames[pathGateway], pathNames[pathProxy], "target (gateway)", "pass/fail"}
	lines := [][]string{header}
	for _, r := range rows {
		lines = append(lines, []string{r.metric, r.cells[0], r.cells[1], r.cells[2], r.target, r.verdict})
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
