package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The real bootstrap, run under a fake Lambda Runtime API, streams each upstream event to the
// runtime as its own chunk, the moment it arrives; and an upstream that dies mid-stream ends
// the response with the runtime's error trailers.

// chunk is one read of a response body at the runtime API, with its arrival time.
type chunk struct {
	at   time.Time
	data []byte
}

// result is what the runtime API received for one invocation.
type result struct {
	chunks  []chunk
	trailer http.Header
	failure string    // body of an /error post
	ended   time.Time // when the posted body ended: the caller's response is complete
}

// fakeRuntime is the Lambda Runtime API: it hands out queued events on /next and records
// /response bodies read incrementally.
type fakeRuntime struct {
	*httptest.Server
	events    chan []byte
	results   chan result
	firstNext chan time.Time
	nexts     chan time.Time // every /next request, when it arrived
	once      sync.Once
	done      chan struct{}

	mu      sync.Mutex
	timeout time.Duration // the time each invocation gets (its deadline header); default a minute
}

func startRuntime(t *testing.T) *fakeRuntime {
	f := &fakeRuntime{events: make(chan []byte, 8), results: make(chan result, 8), firstNext: make(chan time.Time, 1),
		nexts: make(chan time.Time, 32), done: make(chan struct{}), timeout: time.Minute}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", f.next)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", f.response)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", f.failure)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", f.failure)
	f.Server = httptest.NewServer(mux)
	t.Cleanup(func() { close(f.done); f.Close() })
	return f
}

// setTimeout sets the time the next invocations get before their deadline.
func (f *fakeRuntime) setTimeout(d time.Duration) {
	f.mu.Lock()
	f.timeout = d
	f.mu.Unlock()
}

func (f *fakeRuntime) next(w http.ResponseWriter, r *http.Request) {
	f.once.Do(func() { f.firstNext <- time.Now() })
	select {
	case f.nexts <- time.Now():
	default:
	}
	select {
	case ev := <-f.events:
		f.mu.Lock()
		deadline := time.Now().Add(f.timeout)
		f.mu.Unlock()
		w.Header().Set("Lambda-Runtime-Aws-Request-Id", fmt.Sprintf("inv-%d", time.Now().UnixNano()))
		w.Header().Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(deadline.UnixMilli(), 10))
		w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:gateway")
		_, _ = w.Write(ev)
	case <-f.done:
	case <-r.Context().Done():
	}
}

func (f *fakeRuntime) response(w http.ResponseWriter, r *http.Request) {
	var res result
	buf := make([]byte, 64<<10)
	for {
		n, err := r.Body.Read(buf)
		if n > 0 {
			res.chunks = append(res.chunks, chunk{at: time.Now(), data: bytes.Clone(buf[:n])})
		}
		if err != nil {
			break
		}
	}
	res.trailer, res.ended = r.Trailer, time.Now()
	w.WriteHeader(http.StatusAccepted)
	f.results <- res
}

func (f *fakeRuntime) failure(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	w.WriteHeader(http.StatusAccepted)
	f.results <- result{failure: string(b)}
}

func (f *fakeRuntime) await(t *testing.T) result {
	t.Helper()
	select {
	case r := <-f.results:
		if r.failure != "" {
			t.Fatalf("the function reported an error: %s", r.failure)
		}
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no response reached the runtime API")
		return result{}
	}
}

var (
	buildOnce sync.Once
	buildDir  string
	built     string
	buildErr  error
)

// buildBootstrap compiles the function for this machine, with the release build's tags, once
// per test binary.
func buildBootstrap(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "bootstrap"); buildErr != nil {
			return
		}
		built = filepath.Join(buildDir, "bootstrap")
		buildErr = goBuild(built, "CGO_ENABLED=0")
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return built
}

// goBuild builds this package into out with the release flags and extra environment.
func goBuild(out string, env ...string) error {
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-tags", "lambda.norpc", "-trimpath",
		"-ldflags", "-s -w", "-o", out, ".")
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build bootstrap: %v\n%s", err, b)
	}
	return nil
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// startFunction runs bootstrap against the runtime with local/config.yaml pointed at upstream.
func startFunction(t testing.TB, bin, runtimeAddr, upstream string, extraEnv ...string) *function {
	t.Helper()
	return startFunctionWith(t, bin, runtimeAddr, localConfig(t, upstream), extraEnv...)
}

// localConfig is local/config.yaml with its mock upstream replaced by upstream.
func localConfig(t testing.TB, upstream string) []byte {
	t.Helper()
	data, err := os.ReadFile("../../local/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return bytes.ReplaceAll(data, []byte("http://127.0.0.1:4010"), []byte(upstream))
}

// startFunctionWith runs bootstrap against the runtime with the given config file contents.
func startFunctionWith(t testing.TB, bin, runtimeAddr string, config []byte, extraEnv ...string) *function {
	t.Helper()
	return startCommand(t, exec.Command(bin), runtimeAddr, config, extraEnv...)
}

// startCommand starts cmd, which runs the bootstrap, with the function's environment and the
// given config file contents; it is killed when the test ends.
func startCommand(t testing.TB, cmd *exec.Cmd, runtimeAddr string, config []byte, extraEnv ...string) *function {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, config, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd.Env = append([]string{
		"AWS_LAMBDA_RUNTIME_API=" + runtimeAddr, "GATEWAY_CONFIG=" + cfg, "GATEWAY_SECRETS=env", "LITELLM_MASTER_KEY=sk-1234",
		"COHERE_API_KEY=co", "LANGFUSE_PUBLIC_KEY=pk", "LANGFUSE_SECRET_KEY=sk", "ANTHROPIC_API_KEY=ant", "OPENAI_API_KEY=sk-oai",
	}, extraEnv...)
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("function output:\n%s", logs.String())
		}
	})
	return &function{Cmd: cmd, out: logs}
}

