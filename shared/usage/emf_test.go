package usage

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

// fullRecord is a streamed OpenAI call with every field known.
func fullRecord() Record {
	return Record{
		SchemaVersion: SchemaVersion,
		CallID:        "9f1c2d3e-0000-4000-8000-000000000001",
		RequestID:     "req-1",
		Time:          time.Date(2026, 5, 1, 12, 0, 0, 123456789, time.UTC),
		Route:         "/openai",
		Method:        "POST",
		UpstreamHost:  "api.openai.com",
		Status:        200,
		Tokens: Tokens{
			Provider: "openai", Model: "gpt-4o-mini",
			Input: ptr[int64](1200), Output: ptr[int64](350), Cached: ptr[int64](1000), Reasoning: ptr[int64](0),
		},
		CostUSD:    ptr(0.000321),
		CostSource: CostComputed,
		LatencyMS:  812.5,
		TTFBMS:     143.25,
		Streamed:   true,
		BytesIn:    2048,
		BytesOut:   9000,
		KeyAlias:   "team-a",
		Tags:       []string{"prod"},
	}
}

// unknownRecord is a call to an upstream the gateway has no parser or price for, which the
// client ended early.
func unknownRecord() Record {
	return Record{
		SchemaVersion: SchemaVersion,
		CallID:        "call-2",
		Time:          time.Date(2026, 5, 1, 12, 0, 0, 999999999, time.UTC),
		Route:         "/langfuse",
		Method:        "GET",
		Status:        200,
		CostUnknown:   true,
		LatencyMS:     40,
		TTFBMS:        0, // never measured
		ErrorClass:    "client_disconnect",
		Partial:       true,
	}
}

func emfLine(t *testing.T, e *EMF, r Record) string {
	t.Helper()
	var buf bytes.Buffer
	e.w = &buf
	e.Record(context.Background(), r)
	return buf.String()
}

// priced stands for pricing.Table.Name (pricing imports usage): the table's name for the few
// models it prices, whatever their case or date.
func priced(_, model string) (string, bool) {
	m := strings.ToLower(model)
	for _, name := range []string{"gpt-4o-mini", "gpt-4o", "claude-sonnet-4-5"} {
		if m == name || strings.HasPrefix(m, name+"-20") {
			return name, true
		}
	}
	return "", false
}

func TestEMFGoldenFullRecord(t *testing.T) {
	got := emfLine(t, NewEMF(nil, "LLMGateway").PricedModels(priced), fullRecord())
	want := `{"_aws":{"Timestamp":1777636800123,"CloudWatchMetrics":[{"Namespace":"LLMGateway","Dimensions":[["Route","Provider","Model"],[]],` +
		`"Metrics":[{"Name":"Requests","Unit":"Count"},{"Name":"Errors","Unit":"Count"},{"Name":"Upstream5xx","Unit":"Count"},{"Name":"Latency","Unit":"Milliseconds"},` +
		`{"Name":"TTFB","Unit":"Milliseconds"},{"Name":"InputTokens","Unit":"Count"},{"Name":"OutputTokens","Unit":"Count"},` +
		`{"Name":"CostUSD","Unit":"None"}]}]},` +
		`"Route":"/openai","Provider":"openai","Model":"gpt-4o-mini",` +
		`"Requests":1,"Errors":0,"Upstream5xx":0,"Latency":812.5,"TTFB":143.25,"InputTokens":1200,"OutputTokens":350,"CostUSD":0.000321,` +
		`"call_id":"9f1c2d3e-0000-4000-8000-000000000001","request_id":"req-1","status":200,"key_alias":"team-a",` +
		`"error_class":"","partial":false,"streamed":true,"cost_unknown":false}` + "\n"
	if got != want {
		t.Errorf("EMF line\n got %s\nwant %s", got, want)
	}
}

