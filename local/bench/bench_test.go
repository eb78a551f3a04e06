package main

import (
	"bytes"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

func durations(xs ...int) []time.Duration {
	out := make([]time.Duration, len(xs))
	for i, x := range xs {
		out[i] = time.Duration(x)
	}
	return out
}

func TestPercentile(t *testing.T) {
	oneToHundred := make([]int, 100)
	for i := range oneToHundred {
		oneToHundred[i] = i + 1
	}
	cases := []struct {
		name   string
		sorted []time.Duration
		q      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"single p50", durations(7), 50, 7},
		{"single p99", durations(7), 99, 7},
		{"1..100 p50", durations(oneToHundred...), 50, 50},
		{"1..100 p99", durations(oneToHundred...), 99, 99},
		{"1..100 p100", durations(oneToHundred...), 100, 100},
		{"1..100 p0 is the minimum", durations(oneToHundred...), 0, 1},
		{"1..10 p50", durations(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 50, 5},
		{"1..10 p99 is the maximum", durations(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10},
		{"even split rounds up", durations(10, 20, 30, 40), 51, 30},
		{"outlier only in the tail", durations(1, 1, 1, 1, 1, 1, 1, 1, 1, 1000), 90, 1},
	}
	for _, c := range cases {
		if got := percentile(c.sorted, c.q); got != c.want {
			t.Errorf("%s: percentile(q=%v) = %v, want %v", c.name, c.q, got, c.want)
		}
	}
}

func TestMedian(t *testing.T) {
	cases := []struct {
		xs   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{9, 1, 5}, 5},
		{[]float64{4, 1, 3, 2}, 2.5},
	}
	for _, c := range cases {
		if got := median(c.xs); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.xs, got, c.want)
		}
	}
}

func TestPatternReaderCountIsExact(t *testing.T) {
	const size = 3*32<<10 + 17 // not a multiple of the pattern or of io.Copy's buffer
	n, err := io.Copy(io.Discard, &patternReader{remaining: size})
	if err != nil || n != size {
		t.Fatalf("read %d bytes (err %v), want %d", n, err, size)
	}
}

func TestParseOptions(t *testing.T) {
	o, err := parseOptions([]string{"-quick", "-n", "77"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.n != 77 || o.streams != quickOptions().streams {
		t.Errorf("-quick -n 77: n=%d streams=%d; want the explicit n and the quick streams", o.n, o.streams)
	}
	for _, bad := range [][]string{{"-n", "0"}, {"-streams", "0"}, {"-duration", "0s"}, {"extra"}} {
		if _, err := parseOptions(bad, io.Discard); err == nil {
			t.Errorf("parseOptions(%q) accepted invalid input", bad)
		}
	}
}

// TestQuickRun runs every phase with small numbers, so the benchmark keeps compiling and working
// as the gateway changes. It checks the report's shape, not the gateway's speed.
func TestQuickRun(t *testing.T) {
	var out, progress bytes.Buffer
	if code := run([]string{"-quick", "-n", "60"}, &out, &progress); code != exitOK {
		t.Fatalf("exit status %d\nstdout:\n%s\nstderr:\n%s", code, &out, &progress)
	}
	report := out.String()
	for _, want := range []string{
		"| metric", "machine: ", "command: ", "latency p50, c=1", "added p99 over direct",
		"throughput ratio", "heap per open stream, proxy's own share", "MiB response", "MiB upload",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	if runtime.GOOS == "linux" && strings.Contains(report, notAvailable) {
		t.Errorf("report has unmeasured cells on Linux:\n%s", report)
	}
}

// TestChecksCatchABrokenProxy puts a proxy that answers wrongly in the gateway's place: every
// correctness check must then fail, since that is what makes the exit status non-zero.
func TestChecksCatchABrokenProxy(t *testing.T) {
	rg, err := newRig(io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer rg.close()
	broken, err := rg.serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		switch r.URL.Path {
		case "/large":
			_, _ = io.WriteString(w, "short") // 200, but far fewer bytes than asked for
		case "/upload":
			_, _ = io.WriteString(w, `{"received_bytes":1}`)
		default:
			w.WriteHeader(http.StatusBadGateway)
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	rg.urls[pathGateway] = broken
	ctx := t.Context()
	if err := rg.rerank(ctx, pathGateway); err == nil {
		t.Error("rerank accepted a 502")
	}
	if err := rg.download(ctx, pathGateway, 1<<20); err == nil {
		t.Error("download accepted a short body")
	}
	if err := rg.upload(ctx, pathGateway, 1<<20); err == nil {
		t.Error("upload accepted a wrong upstream count")
	}
	if _, err := measureStreamPath(ctx, rg, pathGateway, 2); err == nil {
		t.Error("streams accepted a 502")
	}
}
