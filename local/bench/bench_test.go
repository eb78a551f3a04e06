package main

import (
	"bytes"
	"errors"
	"fmt"
	"image/png"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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

func TestParseOptions(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "gateway")
	if err := os.WriteFile(bin, nil, 0o700); err != nil {
		t.Fatal(err)
	}
	o, err := parseOptions([]string{"-quick", "-n", "77", "-gateway", bin}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.n != 77 || o.streams != quickOptions().streams {
		t.Errorf("-quick -n 77: n=%d streams=%d; want the explicit n and the quick streams", o.n, o.streams)
	}
	for _, bad := range [][]string{{"-n", "0"}, {"-streams", "0"}, {"-duration", "0s"}, {"extra"}, {"-download-mib", "0"}, {"-cpuprofile", "/nonexistent-dir/p.prof"}, {"-cpuprofile", t.TempDir()}, {}} {
		if len(bad) > 0 {
			bad = append(bad, "-gateway", bin)
		} else {
			bad = []string{"-gateway", filepath.Join(t.TempDir(), "missing")}
		}
		if _, err := parseOptions(bad, io.Discard); err == nil {
			t.Errorf("parseOptions(%q) accepted invalid input", bad)
		}
	}
}

// TestMain lets the test binary play the benchmark's mock upstream and ReverseProxy, which the
// benchmark starts by running its own executable again with BENCH_ROLE set.
func TestMain(m *testing.M) {
	if runRole() {
		return
	}
	code := m.Run()
	_ = os.RemoveAll(gatewayBuilds.dir)
	os.Exit(code)
}

// gatewayBuilds are the gateway binaries built so far, by build tags, in one directory removed
// when the tests end.
var gatewayBuilds struct {
	sync.Mutex
	dir  string
	bins map[string]string
}

// gatewayBinary builds the gateway binary the benchmark drives as `make bench` does (local use
// only: -tags noawsbackends, no cgo), with the extra build tags given, once per test binary.
func gatewayBinary(t *testing.T, extraTags ...string) string {
	t.Helper()
	tags := strings.Join(append([]string{"noawsbackends"}, extraTags...), ",")
	b := &gatewayBuilds
	b.Lock()
	defer b.Unlock()
	if bin, ok := b.bins[tags]; ok {
		return bin
	}
	if b.dir == "" {
		dir, err := os.MkdirTemp("", "bench-gateway-")
		if err != nil {
			t.Fatal(err)
		}
		b.dir, b.bins = dir, map[string]string{}
	}
	bin := filepath.Join(b.dir, "gateway-"+strings.ReplaceAll(tags, ",", "-"))
	cmd := exec.Command("go", "build", "-tags", tags, "-o", bin, "github.com/passthru/gateway/local/gateway")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build -tags %s ./local/gateway: %v\n%s", tags, err, out)
	}
	b.bins[tags] = bin
	return bin
}

// TestQuickRun runs every phase with small numbers against the real gateway binary, so the
// benchmark keeps compiling and working as the gateway changes. It checks the report's shape
// and the correctness checks (statuses, byte counts, one usage record per call after SIGTERM),
// not the gateway's speed. nginx takes part when installed.
func TestQuickRun(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the benchmark reads /proc")
	}
	var out, progress bytes.Buffer
	chart := filepath.Join(t.TempDir(), "chart.png")
	if code := run([]string{"-quick", "-gateway", gatewayBinary(t), "-chart", chart}, &out, &progress); code != exitOK {
		t.Fatalf("exit status %d\nstdout:\n%s\nstderr:\n%s", code, &out, &progress)
	}
	report := out.String()
	for _, want := range []string{
		"| metric", "machine: ", "command: ", "added latency p50 over direct", "added latency p99 over direct",
		"throughput, c=32", "CPU per request", "RSS idle", "RSS after c=32", "memory per open SSE stream",
		"SSE added event delay", "coalesced", "MiB download, wall time", "MiB download, RSS growth",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	f, err := os.Open(chart)
	if err != nil {
		t.Fatalf("chart: %v", err)
	}
	defer f.Close()
	if img, err := png.Decode(f); err != nil || img.Bounds().Dx() != chartW {
		t.Errorf("chart %s is not the chart PNG: %v", chart, err)
	}
	table := report[:strings.Index(report, "\n- ")]
	if findNginx("") != "" && strings.Contains(table, notAvailable) {
		t.Errorf("report has unmeasured cells with nginx installed:\n%s", report)
	}
	if findNginx("") == "" && !strings.Contains(report, "apt-get install -y nginx") {
		t.Errorf("report does not say how to get nginx:\n%s", report)
	}
}

