// Package usage defines the record written for every call through the gateway and the local
// sinks that store it. The AWS sinks (CloudWatch EMF, Firehose) live beside these later.
package usage

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"
)

// Record is one call. Token and cost fields arrive with the provider parsers.
type Record struct {
	CallID       string    `json:"call_id"`
	RequestID    string    `json:"request_id,omitempty"`
	Time         time.Time `json:"timestamp"`
	Route        string    `json:"route"`
	Method       string    `json:"method"`
	UpstreamHost string    `json:"upstream_host,omitempty"`
	Status       int       `json:"status"`
	LatencyMS    float64   `json:"latency_ms"`
	TTFBMS       float64   `json:"ttfb_ms,omitempty"`
	Streamed     bool      `json:"streamed"`
	BytesIn      int64     `json:"bytes_in"`
	BytesOut     int64     `json:"bytes_out"`
	KeyAlias     string    `json:"key_alias,omitempty"`
	Tags         []string  `json:"tags,omitempty"`
	CostUSD      *float64  `json:"cost_usd"`
	CostSource   string    `json:"cost_source,omitempty"`
	// ErrorClass is empty on success: auth, not_found, method, bad_request, secret,
	// upstream_connect, upstream_timeout, upstream_status, client_disconnect, internal.
	ErrorClass string `json:"error_class,omitempty"`
	// Partial is true when the client or the upstream ended the response early.
	Partial bool `json:"partial"`
}

// Discard drops every record.
type Discard struct{}

// Record implements the proxy's usage sink.
func (Discard) Record(context.Context, Record) {}

// JSONLines writes each record as one JSON line; safe for concurrent use.
type JSONLines struct {
	mu  sync.Mutex
	w   io.Writer
	err func(error)
}

// NewJSONLines writes records to w; onErr (may be nil) hears about write failures.
func NewJSONLines(w io.Writer, onErr func(error)) *JSONLines {
	return &JSONLines{w: w, err: onErr}
}

// Record implements the proxy's usage sink.
func (j *JSONLines) Record(_ context.Context, r Record) {
	b, err := json.Marshal(r)
	if err == nil {
		b = append(b, '\n')
		j.mu.Lock()
		_, err = j.w.Write(b)
		j.mu.Unlock()
	}
	if err != nil && j.err != nil {
		j.err(fmt.Errorf("write usage record %s: %w", r.CallID, err))
	}
}
