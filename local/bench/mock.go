package main

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// rerankResponse is a Cohere-rerank-shaped answer of about 200 bytes: the typical small JSON
// exchange a pass-through route carries.
const rerankResponse = `{"id":"07734bd2-2473-4f07-94e1-0d9f0e6843cf","results":[{"index":2,"relevance_score":0.9958},` +
	`{"index":0,"relevance_score":0.0812}],"meta":{"api_version":{"version":"1"},"billed_units":{"search_units":1}}}`

var rerankRequest = []byte(`{"model":"rerank-english-v3.0","query":"What is the capital of France?",` +
	`"documents":["Paris is in France.","Berlin is in Germany.","The capital of France is Paris."],"top_n":2}`)

// The SSE stream: one event as soon as it opens, one when the benchmark releases it.
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

// mockUpstream plays the provider. Its SSE streams stay open until releaseStreams.
type mockUpstream struct {
	mu      sync.Mutex
	release chan struct{}
}

func newMockUpstream() *mockUpstream { return &mockUpstream{release: make(chan struct{})} }

func (m *mockUpstream) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/rerank", m.rerank)
	mux.HandleFunc("GET /sse", m.sse)
	mux.HandleFunc("GET /large", m.large)
	mux.HandleFunc("POST /upload", m.upload)
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

// upload reads and discards the body and reports how many bytes arrived.
func (m *mockUpstream) upload(w http.ResponseWriter, r *http.Request) {
	n, err := io.Copy(io.Discard, r.Body)
	if err != nil {
		http.Error(w, "reading body: "+err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"received_bytes":%d}`, n)
}

// patternReader generates an upload body on the fly, so the client holds no copy of it.
type patternReader struct{ remaining int64 }

func (p *patternReader) Read(b []byte) (int, error) {
	if p.remaining <= 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.remaining {
		b = b[:p.remaining]
	}
	n := 0
	for n < len(b) {
		n += copy(b[n:], pattern)
	}
	p.remaining -= int64(n)
	return n, nil
}