// TestChecksCatchABrokenProxy puts a proxy that answers wrongly in the gateway's place: every
// correctness check must then fail, since that is what makes the exit status non-zero.
func TestChecksCatchABrokenProxy(t *testing.T) {
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		switch r.URL.Path {
		case "/large":
			_, _ = io.WriteString(w, "short") // 200, but far fewer bytes than asked for
		case "/events":
			_, _ = io.WriteString(w, "data: 1\n\n") // one event of the five asked for
		default:
			w.WriteHeader(http.StatusBadGateway)
		}
	}))
	defer broken.Close()
	rg := &rig{client: broken.Client()}
	rg.procs[pathGateway] = &proc{name: "broken", url: broken.URL}
	ctx := t.Context()
	if err := rg.rerank(ctx, pathGateway); err == nil {
		t.Error("rerank accepted a 502")
	}
	if err := rg.download(ctx, pathGateway, 1<<20); err == nil {
		t.Error("download accepted a short body")
	}
	if _, _, err := rg.timedStream(ctx, pathGateway, 5, time.Millisecond); err == nil {
		t.Error("timed stream accepted one event of five")
	}
	ready := make(chan error, 1)
	if err := rg.holdStream(ctx, pathGateway, ready); err != nil || <-ready == nil {
		t.Error("held stream accepted a 502")
	}
}

// TestUsageCheckCatchesALostRecord: the run fails when the gateway's usage log holds fewer
// records than the calls it answered.
func TestUsageCheckCatchesALostRecord(t *testing.T) {
	dir := t.TempDir()
	rg := &rig{usageLog: filepath.Join(dir, "usage.jsonl")}
	if err := os.WriteFile(rg.usageLog, []byte("{}\n{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{name: "gateway", cmd: cmd, stderr: &headBuffer{max: 1}, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	rg.procs[pathGateway] = p
	rg.calls[pathGateway].Store(3)
	err := rg.stopGateway()
	if err == nil || !strings.Contains(err.Error(), "holds 2 records after SIGTERM, want one per call: 3") {
		t.Errorf("stopGateway = %v, want the missing record reported", err)
	}
}

func TestReadStatParsesANameWithSpacesAndParens(t *testing.T) {
	st, err := readStat(os.Getpid())
	if err != nil {
		if runtime.GOOS != "linux" {
			t.Skip("no /proc")
		}
		t.Fatal(err)
	}
	if int(st.ppid) != os.Getppid() {
		t.Errorf("ppid %d, want %d", st.ppid, os.Getppid())
	}
}

func TestNginxConfigSwapsTheCredentialAndDoesNotBuffer(t *testing.T) {
	c := nginxConfig("/tmp/x", "127.0.0.1:1", "127.0.0.1:2")
	for _, want := range []string{
		"listen 127.0.0.1:1;", "server 127.0.0.1:2; keepalive 256;", `proxy_set_header Authorization "bearer ` + upstreamKey + `";`,
		"proxy_buffering off;", "proxy_request_buffering off;", "proxy_http_version 1.1;", `proxy_set_header Connection "";`,
	} {
		if !strings.Contains(c, want) {
			t.Errorf("nginx config lacks %q:\n%s", want, c)
		}
	}
}

// TestStreamPhaseClosesItsConnections: the held streams' connections end with their phase, so
// the RSS read after the c=32 phase counts that phase's connections, not idle ones left here.
func TestStreamPhaseClosesItsConnections(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the phase reads the process's RSS from /proc")
	}
	var open atomic.Int64
	srv := httptest.NewUnstartedServer(newMockUpstream().handler())
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			open.Add(1)
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}
	srv.Start()
	defer srv.Close()
	rg := &rig{idle: newClientTransport()}
	rg.client = &http.Client{Transport: rg.idle}
	rg.procs[pathDirect] = &proc{name: "mock", url: srv.URL, cmd: &exec.Cmd{Process: &os.Process{Pid: os.Getpid()}}}
	const streams = 8
	if _, err := measureStreamPath(t.Context(), rg, pathDirect, streams); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); open.Load() != 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond) // the server sees the closes a moment later
	}
	if n := open.Load(); n != 0 {
		t.Errorf("%d connections still open after the stream phase of %d streams, want 0", n, streams)
	}
}