// function is a running bootstrap and what it wrote to stdout and stderr.
type function struct {
	*exec.Cmd
	out *syncBuffer
}

// syncBuffer collects a process's output while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func sseEvent(i int) string {
	return fmt.Sprintf("data: {\"choices\":[{\"delta\":{\"content\":\"tok%d\"}}]}\n\n", i)
}

func TestBootstrapStreamsUnderRuntimeAPI(t *testing.T) {
	const events, gap = 5, 200 * time.Millisecond
	sent := make(chan time.Time, events)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		if r.Header.Get("Authorization") != "Bearer sk-oai" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		for i := range events {
			if i > 0 {
				time.Sleep(gap)
			}
			sent <- time.Now()
			_, _ = io.WriteString(w, sseEvent(i))
			w.(http.Flusher).Flush()
			if r.URL.RawQuery == "reset=1" {
				conn, _, _ := http.NewResponseController(w).Hijack()
				conn.Close()
				return
			}
		}
	}))
	defer up.Close()
	rt := startRuntime(t)
	startFunction(t, buildBootstrap(t), strings.TrimPrefix(rt.URL, "http://"), up.URL)

	rt.events <- mustRead(t, "../../events/function-url-chat-stream.json")
	res := rt.await(t)
	body := afterPrelude(t, res)
	if want := sseEvent(0) + sseEvent(1) + sseEvent(2) + sseEvent(3) + sseEvent(4); body != want {
		t.Fatalf("streamed body = %q, want %q", body, want)
	}
	var sentAt []time.Time
	for range events {
		sentAt = append(sentAt, <-sent)
	}
	arrived := arrivals(res, events)
	for i := range events {
		t.Logf("event %d: reached the runtime API %v after the upstream sent it", i, arrived[i].Sub(sentAt[i]).Round(time.Millisecond))
		if i+1 < events && !arrived[i].Before(sentAt[i+1]) {
			t.Errorf("event %d reached the runtime only after event %d was sent: the function buffered it", i, i+1)
		}
	}
	if spread := arrived[events-1].Sub(arrived[0]); spread < 3*gap {
		t.Errorf("events arrived within %v; sent %v apart they must arrive spread out", spread, gap)
	}
	if len(res.trailer.Get("Lambda-Runtime-Function-Error-Type")) != 0 {
		t.Errorf("a clean stream carries error trailers: %v", res.trailer)
	}

	// The same function, next invocation: an upstream reset mid-stream.
	rt.events <- withQuery(t, mustRead(t, "../../events/function-url-chat-stream.json"), "reset=1")
	res = rt.await(t)
	<-sent
	if body := afterPrelude(t, res); body != sseEvent(0) {
		t.Errorf("body before the reset = %q", body)
	}
	errType, errBody := res.trailer.Get("Lambda-Runtime-Function-Error-Type"), res.trailer.Get("Lambda-Runtime-Function-Error-Body")
	decoded, _ := base64.StdEncoding.DecodeString(errBody)
	if errType == "" || !strings.Contains(string(decoded), "the upstream stream ended early") {
		t.Errorf("trailers = %v (body %s), want the runtime's error trailers", res.trailer, decoded)
	}

	// A REST API event streams the same way (GATEWAY_REST_API_MODE defaults to stream).
	rt.events <- mustRead(t, "../../events/rest-chat-stream.json")
	res = rt.await(t)
	for range events {
		<-sent
	}
	if body := afterPrelude(t, res); body != sseEvent(0)+sseEvent(1)+sseEvent(2)+sseEvent(3)+sseEvent(4) {
		t.Errorf("REST streamed body = %q", body)
	}
	if arrived := arrivals(res, events); arrived[events-1].Sub(arrived[0]) < 3*gap {
		t.Errorf("REST events arrived within %v: buffered", arrived[events-1].Sub(arrived[0]))
	}
}

// afterPrelude checks the prelude of a streamed response and returns its body.
func afterPrelude(t *testing.T, res result) string {
	t.Helper()
	var all []byte
	for _, c := range res.chunks {
		all = append(all, c.data...)
	}
	prelude, body, ok := bytes.Cut(all, make([]byte, 8))
	if !ok || !bytes.Contains(prelude, []byte(`"statusCode":200`)) || !bytes.Contains(prelude, []byte(`"Content-Type":"text/event-stream"`)) {
		t.Fatalf("prelude = %q", prelude)
	}
	return string(body)
}

// arrivals finds when the last byte of each of the first n SSE events reached the runtime.
func arrivals(res result, n int) []time.Time {
	var out []time.Time
	var seen []byte
	for _, c := range res.chunks {
		seen = append(seen, c.data...)
		for len(out) < n && bytes.Count(seen, []byte("\n\n")) > len(out) {
			out = append(out, c.at)
		}
	}
	return out
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func withQuery(t *testing.T, event []byte, q string) []byte {
	t.Helper()
	return bytes.Replace(event, []byte(`"rawQueryString": ""`), []byte(`"rawQueryString": "`+q+`"`), 1)
}