func TestEMFGoldenUnknownTokensAndCost(t *testing.T) {
	got := emfLine(t, NewEMF(nil, ""), unknownRecord())
	// No TTFB, token or cost metric: unknown is not 0, and an absent metric keeps averages
	// and sums honest. The namespace defaults to LLMGateway.
	want := `{"_aws":{"Timestamp":1777636800999,"CloudWatchMetrics":[{"Namespace":"LLMGateway","Dimensions":[["Route","Provider","Model"],[]],` +
		`"Metrics":[{"Name":"Requests","Unit":"Count"},{"Name":"Errors","Unit":"Count"},{"Name":"Upstream5xx","Unit":"Count"},{"Name":"Latency","Unit":"Milliseconds"}]}]},` +
		`"Route":"/langfuse","Provider":"unknown","Model":"unknown",` +
		`"Requests":1,"Errors":1,"Upstream5xx":0,"Latency":40,` +
		`"call_id":"call-2","request_id":"","status":200,"key_alias":"","error_class":"client_disconnect",` +
		`"partial":true,"streamed":false,"cost_unknown":true}` + "\n"
	if got != want {
		t.Errorf("EMF line\n got %s\nwant %s", got, want)
	}
}

// checkEMF parses line back and checks it against the EMF specification's rules: one JSON
// object, a millisecond timestamp, every referenced dimension a string root member and every
// referenced metric a numeric root member.
func checkEMF(t *testing.T, line string) map[string]any {
	t.Helper()
	if !strings.HasSuffix(line, "}\n") || strings.Count(line, "\n") != 1 || !strings.HasPrefix(line, `{"_aws":`) {
		t.Fatalf("not one JSON object on one line: %q", line)
	}
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(line))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, line)
	}
	var env struct {
		AWS struct {
			Timestamp         *int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
	}
	if err := json.Unmarshal([]byte(line), &env); err != nil {
		t.Fatal(err)
	}
	if env.AWS.Timestamp == nil || *env.AWS.Timestamp < 1e12 {
		t.Errorf("Timestamp %v is not epoch milliseconds", env.AWS.Timestamp)
	}
	if len(env.AWS.CloudWatchMetrics) != 1 {
		t.Fatalf("%d metric directives", len(env.AWS.CloudWatchMetrics))
	}
	d := env.AWS.CloudWatchMetrics[0]
	if d.Namespace == "" {
		t.Error("empty namespace")
	}
	for _, set := range d.Dimensions {
		for _, name := range set {
			v, ok := m[name].(string)
			if !ok || v == "" || len(v) > 1024 {
				t.Errorf("dimension %s = %#v: want a non-empty string root member", name, m[name])
			}
			for _, c := range v {
				if c < 0x20 || c > 0x7e {
					t.Errorf("dimension %s = %q is not printable ASCII", name, v)
				}
			}
		}
	}
	for _, metric := range d.Metrics {
		if _, ok := m[metric.Name].(json.Number); !ok {
			t.Errorf("metric %s = %#v: want a numeric root member", metric.Name, m[metric.Name])
		}
	}
	return m
}

func TestEMFLinesParseBack(t *testing.T) {
	nan := unknownRecord()
	nan.LatencyMS = math.NaN()
	nan.TTFBMS = math.Inf(1)
	nan.CostUSD = ptr(math.NaN())
	odd := fullRecord()
	odd.Route = ""
	odd.Tokens.Provider = "  "
	odd.Tokens.Model = "модель\"\\\x00" + strings.Repeat("x", 200)
	odd.CallID = "a\"b\\c\n\x01\xff<>&\u2028"
	odd.KeyAlias = "ключ"
	odd.ErrorClass = "upstream_status"
	odd.Status = 429
	zeroTime := fullRecord()
	zeroTime.Time = time.Time{}
	for name, r := range map[string]Record{"full": fullRecord(), "unknown": unknownRecord(), "non-finite": nan, "odd strings": odd, "no time": zeroTime} {
		t.Run(name, func(t *testing.T) {
			m := checkEMF(t, emfLine(t, NewEMF(nil, "Gate\"way"), r))
			if m["call_id"] != strings.ToValidUTF8(r.CallID, "\ufffd") {
				t.Errorf("call_id %q, want %q", m["call_id"], r.CallID)
			}
			if m["key_alias"] != r.KeyAlias || m["error_class"] != r.ErrorClass || m["partial"] != r.Partial {
				t.Errorf("Logs Insights fields: %v", m)
			}
			if got, want := m["Errors"].(json.Number).String(), map[bool]string{true: "1", false: "0"}[r.ErrorClass != ""]; got != want {
				t.Errorf("Errors = %s, want %s", got, want)
			}
		})
	}
}