func TestGatewayEnvOptions(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "gateway")
	if err := os.WriteFile(bin, nil, 0o700); err != nil {
		t.Fatal(err)
	}
	o, err := parseOptions([]string{"-gateway", bin, "-gateway-env", "GOMAXPROCS=1", "-gateway-env", "GOGC=200"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.gatewayEnv, []string{"GOMAXPROCS=1", "GOGC=200"}) {
		t.Errorf("gatewayEnv = %q, want both settings in order", o.gatewayEnv)
	}
	cases := []struct{ value, want string }{
		{"GOMAXPROCS", `-gateway-env wants NAME=VALUE, got "GOMAXPROCS"`},
		{"=1", `-gateway-env wants NAME=VALUE, got "=1"`},
		{"LITELLM_MASTER_KEY=x", "-gateway-env LITELLM_MASTER_KEY: the bench sets that one itself"},
		{"BENCH_UPSTREAM_KEY=x", "-gateway-env BENCH_UPSTREAM_KEY: the bench sets that one itself"},
		{"GATEWAY_PPROF_ADDR=127.0.0.1:1", "-gateway-env GATEWAY_PPROF_ADDR: the bench sets that one itself"},
	}
	for _, c := range cases {
		_, err := parseOptions([]string{"-gateway", bin, "-gateway-env", c.value}, io.Discard)
		if err == nil || err.Error() != c.want {
			t.Errorf("-gateway-env %s: error %v, want %q", c.value, err, c.want)
		}
	}
}

// The gateway gets the bench's settings, then -gateway-env's, then the profiler's address, and
// nothing of it reaches the other processes (they are started from startRole, without them).
func TestGatewayCommand(t *testing.T) {
	o := options{gateway: "/bin/gw", gatewayEnv: []string{"GOMAXPROCS=1"}}
	for _, pprofAddr := range []string{"", "127.0.0.1:6061"} {
		cmd := gatewayCommand(o, "/cfg.yaml", "127.0.0.1:4000", "/usage.jsonl", pprofAddr)
		if want := []string{"/bin/gw", "-config", "/cfg.yaml", "-addr", "127.0.0.1:4000", "-usage-log", "/usage.jsonl"}; !slices.Equal(cmd.Args, want) {
			t.Errorf("args %q, want %q", cmd.Args, want)
		}
		tail := cmd.Env[len(os.Environ()):]
		want := []string{"LITELLM_MASTER_KEY=" + gatewayKey, upstreamKeyEnv + "=" + upstreamKey, "GOMAXPROCS=1"}
		if pprofAddr != "" {
			want = append(want, pprofAddrEnv+"="+pprofAddr)
		}
		if !slices.Equal(tail, want) {
			t.Errorf("pprof address %q: the environment adds %q, want %q", pprofAddr, tail, want)
		}
	}
}

// -cpuprofile, with a gateway built with -tags pprof, writes a CPU profile (a gzipped protobuf)
// of the gateway's c=32 round; the report says so, and so does the command line.
func TestCPUProfile(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the benchmark reads /proc")
	}
	prof := filepath.Join(t.TempDir(), "gateway.prof")
	var out, progress bytes.Buffer
	bin := gatewayBinary(t, "pprof")
	args := []string{"-quick", "-duration", "1s", "-nginx", "off", "-gateway", bin, "-cpuprofile", prof, "-gateway-env", "GOMAXPROCS=1"}
	if code := run(args, &out, &progress); code != exitOK {
		t.Fatalf("exit status %d\nstdout:\n%s\nstderr:\n%s", code, &out, &progress)
	}
	// A CPU profile taken while the gateway served the round has its handler in some stacks;
	// one taken before or after the round (idle) has not.
	top, err := exec.Command("go", "tool", "pprof", "-top", "-nodefraction=0", "-nodecount=100000", bin, prof).CombinedOutput()
	if err != nil {
		t.Fatalf("go tool pprof %s: %v\n%s\nstderr:\n%s", prof, err, top, &progress)
	}
	for _, want := range []string{"Type: cpu", "proxy.(*Handler).ServeHTTP"} {
		if !bytes.Contains(top, []byte(want)) {
			t.Errorf("the profile lacks %q: not a CPU profile of the round\n%s", want, top)
		}
	}
	for _, want := range []string{
		"-cpuprofile " + prof,
		"The gateway's first c=32 round ran under the CPU profiler",
		"The gateway process alone ran with GOMAXPROCS=1 in its environment (-gateway-env).",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, &out)
		}
	}
	if !strings.Contains(progress.String(), "CPU profile of the gateway's round 1 written to "+prof) {
		t.Errorf("progress does not say where the profile went:\n%s", &progress)
	}
}

