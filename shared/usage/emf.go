package usage

import (
	"context"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// DefaultMetricsNamespace is the CloudWatch namespace used when none is configured.
const DefaultMetricsNamespace = "LLMGateway"

// Dimension value bounds. CloudWatch accepts up to 1,024 ASCII characters; the gateway keeps
// its dimensions short and their cardinality low: each distinct set of dimension values is a
// custom metric, billed (https://aws.amazon.com/cloudwatch/pricing/), and the model comes from
// the caller's body, so only a priced or allow-listed model is used as is (otherModel else).
const (
	maxProviderLen = 64
	maxRouteLen    = 255
	maxDimLen      = 1024 // CloudWatch's own limit, for known models
	unknownDim     = "unknown"
	otherModel     = "other"
)

// EMF writes one CloudWatch Embedded Metric Format line per record: metrics Requests, Errors,
// Upstream5xx, Latency, TTFB, InputTokens, OutputTokens and CostUSD, each under two dimension
// sets: Route, Provider and Model, and none at all (the gateway-wide series the template's
// alarms and dashboard read; CloudWatch alarms cannot sum across dimension values), plus call_id, request_id, status, key_alias, error_class, partial, streamed and
// cost_unknown for Logs Insights. A metric that is not known for a call (tokens or cost the
// provider did not report, no first byte) is left out of the line rather than written as 0.
//
// Each line is encoded by hand (no reflection, no log prefix) and written with one Write call;
// EMF is safe for concurrent use. On Lambda w is os.Stdout and the function's LogFormat must
// be Text so the line reaches CloudWatch Logs untouched.
type EMF struct {
	w      io.Writer
	head   string                                      // `,"CloudWatchMetrics":[{"Namespace":…,"Dimensions":[[…]],"Metrics":[`
	guard  string                                      // the same for the GuardrailBlocks line
	known  map[string]struct{}                         // allow-listed models, used as sent
	names  func(provider, model string) (string, bool) // priced models, by the price table's name
	onErr  func(error)
	now    func() time.Time
	mu     sync.Mutex // serialises Write calls
	buffer sync.Pool  // *[]byte
}

// NewEMF writes EMF lines to w under namespace (DefaultMetricsNamespace when empty).
func NewEMF(w io.Writer, namespace string) *EMF {
	if strings.TrimSpace(namespace) == "" {
		namespace = DefaultMetricsNamespace
	}
	head := `,"CloudWatchMetrics":[{"Namespace":` + string(appendJSONString(nil, namespace)) +
		`,"Dimensions":[["Route","Provider","Model"],[]],"Metrics":[`
	guard := `,"CloudWatchMetrics":[{"Namespace":` + string(appendJSONString(nil, namespace)) +
		`,"Dimensions":[["Guardrail"]],"Metrics":[{"Name":"GuardrailBlocks","Unit":"Count"}]}]},"Guardrail":`
	return &EMF{
		w:      w,
		head:   head,
		guard:  guard,
		now:    time.Now,
		buffer: sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }},
	}
}

// KnownModels adds models (the operator's allow-list) used as the Model dimension exactly as
// sent. Call it before the first Record.
func (e *EMF) KnownModels(models ...string) *EMF {
	if e.known == nil {
		e.known = make(map[string]struct{}, len(models))
	}
	for _, m := range models {
		if m = strings.TrimSpace(m); m != "" {
			e.known[m] = struct{}{}
		}
	}
	return e
}

// PricedModels sets how a priced model is named in the Model dimension: names(provider, model)
// returns the price table's own name for it and true, or false for a model the table does not
// price (pricing.Table.Name). Its names must be bounded (not the caller's spelling), since each
// is a custom metric. Call it before the first Record.
func (e *EMF) PricedModels(names func(provider, model string) (string, bool)) *EMF {
	e.names = names
	return e
}