// Upstream5xx counts the calls the upstream failed, gateway-wide through the empty dimension
// set, for the template's upstream 5xx rate alarm (Upstream5xx / Requests).
func TestEMFUpstream5xx(t *testing.T) {
	tests := []struct {
		status     int
		errorClass string
		want       string
	}{
		{200, "", "0"},
		{503, "upstream_status", "1"}, // the upstream's own 503, passed through
		{500, "upstream_status", "1"},
		{429, "upstream_status", "0"}, // the upstream refused, but did not fail
		{502, "upstream_connect", "1"},
		{504, "upstream_timeout", "1"},
		{200, "upstream_reset", "0"}, // cut mid-stream after a 200: counted in Errors only
		{503, "secret", "0"},         // the gateway's own 5xx
		{500, "internal", "0"},
		{504, "function_timeout", "0"},
		{600, "upstream_status", "0"},
	}
	e := NewEMF(nil, "ns")
	for _, tt := range tests {
		r := fullRecord()
		r.Status, r.ErrorClass = tt.status, tt.errorClass
		m := checkEMF(t, emfLine(t, e, r))
		if got := m["Upstream5xx"].(json.Number).String(); got != tt.want {
			t.Errorf("status %d %q: Upstream5xx = %s, want %s", tt.status, tt.errorClass, got, tt.want)
		}
	}
}

func TestEMFNonFiniteValuesAreLeftOut(t *testing.T) {
	r := unknownRecord()
	r.LatencyMS = math.NaN()
	r.CostUSD = ptr(math.Inf(1))
	line := emfLine(t, NewEMF(nil, "ns"), r)
	for _, absent := range []string{"Latency", "CostUSD", "NaN", "Inf"} {
		if strings.Contains(line, absent) {
			t.Errorf("%s in %s", absent, line)
		}
	}
}

func TestEMFDimensions(t *testing.T) {
	long := "ft:gpt-4o-mini-2024-07-18:acme-corp:customer-support-summariser:9xYzAbCd" // 72 characters
	bedrock := "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-20250514-v1:0"
	e := NewEMF(nil, "ns").KnownModels(bedrock, " my-finetune ", "").PricedModels(priced)
	tests := []struct {
		route, provider, model string
		want                   string
	}{
		{"/openai", "openai", "gpt-4o", `"Route":"/openai","Provider":"openai","Model":"gpt-4o"`},
		{"", "", "", `"Route":"unknown","Provider":"unknown","Model":"unknown"`},
		{"/x", "openai", "   ", `"Model":"unknown"`},
		{"/x", "openai", "GPT-4o-2099-01-01", `"Model":"gpt-4o"`}, // priced: the table's name, not the caller's spelling
		{"/x", "openai", long, `"Model":"other"`},                 // neither priced nor allowed
		{"/x", "openai", "gpt-4o-made-up", `"Model":"other"`},
		{"/bedrock", "bedrock", bedrock, `"Model":"` + bedrock + `"`}, // allow-listed: as sent, whatever its length
		{"/x", "openai", "my-finetune", `"Model":"my-finetune"`},
		{"/x", "openai", " my-finetune ", `"Model":"my-finetune"`},
		{"/x", "openai", "My-Finetune", `"Model":"other"`}, // the allow-list is exact
		{"/x", "openai", "gpt\t4o\u00e9", `"Model":"other"`},
		{"/x", "openai", " gpt-4o ", `"Model":"gpt-4o"`},
	}
	for _, tt := range tests {
		r := fullRecord()
		r.Route, r.Provider, r.Model = tt.route, tt.provider, tt.model
		if line := emfLine(t, e, r); !strings.Contains(line, tt.want) {
			t.Errorf("%q/%q/%q: want %s in %s", tt.route, tt.provider, tt.model, tt.want, line)
		}
	}
}

