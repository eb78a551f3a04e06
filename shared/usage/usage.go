// Package usage defines the record written for every call through the gateway (schema
// version 1, documented in the README) and the sinks that store it: a JSON-lines file locally,
// CloudWatch (EMF) and Firehose on AWS.
package usage

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"
)

// SchemaVersion is the version of Record's JSON shape; it changes only with a breaking change.
const SchemaVersion = 1

// Tokens are what a provider's response said about one call. A nil count means the provider
// did not report it (not zero). Input includes cached and cache-write tokens; Output includes
// reasoning tokens.
type Tokens struct {
	Provider    string `json:"provider,omitempty"`
	Model       string `json:"model,omitempty"`
	Input       *int64 `json:"input_tokens"`
	Output      *int64 `json:"output_tokens"`
	Cached      *int64 `json:"cached_tokens"`
	CacheWrite  *int64 `json:"cache_write_tokens"`
	Reasoning   *int64 `json:"reasoning_tokens"`
	SearchUnits *int64 `json:"search_units"`
}

// Cost sources, from the most to the least authoritative.
const (
	CostFromUpstream       = "upstream_header"  // the upstream's x-litellm-response-cost
	CostFromCostPerRequest = "cost_per_request" // the route's flat price
	CostComputed           = "computed"         // tokens × the price table
	CostUpstreamError      = "upstream_error"   // the upstream answered with a refusal: nothing billed
	CostNoUpstreamCall     = "no_upstream_call" // the call never reached an upstream: nothing spent
)

// Record is one call.
type Record struct {
	SchemaVersion int    `json:"schema_version"`
	CallID        string `json:"call_id"` // the x-litellm-call-id the client saw
	RequestID     string `json:"request_id,omitempty"`
	// SourceIP is the caller's address as the front door saw it: the REST API's
	// requestContext.identity.sourceIp, the HTTP API's and the Function URL's
	// requestContext.http.sourceIp (the address that connected to AWS, not X-Forwarded-For:
	// https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html#api-gateway-simple-proxy-for-lambda-input-format,
	// https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html#urls-payloads);
	// locally the TCP peer.
	SourceIP     string    `json:"source_ip,omitempty"`
	Time         time.Time `json:"timestamp"`
	Route        string    `json:"route"`
	Method       string    `json:"method"`
	UpstreamHost string    `json:"upstream_host,omitempty"`
	Status       int       `json:"status"`
	Tokens
	CostUSD     *float64 `json:"cost_usd"` // null when unknown, never a silent 0
	CostSource  string   `json:"cost_source,omitempty"`
	CostUnknown bool     `json:"cost_unknown"`
	LatencyMS   float64  `json:"latency_ms"`
	TTFBMS      float64  `json:"ttfb_ms,omitempty"`
	Streamed    bool     `json:"streamed"`
	BytesIn     int64    `json:"bytes_in"`
	BytesOut    int64    `json:"bytes_out"`
	KeyAlias    string   `json:"key_alias,omitempty"` // never the key
	Tags        []string `json:"tags,omitempty"`
	// KeyMetadata is the virtual key's metadata (owner, cost center, ...), as stored with it.
	KeyMetadata map[string]string `json:"key_metadata,omitempty"`
	// ErrorClass is empty on success: auth, not_found, method, bad_request, secret, no_credential
	// (a built-in provider route whose credential is not configured), routes,
	// rate_limit, rate_limit_unavailable, upstream_connect (never reached the upstream),
	// upstream_no_answer (the upstream received the call and sent no response: the idle
	// timeout, or it closed the connection), upstream_timeout (silent mid-response),
	// upstream_reset, upstream_status, client_disconnect, function_timeout (the Lambda
	// deadline came first), response_too_large (too large for a buffered Lambda response),
	// guardrail_blocked (a guardrail refused the request or the response), guardrail_error (a
	// guardrail could not decide: the call failed closed), internal.
	ErrorClass string `json:"error_class,omitempty"`
	// Partial is true when the client or the upstream ended the response early.
	Partial bool `json:"partial"`
	// Guardrails are the guardrail decisions of the call, in the order they were made.
	Guardrails []GuardrailResult `json:"guardrails,omitempty"`
}

// GuardrailResult is one guardrail decision: which guardrail, in which mode, what it did
// (none, blocked, masked, error, skipped), why (never the matched text) and how long it took.
type GuardrailResult struct {
	Name      string  `json:"name"`
	Mode      string  `json:"mode"`
	Action    string  `json:"action"`
	Reason    string  `json:"reason,omitempty"`
	LatencyMS float64 `json:"latency_ms"`
}

// Discard drops every record.
type Discard struct{}

// Record implements the proxy's usage sink.
func (Discard) Record(context.Context, Record) {}

// JSONLines writes each record as one JSON line; safe for concurrent use. Each line is encoded
// without reflection into a pooled buffer and written with one Write call; put a FlushWriter
// between it and a file so that calls do not each pay for a write system call.
type JSONLines struct {
	mu     sync.Mutex
	w      io.Writer
	err    func(error)
	buffer sync.Pool
}

// NewJSONLines writes records to w; onErr (may be nil) hears about write failures.
func NewJSONLines(w io.Writer, onErr func(error)) *JSONLines {
	j := &JSONLines{w: w, err: onErr}
	j.buffer.New = func() any { b := make([]byte, 0, 1024); return &b }
	return j
}

// Record implements the proxy's usage sink.
func (j *JSONLines) Record(_ context.Context, r Record) {
	bp := j.buffer.Get().(*[]byte)
	b, err := appendRecord((*bp)[:0], &r)
	if err == nil {
		j.mu.Lock()
		_, err = j.w.Write(b)
		j.mu.Unlock()
	}
	if cap(b) <= 64<<10 { // a huge record should not stay pinned in the pool
		*bp = b
		j.buffer.Put(bp)
	}
	if err != nil && j.err != nil {
		j.err(fmt.Errorf("write usage record %s: %w", r.CallID, err))
	}
}