// modelDimension is r's model when it is allow-listed, the price table's name for it when it is
// priced, "unknown" when the call named none, and "other" for any other: the raw model stays in
// the usage record, where it costs nothing.
func (e *EMF) modelDimension(r *Record) string {
	m := strings.TrimSpace(r.Model)
	if m == "" {
		return unknownDim
	}
	if _, ok := e.known[m]; ok {
		return m
	}
	if e.names != nil {
		if name, ok := e.names(r.Provider, m); ok {
			return name
		}
	}
	return otherModel
}

// OnError sets a function (may be nil) that hears about write failures. Call it before the
// first Record.
func (e *EMF) OnError(f func(error)) *EMF {
	e.onErr = f
	return e
}

// Metric definitions in the order they appear in the envelope and on the line.
const (
	defRequests     = `{"Name":"Requests","Unit":"Count"}`
	defErrors       = `{"Name":"Errors","Unit":"Count"}`
	defUpstream5xx  = `{"Name":"Upstream5xx","Unit":"Count"}`
	defLatency      = `{"Name":"Latency","Unit":"Milliseconds"}`
	defTTFB         = `{"Name":"TTFB","Unit":"Milliseconds"}`
	defInputTokens  = `{"Name":"InputTokens","Unit":"Count"}`
	defOutputTokens = `{"Name":"OutputTokens","Unit":"Count"}`
	defCostUSD      = `{"Name":"CostUSD","Unit":"None"}`
)

// Record implements the proxy's usage sink.
func (e *EMF) Record(_ context.Context, r Record) {
	bp := e.buffer.Get().(*[]byte)
	b := e.appendLine((*bp)[:0], &r)
	b = e.appendGuardLines(b, &r)
	e.mu.Lock()
	_, err := e.w.Write(b)
	e.mu.Unlock()
	if cap(b) <= 64<<10 { // a huge call ID or alias should not stay pinned in the pool
		*bp = b
		e.buffer.Put(bp)
	}
	if err != nil && e.onErr != nil {
		e.onErr(fmt.Errorf("write EMF line for %s: %w", r.CallID, err))
	}
}

// appendLine appends r's EMF line, '\n' included.
func (e *EMF) appendLine(b []byte, r *Record) []byte {
	ts := r.Time
	if ts.IsZero() {
		ts = e.now()
	}
	latency := finite(r.LatencyMS)
	ttfb := finite(r.TTFBMS) && r.TTFBMS > 0 // 0 means no first byte was measured
	cost := r.CostUSD != nil && finite(*r.CostUSD)

	b = append(b, `{"_aws":{"Timestamp":`...)
	b = strconv.AppendInt(b, ts.UnixMilli(), 10)
	b = append(b, e.head...)
	b = append(b, defRequests+","+defErrors+","+defUpstream5xx...)
	if latency {
		b = append(b, ","+defLatency...)
	}
	if ttfb {
		b = append(b, ","+defTTFB...)
	}
	if r.Input != nil {
		b = append(b, ","+defInputTokens...)
	}
	if r.Output != nil {
		b = append(b, ","+defOutputTokens...)
	}
	if cost {
		b = append(b, ","+defCostUSD...)
	}
	b = append(b, `]}]},"Route":`...)
	b = appendDimension(b, r.Route, maxRouteLen)
	b = append(b, `,"Provider":`...)
	b = appendDimension(b, r.Provider, maxProviderLen)
	b = append(b, `,"Model":`...)
	b = appendDimension(b, e.modelDimension(r), maxDimLen)
	b = append(b, `,"Requests":1,"Errors":`...)
	b = appendFlag(b, r.ErrorClass != "")
	b = append(b, `,"Upstream5xx":`...)
	b = appendFlag(b, upstream5xx(r))
	if latency {
		b = append(b, `,"Latency":`...)
		b = strconv.AppendFloat(b, r.LatencyMS, 'f', -1, 64)
	}
	if ttfb {
		b = append(b, `,"TTFB":`...)
		b = strconv.AppendFloat(b, r.TTFBMS, 'f', -1, 64)
	}
	if r.Input != nil {
		b = append(b, `,"InputTokens":`...)
		b = strconv.AppendInt(b, *r.Input, 10)
	}
	if r.Output != nil {
		b = append(b, `,"OutputTokens":`...)
		b = strconv.AppendInt(b, *r.Output, 10)
	}
	if cost {
		b = append(b, `,"CostUSD":`...)
		b = strconv.AppendFloat(b, *r.CostUSD, 'f', -1, 64)
	}
	b = append(b, `,"call_id":`...)
	b = appendJSONString(b, r.CallID)
	b = append(b, `,"request_id":`...)
	b = appendJSONString(b, r.RequestID)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(r.Status), 10)
	b = append(b, `,"key_alias":`...)
	b = appendJSONString(b, r.KeyAlias)
	b = append(b, `,"error_class":`...)
	b = appendJSONString(b, r.ErrorClass)
	b = append(b, `,"partial":`...)
	b = strconv.AppendBool(b, r.Partial)
	b = append(b, `,"streamed":`...)
	b = strconv.AppendBool(b, r.Streamed)
	b = append(b, `,"cost_unknown":`...)
	b = strconv.AppendBool(b, r.CostUnknown)
	return append(b, "}\n"...)
}