// TestEMFModelCardinalityBounded: whatever models callers send, the Model dimension takes only
// the priced names, the allow-list, "other" and "unknown" (each distinct value is a billed
// custom metric). Without pricing or an allow-list every model is "other".
func TestEMFModelCardinalityBounded(t *testing.T) {
	for name, e := range map[string]*EMF{
		"priced and allowed": NewEMF(nil, "ns").PricedModels(priced).KnownModels("mine"),
		"neither":            NewEMF(nil, "ns"),
	} {
		t.Run(name, func(t *testing.T) {
			seen := map[string]bool{}
			for i := 0; i < 2000; i++ {
				r := fullRecord()
				r.Model = []string{"gpt-4o-mini", "GPT-4O-MINI-2024-07-18", "mine", "", "junk-" + strings.Repeat("x", i%300) + string(rune('a'+i%26))}[i%5] + strings.Repeat(" ", i%3)
				m := checkEMF(t, emfLine(t, e, r))
				seen[m["Model"].(string)] = true
			}
			want := map[string]bool{"gpt-4o-mini": true, "mine": true, "unknown": true, "other": true}
			if name == "neither" {
				want = map[string]bool{"unknown": true, "other": true}
			}
			if len(seen) != len(want) {
				t.Fatalf("Model dimension values %v, want exactly %v", seen, want)
			}
			for v := range want {
				if !seen[v] {
					t.Fatalf("Model dimension values %v, want exactly %v", seen, want)
				}
			}
		})
	}
}

func TestEMFZeroTimeUsesNow(t *testing.T) {
	e := NewEMF(nil, "ns")
	e.now = func() time.Time { return time.UnixMilli(1777636800555) }
	r := fullRecord()
	r.Time = time.Time{}
	if line := emfLine(t, e, r); !strings.HasPrefix(line, `{"_aws":{"Timestamp":1777636800555,`) {
		t.Errorf("line %s", line)
	}
}

// lineWriter checks that every Write is one whole EMF line and that no two overlap.
type lineWriter struct {
	inFlight atomic.Int32
	mu       sync.Mutex
	lines    []string
	overlap  atomic.Bool
}

func (w *lineWriter) Write(p []byte) (int, error) {
	if w.inFlight.Add(1) != 1 {
		w.overlap.Store(true)
	}
	time.Sleep(time.Microsecond) // widen the window for an overlapping writer
	w.mu.Lock()
	w.lines = append(w.lines, string(p))
	w.mu.Unlock()
	w.inFlight.Add(-1)
	return len(p), nil
}

func TestEMFConcurrentRecordsOneWritePerLine(t *testing.T) {
	w := &lineWriter{}
	e := NewEMF(w, "ns")
	const goroutines, each = 16, 50
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				r := fullRecord()
				r.CallID = strings.Repeat("c", g*i%300) // lines of different lengths share the pool
				r.Status = 200 + g
				e.Record(context.Background(), r)
			}
		})
	}
	wg.Wait()
	if w.overlap.Load() {
		t.Error("two Write calls overlapped")
	}
	if len(w.lines) != goroutines*each {
		t.Fatalf("%d writes, want %d", len(w.lines), goroutines*each)
	}
	for _, l := range w.lines {
		checkEMF(t, l)
	}
}

func TestEMFReportsWriteErrors(t *testing.T) {
	var got error
	NewEMF(failingWriter{}, "ns").OnError(func(err error) { got = err }).Record(context.Background(), Record{CallID: "abc"})
	if got == nil || !strings.Contains(got.Error(), "abc") || !strings.Contains(got.Error(), "disk full") {
		t.Errorf("error = %v", got)
	}
}

func BenchmarkEMFRecord(b *testing.B) {
	e := NewEMF(discardWriter{}, "LLMGateway")
	r := fullRecord()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		e.Record(ctx, r)
	}
}

func BenchmarkEMFRecordParallel(b *testing.B) {
	e := NewEMF(discardWriter{}, "LLMGateway")
	r := fullRecord()
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			e.Record(ctx, r)
		}
	})
}

// BenchmarkJSONLinesRecord is the reflection-based encoding the EMF encoder is compared with.
func BenchmarkJSONLinesRecord(b *testing.B) {
	j := NewJSONLines(discardWriter{}, nil)
	r := fullRecord()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		j.Record(ctx, r)
	}
}

type discardWriter struct{}

func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }

// FuzzAppendJSONString: the hand-written string encoder always yields valid JSON that decodes
// to the input (invalid UTF-8 replaced byte by byte, as encoding/json does).
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", "a\"b\\c\n\r\t\x00\x1f\x7f", "\xff\xfe", "ключ\u2028", "<&>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q encodes to invalid JSON %s: %v", s, b, err)
		}
		std, _ := json.Marshal(s)
		var want string
		if err := json.Unmarshal(std, &want); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("%q round-trips to %q, encoding/json to %q", s, got, want)
		}
	})
}
