package main

import (
	"bufio"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The bootstrap under Lambda's CPU share. Lambda gives a function CPU in proportion to its
// memory, one vCPU's worth at 1,769 MB
// (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html), so 128 MB is 7.2% of
// a CPU. TestLambdaUnderCPUCap runs the real bootstrap under the fake Runtime API inside a CPU
// cgroup with that quota (cgroup v1 cpu.cfs_quota_us, or v2 cpu.max) and reports, per memory
// size: process start → first /next, a warm streamed call, a streamed call that opens a new TLS
// connection to an https upstream, and the process's peak RSS. It needs root and a writable
// cgroup hierarchy, so it runs only when asked: `make lambda-cpu-bench`.
const cpuCapEnv = "GATEWAY_CPU_CAP_BENCH"

func TestLambdaUnderCPUCap(t *testing.T) {
	if os.Getenv(cpuCapEnv) == "" {
		t.Skipf("set %s=1 (as root, with a writable cgroup cpu controller) to measure the bootstrap under Lambda's CPU share", cpuCapEnv)
	}
	sizes := []int{128, 256, 512, 1024, lambdaFullCPUMB}
	bin := buildBootstrap(t)
	plain := httptest.NewServer(sseReply(false))
	defer plain.Close()
	secure := httptest.NewTLSServer(sseReply(true)) // Connection: close: every call is a new TLS handshake
	defer secure.Close()
	certFile := filepath.Join(t.TempDir(), "upstream.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: secure.Certificate().Raw})
	if err := os.WriteFile(certFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	event := mustRead(t, "../../events/function-url-chat-stream.json")
	t.Logf("the upstream called directly (uncapped, keep-alive): %s median", ms(directCalls(t, plain.URL+"/v1/chat/completions", 12)))
	t.Logf("| memory (MB) | CPU share | process start → first /next | warm streamed call (median) | new-TLS streamed call (median) | peak RSS |")
	t.Logf("|---|---|---|---|---|---|")
	for _, mb := range sizes {
		procs := cpuCgroup(t, mb)
		rt := startRuntime(t)
		start := time.Now()
		fn := startCapped(t, bin, procs, strings.TrimPrefix(rt.URL, "http://"), plain.URL, lambdaEnv(mb)...)
		var cold time.Duration
		select {
		case at := <-rt.firstNext:
			cold = at.Sub(start)
		case <-time.After(30 * time.Second):
			t.Fatalf("%d MB: the function never asked for an event", mb)
		}
		warm := invocations(t, rt, event, 12)[2:] // the first opens the upstream connection
		hwm := peakRSS(t, fn.Process.Pid)

		rtTLS := startRuntime(t)
		startCapped(t, bin, cpuCgroup(t, mb), strings.TrimPrefix(rtTLS.URL, "http://"), secure.URL, append(lambdaEnv(mb), "SSL_CERT_FILE="+certFile)...)
		<-rtTLS.firstNext
		handshakes := invocations(t, rtTLS, event, 6)
		t.Logf("| %d | %.1f%% | %s | %s | %s | %.1f MiB |", mb, 100*float64(mb)/lambdaFullCPUMB, ms(cold), ms(median(warm)), ms(median(handshakes)), float64(hwm)/(1<<20))
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// sseReply is a chat completion stream of three events and a usage chunk, sent at once.
func sseReply(closeConn bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if closeConn {
			w.Header().Set("Connection", "close")
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 3 {
			_, _ = io.WriteString(w, sseEvent(i))
			w.(http.Flusher).Flush()
		}
		_, _ = io.WriteString(w, "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3}}\n\ndata: [DONE]\n\n")
	}
}

// invocations sends event n times and returns how long each took from the event's hand-over on
// /next to the end of the streamed response at the runtime API.
func invocations(t *testing.T, rt *fakeRuntime, event []byte, n int) []time.Duration {
	t.Helper()
	var out []time.Duration
	for range n {
		start := time.Now()
		rt.events <- event
		res := rt.await(t)
		if body := afterPrelude(t, res); !strings.HasPrefix(body, sseEvent(0)) {
			t.Fatalf("streamed body %q", body)
		}
		out = append(out, res.ended.Sub(start))
	}
	return out
}

// cpuCgroup makes a CPU cgroup with the CPU share of a Lambda function of mb MB and returns its
// cgroup.procs file; it is removed when the test ends (after the function is killed).
func cpuCgroup(t *testing.T, mb int) string {
	t.Helper()
	const period = 100_000 // µs
	quota := period * mb / lambdaFullCPUMB
	name := fmt.Sprintf("gateway-cpucap-%d-%d", os.Getpid(), time.Now().UnixNano())
	var dir string
	var settings map[string]string
	if _, err := os.Stat("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"); err == nil { // cgroup v1
		dir = filepath.Join("/sys/fs/cgroup/cpu", name)
		settings = map[string]string{"cpu.cfs_period_us": strconv.Itoa(period), "cpu.cfs_quota_us": strconv.Itoa(quota)}
	} else { // cgroup v2 (the cpu controller must be enabled in the root's cgroup.subtree_control)
		dir = filepath.Join("/sys/fs/cgroup", name)
		settings = map[string]string{"cpu.max": fmt.Sprintf("%d %d", quota, period)}
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatalf("create cgroup (needs root and a writable cgroup cpu controller): %v", err)
	}
	t.Cleanup(func() {
		for i := 0; i < 50; i++ { // the killed function leaves the group a moment later
			if err := os.Remove(dir); err == nil || errors.Is(err, os.ErrNotExist) {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Logf("cgroup %s left behind", dir)
	})
	for file, v := range settings {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(v), 0o644); err != nil {
			t.Fatalf("set %s: %v", file, err)
		}
	}
	return filepath.Join(dir, "cgroup.procs")
}

// lambdaEnv is what Lambda tells a function of mb MB about its size, and GOMAXPROCS when this
// test was given one (GOMAXPROCS=2 make lambda-cpu-bench measures the runtime's own default).
func lambdaEnv(mb int) []string {
	env := []string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + strconv.Itoa(mb)}
	if p := os.Getenv("GOMAXPROCS"); p != "" {
		env = append(env, "GOMAXPROCS="+p)
	}
	return env
}

// startCapped runs bootstrap as startFunction does, inside the cgroup whose cgroup.procs is
// procs from its first instruction: a shell joins the group, then execs the bootstrap.
func startCapped(t *testing.T, bin, procs, runtimeAddr, upstream string, extraEnv ...string) *function {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", `echo $$ > "$1" && exec "$2"`, "sh", procs, bin)
	return startCommand(t, cmd, runtimeAddr, localConfig(t, upstream), extraEnv...)
}

// peakRSS is the process's VmHWM, in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM")
	return 0
}

// directCalls times n POSTs of the stream straight to the upstream, with keep-alive.
func directCalls(t *testing.T, url string, n int) time.Duration {
	t.Helper()
	var took []time.Duration
	for range n {
		start := time.Now()
		resp, err := http.Post(url, "application/json", strings.NewReader(`{"model":"gpt-4o-mini","stream":true}`))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		took = append(took, time.Since(start))
	}
	return median(took)
}
