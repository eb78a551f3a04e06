package usage

import (
	"encoding/json"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// appendRecord appends r's JSON line ('\n' included), byte for byte what json.Marshal writes,
// without reflection: it is encoded once per call, on the request path's CPU. A record
// json.Marshal would refuse (a NaN or infinite number, a year outside 0–9999) is left to it, so
// it fails as it always did. TestAppendRecordMatchesMarshal and FuzzAppendRecord hold the two
// equal; TestAppendRecordKnowsEveryField fails when Record gains a field this does not write.
func appendRecord(b []byte, r *Record) ([]byte, error) {
	if !encodable(r) {
		j, err := json.Marshal(r)
		return append(append(b, j...), '\n'), err
	}
	b = append(b, `{"schema_version":`...)
	b = strconv.AppendInt(b, int64(r.SchemaVersion), 10)
	b = append(b, `,"call_id":`...)
	b = appendMarshalString(b, r.CallID)
	b = appendOmitEmpty(b, `,"request_id":`, r.RequestID)
	b = appendOmitEmpty(b, `,"source_ip":`, r.SourceIP)
	b = append(b, `,"timestamp":"`...)
	b = r.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","route":`...)
	b = appendMarshalString(b, r.Route)
	b = append(b, `,"method":`...)
	b = appendMarshalString(b, r.Method)
	b = appendOmitEmpty(b, `,"upstream_host":`, r.UpstreamHost)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(r.Status), 10)
	b = appendTokens(b, &r.Tokens)
	b = append(b, `,"cost_usd":`...)
	if r.CostUSD == nil {
		b = append(b, "null"...)
	} else {
		b = appendMarshalFloat(b, *r.CostUSD)
	}
	b = appendOmitEmpty(b, `,"cost_source":`, r.CostSource)
	b = append(b, `,"cost_unknown":`...)
	b = strconv.AppendBool(b, r.CostUnknown)
	b = append(b, `,"latency_ms":`...)
	b = appendMarshalFloat(b, r.LatencyMS)
	if r.TTFBMS != 0 {
		b = append(b, `,"ttfb_ms":`...)
		b = appendMarshalFloat(b, r.TTFBMS)
	}
	b = append(b, `,"streamed":`...)
	b = strconv.AppendBool(b, r.Streamed)
	b = append(b, `,"bytes_in":`...)
	b = strconv.AppendInt(b, r.BytesIn, 10)
	b = append(b, `,"bytes_out":`...)
	b = strconv.AppendInt(b, r.BytesOut, 10)
	b = appendOmitEmpty(b, `,"key_alias":`, r.KeyAlias)
	b = appendTagsAndMetadata(b, r)
	b = appendOmitEmpty(b, `,"error_class":`, r.ErrorClass)
	b = append(b, `,"partial":`...)
	b = strconv.AppendBool(b, r.Partial)
	b = appendGuardrails(b, r.Guardrails)
	return append(b, "}\n"...), nil
}

// appendGuardrails writes the guardrail decisions, omitted when there are none (omitempty).
func appendGuardrails(b []byte, gs []GuardrailResult) []byte {
	if len(gs) == 0 {
		return b
	}
	b = append(b, `,"guardrails":[`...)
	for i := range gs {
		g := &gs[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendMarshalString(b, g.Name)
		b = append(b, `,"mode":`...)
		b = appendMarshalString(b, g.Mode)
		b = append(b, `,"action":`...)
		b = appendMarshalString(b, g.Action)
		b = appendOmitEmpty(b, `,"reason":`, g.Reason)
		b = append(b, `,"latency_ms":`...)
		b = appendMarshalFloat(b, g.LatencyMS)
		b = append(b, '}')
	}
	return append(b, ']')
}

func appendTokens(b []byte, t *Tokens) []byte {
	b = appendOmitEmpty(b, `,"provider":`, t.Provider)
	b = appendOmitEmpty(b, `,"model":`, t.Model)
	for _, f := range [...]struct {
		key string
		v   *int64
	}{
		{`,"input_tokens":`, t.Input}, {`,"output_tokens":`, t.Output}, {`,"cached_tokens":`, t.Cached},
		{`,"cache_write_tokens":`, t.CacheWrite}, {`,"reasoning_tokens":`, t.Reasoning}, {`,"search_units":`, t.SearchUnits},
	} {
		b = append(b, f.key...)
		if f.v == nil {
			b = append(b, "null"...)
		} else {
			b = strconv.AppendInt(b, *f.v, 10)
		}
	}
	return b
}

func appendTagsAndMetadata(b []byte, r *Record) []byte {
	if len(r.Tags) > 0 {
		b = append(b, `,"tags":[`...)
		for i, t := range r.Tags {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendMarshalString(b, t)
		}
		b = append(b, ']')
	}
	if len(r.KeyMetadata) > 0 {
		b = append(b, `,"key_metadata":{`...)
		for i, k := range slices.Sorted(maps.Keys(r.KeyMetadata)) { // encoding/json sorts map keys
			if i > 0 {
				b = append(b, ',')
			}
			b = appendMarshalString(b, k)
			b = append(b, ':')
			b = appendMarshalString(b, r.KeyMetadata[k])
		}
		b = append(b, '}')
	}
	return b
}

func appendOmitEmpty(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	return appendMarshalString(append(b, key...), s)
}

// appendMarshalString is json.Marshal's encoding of s, which escapes <, > and & and the line
// separators U+2028 and U+2029 as well, and writes \b and \f short; those are rare in a record,
// so they go to it.
func appendMarshalString(b []byte, s string) []byte {
	if plainASCII(s) { // call IDs, routes, hosts, methods: nearly every string
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	if strings.ContainsAny(s, "<>&\u2028\u2029\b\f") {
		j, _ := json.Marshal(s) // a string always encodes
		return append(b, j...)
	}
	return appendJSONString(b, s)
}

// appendMarshalFloat is json.Marshal's encoding of a finite float64 (encoding/json's
// floatEncoder): the shortest decimal, in exponent form below 1e-6 and from 1e21, with a
// two-digit negative exponent shortened (1e-07 → 1e-7).
func appendMarshalFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// encodable reports whether appendRecord writes r itself: json.Marshal fails on a non-finite
// number and on a time whose year is outside 0–9999 or whose zone offset is a day or more.
func encodable(r *Record) bool {
	if y := r.Time.Year(); y < 0 || y > 9999 {
		return false
	}
	if _, offset := r.Time.Zone(); offset <= -24*3600 || offset >= 24*3600 {
		return false
	}
	for _, g := range r.Guardrails {
		if !finite(g.LatencyMS) {
			return false
		}
	}
	return finite(r.LatencyMS) && finite(r.TTFBMS) && (r.CostUSD == nil || finite(*r.CostUSD))
}

// plainASCII reports whether s is printable ASCII that JSON writes as is.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c >= 0x7f, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}