// appendGuardLines appends one line per guardrail that blocked the call: metric
// GuardrailBlocks under the dimension Guardrail. Records name only configured guardrails (an
// undefined name fails the call before any decision), so the dimension stays bounded.
func (e *EMF) appendGuardLines(b []byte, r *Record) []byte {
	for i, g := range r.Guardrails {
		if g.Action != "blocked" || blockedBefore(r.Guardrails[:i], g.Name) {
			continue
		}
		ts := r.Time
		if ts.IsZero() {
			ts = e.now()
		}
		b = append(b, `{"_aws":{"Timestamp":`...)
		b = strconv.AppendInt(b, ts.UnixMilli(), 10)
		b = append(b, e.guard...)
		b = appendDimension(b, g.Name, maxRouteLen)
		b = append(b, `,"GuardrailBlocks":1,"call_id":`...)
		b = appendJSONString(b, r.CallID)
		b = append(b, `,"route":`...)
		b = appendJSONString(b, r.Route)
		b = append(b, "}\n"...)
	}
	return b
}

func blockedBefore(gs []GuardrailResult, name string) bool {
	for _, g := range gs {
		if g.Name == name && g.Action == "blocked" {
			return true
		}
	}
	return false
}

// upstream5xx reports whether the upstream failed the call: it answered 5xx, or could not be
// reached or timed out and the gateway answered 502/504 (error classes upstream_status,
// upstream_connect, upstream_timeout, upstream_reset with a 5xx status). A 5xx the gateway
// produced itself (secret store, routes, internal) is not the upstream's.
func upstream5xx(r *Record) bool {
	return r.Status >= 500 && r.Status <= 599 && strings.HasPrefix(r.ErrorClass, "upstream_")
}

func appendFlag(b []byte, set bool) []byte {
	if set {
		return append(b, '1')
	}
	return append(b, '0')
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// appendDimension appends s as a CloudWatch dimension value: printable ASCII only (anything
// else becomes '_'), at most max characters, "unknown" when blank.
func appendDimension(b []byte, s string, max int) []byte {
	s = strings.TrimSpace(s)
	if s == "" {
		s = unknownDim
	}
	b = append(b, '"')
	n := 0
	for _, c := range s {
		if n == max {
			break
		}
		n++
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', byte(c))
		case c >= 0x20 && c < 0x7f:
			b = append(b, byte(c))
		default:
			b = append(b, '_')
		}
	}
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. Control characters are escaped and invalid
// UTF-8 becomes U+FFFD, as encoding/json does (without its HTML escaping).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
