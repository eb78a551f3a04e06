package usage

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// marshalLine is what the usage file held before appendRecord: json.Marshal's line.
func marshalLine(t testing.TB, r Record) []byte {
	j, err := json.Marshal(r)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	return append(j, '\n')
}

func TestAppendRecordMatchesMarshal(t *testing.T) {
	withMeta := fullRecord()
	withMeta.KeyMetadata = map[string]string{"team": "search", "cost_center": "cc-1", "Zeta": "<b>&", "": "empty key"}
	withMeta.Tags = []string{"a", "b\"c", "line\u2028sep", "\xff"}
	withMeta.SourceIP = "203.0.113.9"
	tiny := fullRecord()
	tiny.CostUSD, tiny.LatencyMS, tiny.TTFBMS = ptr(1.5e-7), 1e21, -0.000001
	zero := fullRecord()
	zero.CostUSD = ptr(0.0)
	zero.Tokens = Tokens{SearchUnits: ptr[int64](1), CacheWrite: ptr[int64](-3)}
	guarded := fullRecord()
	guarded.Guardrails = []GuardrailResult{
		{Name: "pii", Mode: "pre_call", Action: "masked", LatencyMS: 0.0123},
		{Name: "<web&hook>", Mode: "post_call", Action: "blocked", Reason: "matched \"us_ssn\"\u2028", LatencyMS: 1e-7},
		{},
	}
	emptyGuards := fullRecord()
	emptyGuards.Guardrails = []GuardrailResult{} // not nil, and still left out (omitempty)
	offset := fullRecord()
	offset.Time = time.Date(2026, 1, 2, 3, 4, 5, 60, time.FixedZone("x", -7*3600-30*60))
	cases := map[string]Record{
		"full":                        fullRecord(),
		"unknown cost, no first byte": unknownRecord(),
		"empty":                       {},
		"metadata, tags, HTML, U+2028, invalid UTF-8": withMeta,
		"exponent floats":            tiny,
		"zero cost, few tokens":      zero,
		"zone offset":                offset,
		"guardrails":                 guarded,
		"no guardrail decisions":     emptyGuards,
		"control characters in path": {Route: "/a\x00\x1f\t\n\"\\", Method: "GET", CallID: "ключ"},
	}
	for name, r := range cases {
		got, err := appendRecord(nil, &r)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if want := marshalLine(t, r); !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
}

// A record json.Marshal refuses is refused as before (and reported by the sink), not written.
func TestAppendRecordRefusesWhatMarshalRefuses(t *testing.T) {
	for name, r := range map[string]Record{
		"NaN latency":   {LatencyMS: math.NaN()},
		"infinite TTFB": {TTFBMS: math.Inf(1)},
		"NaN cost":      {CostUSD: ptr(math.NaN())},
		"year 10000":    {Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		"NaN guardrail": {Guardrails: []GuardrailResult{{Name: "g", LatencyMS: math.NaN()}}},
	} {
		if _, err := appendRecord(nil, &r); err == nil {
			t.Errorf("%s: encoded, want json.Marshal's error", name)
		}
		var reported error
		var buf bytes.Buffer
		NewJSONLines(&buf, func(err error) { reported = err }).Record(context.Background(), r)
		if reported == nil || buf.Len() != 0 {
			t.Errorf("%s: sink wrote %q and reported %v; want nothing written and the error reported", name, buf.String(), reported)
		}
	}
}

// Record's JSON fields, in order. A field added to Record must be added to appendRecord (and
// here): this list failing is the reminder.
func TestAppendRecordKnowsEveryField(t *testing.T) {
	want := "schema_version call_id request_id source_ip timestamp route method upstream_host status " +
		"provider model input_tokens output_tokens cached_tokens cache_write_tokens reasoning_tokens search_units " +
		"cost_usd cost_source cost_unknown latency_ms ttfb_ms streamed bytes_in bytes_out key_alias tags key_metadata error_class partial " +
		"guardrails(name mode action reason latency_ms)"
	var names []string
	var walk func(reflect.Type)
	walk = func(rt reflect.Type) {
		for f := range rt.Fields() {
			if f.Anonymous {
				walk(f.Type)
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if f.Type == reflect.TypeFor[[]GuardrailResult]() {
				var inner []string
				for g := range f.Type.Elem().Fields() {
					n, _, _ := strings.Cut(g.Tag.Get("json"), ",")
					inner = append(inner, n)
				}
				name += "(" + strings.Join(inner, " ") + ")"
			}
			names = append(names, name)
		}
	}
	walk(reflect.TypeFor[Record]())
	if got := strings.Join(names, " "); got != want {
		t.Errorf("Record's fields changed; update appendRecord and this list.\n got %s\nwant %s", got, want)
	}
}

func FuzzAppendRecord(f *testing.F) {
	f.Add("call", "/route", "team", "model", "k", "v", 0.000321, 812.5, int64(12), int64(1700000000123456789))
	f.Add("<&>", "\u2028", "\xff", "", "", "", 1e-9, 1e22, int64(-1), int64(0))
	f.Fuzz(func(t *testing.T, call, route, alias, model, mk, mv string, cost, latency float64, tokens, unixNano int64) {
		r := fullRecord()
		r.CallID, r.Route, r.KeyAlias, r.Model = call, route, alias, model
		r.KeyMetadata = map[string]string{mk: mv}
		r.Tags = []string{mv, mk}
		r.CostUSD, r.LatencyMS, r.Input = &cost, latency, &tokens
		r.Time = time.Unix(0, unixNano).UTC()
		r.Guardrails = []GuardrailResult{{Name: mk, Mode: route, Action: alias, Reason: mv, LatencyMS: latency}}
		want, werr := json.Marshal(r)
		got, gerr := appendRecord(nil, &r)
		if (werr != nil) != (gerr != nil) {
			t.Fatalf("json.Marshal error %v, appendRecord error %v", werr, gerr)
		}
		if werr == nil && !bytes.Equal(got, append(want, '\n')) {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
	})
}

func BenchmarkAppendRecord(b *testing.B) {
	r := fullRecord()
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = appendRecord(buf[:0], &r)
	}
}