// A gateway built without -tags pprof has no profiler: -cpuprofile stops the run at setup,
// saying how to build one, within seconds.
func TestCPUProfileNeedsThePprofBuild(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the benchmark reads /proc")
	}
	var out, progress bytes.Buffer
	bin := gatewayBinary(t)
	code := run([]string{"-quick", "-nginx", "off", "-gateway", bin, "-cpuprofile", filepath.Join(t.TempDir(), "p")}, &out, &progress)
	if code != exitSetup {
		t.Fatalf("exit status %d, want %d\nstderr:\n%s", code, exitSetup, &progress)
	}
	want := fmt.Sprintf("-cpuprofile: %s serves no profiler on GATEWAY_PPROF_ADDR=", bin)
	if msg := progress.String(); !strings.Contains(msg, want) || !strings.Contains(msg, "build it with -tags pprof, as `make bench-profile` does") {
		t.Errorf("stderr:\n%s\nwant it to say %q and how to build one", msg, want)
	}
}

// A gateway that does not start stops the run at setup with its reason, and the processes
// started before it (the mock and the ReverseProxy) are stopped: none is left running.
func TestGatewayThatDoesNotStart(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the benchmark reads /proc")
	}
	var out, progress bytes.Buffer
	code := run([]string{"-quick", "-nginx", "off", "-gateway", "/bin/false"}, &out, &progress)
	if code != exitSetup {
		t.Fatalf("exit status %d, want %d\nstderr:\n%s", code, exitSetup, &progress)
	}
	if msg := progress.String(); !strings.Contains(msg, "bench: setting up: gateway did not start: it exited") {
		t.Errorf("stderr:\n%s\nwant it to say the gateway did not start", msg)
	}
	if kids := childrenOf(os.Getpid()); len(kids) > 0 {
		t.Errorf("processes %v the run started are still running", kids)
	}
}

// A profile that cannot be written (here a directory stands where its temporary file would
// go) is reported on stderr, and the run's figures and exit status stand: it is not a failed
// check. An earlier run's profile at the same path is gone, not shown as this run's.
func TestCPUProfileFailureKeepsTheFigures(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the benchmark reads /proc")
	}
	prof := filepath.Join(t.TempDir(), "gateway.prof")
	if err := os.WriteFile(prof, []byte("an earlier run's profile"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(prof+".part", 0o700); err != nil { // os.Create fails on it
		t.Fatal(err)
	}
	var out, progress bytes.Buffer
	code := run([]string{"-quick", "-nginx", "off", "-gateway", gatewayBinary(t, "pprof"), "-cpuprofile", prof}, &out, &progress)
	if code != exitOK {
		t.Fatalf("exit status %d, want %d\nstderr:\n%s", code, exitOK, &progress)
	}
	if !strings.Contains(progress.String(), "bench:   no CPU profile of the gateway (the figures stand): ") {
		t.Errorf("stderr does not say the profile failed:\n%s", &progress)
	}
	if _, err := os.Stat(prof); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after a failed profile, %s: %v; want it gone, not an earlier run's left to read", prof, err)
	}
	rows := 0
	for _, line := range strings.Split(out.String(), "\n") {
		if !strings.HasPrefix(line, "| throughput") && !strings.HasPrefix(line, "| CPU per request") {
			continue
		}
		rows++
		if cells := strings.Split(line, "|"); len(cells) < 6 || strings.TrimSpace(cells[5]) == notAvailable { // | metric | direct | nginx | RP | gateway |
			t.Errorf("a failed profile cost the gateway's round its figures: %s", line)
		}
	}
	if rows != 2 {
		t.Errorf("found %d of the throughput and CPU rows, want 2:\n%s", rows, &out)
	}
}
