package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"
)

// The benchmark runs its mock upstream and the bare ReverseProxy as separate processes, so
// that each one's CPU and memory are its own: it starts its own executable again with
// roleEnv set (the test binary too, through TestMain).
const (
	roleEnv     = "BENCH_ROLE"     // mock or reverseproxy
	listenEnv   = "BENCH_LISTEN"   // the address to serve on
	upstreamEnv = "BENCH_UPSTREAM" // the reverse proxy's upstream URL
	roleMock    = "mock"
	roleRP      = "reverseproxy"
)

// runRole serves the role named in the environment until the process is killed; it returns
// false when no role is set.
func runRole() bool {
	role := os.Getenv(roleEnv)
	if role == "" {
		return false
	}
	var h http.Handler
	switch role {
	case roleMock:
		h = newMockUpstream().handler()
	case roleRP:
		rp, err := newReverseProxy(os.Getenv(upstreamEnv))
		if err != nil {
			log.Fatalf("bench %s: %v", role, err)
		}
		h = rp
	default:
		log.Fatalf("bench: unknown %s %q", roleEnv, role)
	}
	srv := &http.Server{Addr: os.Getenv(listenEnv), Handler: h, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("bench %s: %v", role, err)
	}
	return true
}

// newReverseProxy is the baseline: the standard library's proxy doing the same credential swap,
// on a transport pooled like the gateway's so that neither pays for reconnecting.
func newReverseProxy(upstream string) (*httputil.ReverseProxy, error) {
	target, err := url.Parse(upstream)
	if err != nil || target.Host == "" {
		return nil, fmt.Errorf("upstream URL %q: %v", upstream, err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 512, 256
	tr.DisableCompression = true
	credential := "bearer " + upstreamKey
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Header.Set("Authorization", credential)
		},
		Transport: tr,
		ErrorLog:  log.New(os.Stderr, "bench: reverse proxy: ", 0),
	}, nil
}

// rerankResponse is a Cohere-rerank-shaped answer of about 200 bytes: the typical small JSON
// exchange a pass-through route carries.
const rerankResponse = `{"id":"07734bd2-2473-4f07-94e1-0d9f0e6843cf","results":[{"index":2,"relevance_score":0.9958},` +
	`{"index":0,"relevance_score":0.0812}],"meta":{"api_version":{"version":"1"},"billed_units":{"search_units":1}}}`

var rerankRequest = []byte(`{"model":"rerank-english-v3.0","query":"What is the capital of France?",` +
	`"documents":["Paris is in France.","Berlin is in Germany.","The capital of France is Paris."],"top_n":2}`)

// The held SSE stream: one event as soon as it opens, one when the benchmark releases it.
const (
	firstEvent = "event: message_start\ndata: {\"type\":\"message_start\"}\n\n"
	lastEvent  = "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
)

// streamHoldLimit ends a held stream on its own should the benchmark never release it.
const streamHoldLimit = 2 * time.Minute

// pattern is the source of every large body, so that no body is ever allocated whole.
var pattern = func() []byte {
	b := make([]byte, 32<<10)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}()

// mockUpstream plays the provider. Its held SSE streams stay open until POST /release.
type mockUpstream struct {
	mu      sync.Mutex
	release chan struct{}
}

func newMockUpstream() *mockUpstream { return &mockUpstream{release: make(chan struct{})} }

func (m *mockUpstream) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/rerank", m.rerank)
	mux.HandleFunc("GET /sse", m.sse)
	mux.HandleFunc("GET /events", m.events)
	mux.HandleFunc("GET /large", m.large)
	mux.HandleFunc("POST /release", func(w http.ResponseWriter, _ *http.Request) { m.releaseStreams() })
	return mux
}

// releaseStreams lets every stream opened so far send its last event and end.
func (m *mockUpstream) releaseStreams() {
	m.mu.Lock()
	defer m.mu.Unlock()
	close(m.release)
	m.release = make(chan struct{})
}

func (m *mockUpstream) currentRelease() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.release
}

func (m *mockUpstream) rerank(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(rerankResponse)))
	_, _ = io.WriteString(w, rerankResponse)
}

func (m *mockUpstream) sse(w http.ResponseWriter, r *http.Request) {
	release := m.currentRelease()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = io.WriteString(w, firstEvent)
	_ = http.NewResponseController(w).Flush()
	hold := time.NewTimer(streamHoldLimit)
	defer hold.Stop()
	select {
	case <-release:
	case <-hold.C:
	case <-r.Context().Done():
		return
	}
	_, _ = io.WriteString(w, lastEvent)
}

// events sends ?n= SSE events ?gap= apart, each flushed on its own and stamped with the wall
// clock time it was written (ns), so the client can tell each event's delay and whether
// anything on the way merged two events into one read.
func (m *mockUpstream) events(w http.ResponseWriter, r *http.Request) {
	n, err1 := strconv.Atoi(r.URL.Query().Get("n"))
	gap, err2 := time.ParseDuration(r.URL.Query().Get("gap"))
	if err1 != nil || err2 != nil || n < 1 || n > 10000 || gap < 0 || gap > time.Second {
		http.Error(w, "want n in [1, 10000] and gap in [0, 1s]", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	buf := make([]byte, 0, 64)
	for range n {
		time.Sleep(gap)
		buf = append(buf[:0], "data: "...)
		buf = strconv.AppendInt(buf, time.Now().UnixNano(), 10)
		buf = append(buf, "\n\n"...)
		if _, err := w.Write(buf); err != nil || rc.Flush() != nil {
			return
		}
	}
}

// large streams ?bytes=N bytes from the shared pattern.
func (m *mockUpstream) large(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.ParseInt(r.URL.Query().Get("bytes"), 10, 64)
	if err != nil || n < 0 {
		http.Error(w, "bytes must be a non-negative integer", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	for n > 0 {
		chunk := pattern[:min(n, int64(len(pattern)))]
		if _, err := w.Write(chunk); err != nil {
			return
		}
		n -= int64(len(chunk))
	}
}
