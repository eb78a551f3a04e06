package lambdahttp_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/lambdahttp"
	"github.com/passthru/gateway/shared/proxy"
	"github.com/passthru/gateway/shared/route"
	"github.com/passthru/gateway/shared/usage"
)

// records keeps every usage record.
type records struct {
	mu   sync.Mutex
	list []usage.Record
}

func (r *records) Record(_ context.Context, u usage.Record) {
	r.mu.Lock()
	r.list = append(r.list, u)
	r.mu.Unlock()
}

func (r *records) take(t *testing.T) usage.Record {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.list) != 1 {
		t.Fatalf("%d usage records, want 1", len(r.list))
	}
	rec := r.list[0]
	r.list = nil
	return rec
}

// publicRoute is the proxy serving one public include_subpath route, /x → upstream/x, and the
// usage records it writes.
func publicRoute(t *testing.T, upstream string) (http.Handler, *records) {
	t.Helper()
	res := config.Parse([]byte(strings.ReplaceAll(`
general_settings:
  pass_through_endpoints:
    - {path: /x, target: "UP/x", include_subpath: true, auth: false}
`, "UP", upstream)))
	table, err := route.NewTable(res.Config)
	if err != nil {
		t.Fatal(err)
	}
	recs := &records{}
	return proxy.New(table, proxy.WithUsage(recs), proxy.WithLogger(discard)), recs
}

// encodedSize is the size of a buffered response as the runtime sends it to Lambda
// (aws-lambda-go lambda/handler.go: encoding/json, HTML escaping off, no trailing newline).
func encodedSize(t *testing.T, out any) int {
	t.Helper()
	if b, ok := out.(*lambdahttp.BufferedResponse); ok {
		out = b.Value // what its Read sends (TestBufferedResponseBytes)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		t.Fatal(err)
	}
	return buf.Len() - 1
}

// bufferedDoors are the front doors that take a buffered response, each with an event for path.
var bufferedDoors = []frontDoor{frontDoors[0], frontDoors[1], frontDoors[2], frontDoors[3]}

const tooLarge502 = `{"error":{"message":"The upstream response exceeds what a buffered Lambda response can carry (6287460 bytes once JSON-encoded, headers included; Lambda's limit is 6291556); call this route through a streaming integration (Function URL or REST API with response streaming).","type":"upstream_error","param":"None","code":"502"}}`

// The cap applies to the response as Lambda measures it, not to the raw body: a 5.73 MB JSON
// body whose escaping makes it 8 MB, or 4.8 MB of binary that base64 makes 6.4 MB, would be
// refused by Lambda (the caller would get API Gateway's generic 502 and the record would say
// 200). Instead the caller gets a 502 in LiteLLM's shape, and the record says 502
// response_too_large with the same call id. A 5.9 MB plain body still fits and passes whole.
func TestBufferedCapOnEncodedSize(t *testing.T) {
	escapes := bytes.Repeat([]byte(`{"k":"v"},`), 573_000) // 5.73 MB, 8.02 MB escaped
	binary := bytes.Repeat([]byte{0xff, 0xfe, 0x00}, 1_600_000)
	plain := bytes.Repeat([]byte("abcdefghij"), 590_000)
	var body []byte
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(up.Close)
	h, recs := publicRoute(t, up.URL)
	a := lambdahttp.New(h, lambdahttp.Options{RESTMode: lambdahttp.Buffered, FunctionURLMode: lambdahttp.Buffered, Logger: discard})
	tests := []struct {
		name       string
		body       []byte
		wantStatus int
		wantClass  string
	}{
		{"json escaping over the limit", escapes, 502, "response_too_large"},
		{"base64 over the limit", binary, 502, "response_too_large"},
		{"plain body under the limit", plain, 200, ""},
	}
	for _, door := range bufferedDoors {
		for _, tt := range tests {
			t.Run(door.name+" "+tt.name, func(t *testing.T) {
				body = tt.body
				out, err := a.Invoke(context.Background(), event(t, door.event(t, "/x/y")))
				if err != nil {
					t.Fatal(err)
				}
				if n := encodedSize(t, out); n > lambdahttp.MaxBufferedResponse {
					t.Errorf("the response is %d bytes once encoded, over %d", n, lambdahttp.MaxBufferedResponse)
				}
				r := decode(t, out)
				rec := recs.take(t)
				if r.status != tt.wantStatus || rec.Status != tt.wantStatus || rec.ErrorClass != tt.wantClass || rec.Partial {
					t.Fatalf("caller got %d, record %d %q partial %v; want %d %q", r.status, rec.Status, rec.ErrorClass, rec.Partial, tt.wantStatus, tt.wantClass)
				}
				if r.headers["X-Litellm-Call-Id"] != rec.CallID {
					t.Errorf("call id header %q, record %q", r.headers["X-Litellm-Call-Id"], rec.CallID)
				}
				if tt.wantStatus == 502 {
					if r.body != tooLarge502 || r.headers["Content-Type"] != "application/json" {
						t.Errorf("body %q headers %v", r.body, r.headers)
					}
					return
				}
				if r.isBase64 || r.body != string(tt.body) || rec.BytesOut != int64(len(tt.body)) {
					t.Errorf("body of %d bytes (base64 %v), record bytes_out %d; want the %d bytes as sent", len(r.body), r.isBase64, rec.BytesOut, len(tt.body))
				}
			})
		}
	}
}

// The cap is exact: a body whose response encodes to MaxBufferedResponse bytes passes, one more
// byte does not, whether the body goes as plain text, as escaped text or as base64.
func TestBufferedCapBoundary(t *testing.T) {
	var body []byte
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("X-Trace", "abc")
		for rest := body; len(rest) > 0; { // in chunks, as the proxy relays
			n := min(len(rest), 16<<10-1)
			if _, err := w.Write(rest[:n]); err != nil {
				return
			}
			rest = rest[n:]
		}
	})
	a := lambdahttp.New(h, lambdahttp.Options{RESTMode: lambdahttp.Buffered, FunctionURLMode: lambdahttp.Buffered, Logger: discard})
	kinds := []struct {
		name   string
		unit   []byte // repeated to make the body
		perLen func(n int) int
	}{
		{"plain", []byte("a"), func(n int) int { return n }},
		{"escaped", []byte("\"\n"), func(n int) int { return 2 * n }},            // each byte takes 2
		{"unicode", []byte("λ\u2028"), func(n int) int { return n/5*2 + n/5*6 }}, // 2+3 bytes take 2+6
	}
	for i, door := range bufferedDoors {
		for _, k := range kinds {
			if i > 0 && k.name != "plain" {
				continue // the envelope depends on the door, the escaping on the body: REST tries them all
			}
			t.Run(door.name+" "+k.name, func(t *testing.T) {
				payload := door.event(t, "/x")
				body = k.unit
				base := encodedSize(t, mustInvoke(t, a, payload))
				// Units that fit once the envelope (with the one-unit body) is counted.
				unitLen := k.perLen(len(k.unit))
				units := 1 + (lambdahttp.MaxBufferedResponse-base)/unitLen
				body = bytes.Repeat(k.unit, units)
				out := mustInvoke(t, a, payload)
				if r := decode(t, out); r.status != 200 || len(r.body) != len(body) {
					t.Fatalf("%d units: status %d, body %d bytes", units, r.status, len(r.body))
				}
				if n := encodedSize(t, out); n > lambdahttp.MaxBufferedResponse || n+unitLen <= lambdahttp.MaxBufferedResponse {
					t.Fatalf("%d units encode to %d bytes; want the largest response within %d", units, n, lambdahttp.MaxBufferedResponse)
				}
				body = bytes.Repeat(k.unit, units+1)
				if r := decode(t, mustInvoke(t, a, payload)); r.status != 502 || r.body != tooLarge502 {
					t.Fatalf("%d units: status %d", units+1, r.status)
				}
			})
		}
	}
	// Binary: the base64 length is what counts, and the envelope says isBase64Encoded (a field
	// REST's response type omits when false and the Function URL's does not).
	for _, door := range []frontDoor{frontDoors[0], frontDoors[1]} {
		t.Run(door.name+" base64", func(t *testing.T) {
			payload := door.event(t, "/x")
			body = []byte{0xff, 0xfe, 0xfd}
			base := encodedSize(t, mustInvoke(t, a, payload))
			units := 1 + (lambdahttp.MaxBufferedResponse-base)/4
			body = bytes.Repeat([]byte{0xff, 0xfe, 0xfd}, units)
			out := mustInvoke(t, a, payload)
			r := decode(t, out)
			if got, _ := base64.StdEncoding.DecodeString(r.body); r.status != 200 || !r.isBase64 || !bytes.Equal(got, body) {
				t.Fatalf("status %d base64 %v", r.status, r.isBase64)
			}
			if n := encodedSize(t, out); n > lambdahttp.MaxBufferedResponse || n+4 <= lambdahttp.MaxBufferedResponse {
				t.Fatalf("encodes to %d", n)
			}
			body = append(body, 0xff)
			if r := decode(t, mustInvoke(t, a, payload)); r.status != 502 || r.body != tooLarge502 {
				t.Fatalf("one byte more: status %d", r.status)
			}
		})
	}
}

func mustInvoke(t *testing.T, a *lambdahttp.Adapter, payload []byte) any {
	t.Helper()
	out, err := a.Invoke(context.Background(), event(t, payload))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A request body is bounded by Lambda's event limit as the event carries it: base64 for REST's
// binary media types, so a 5 MiB upload (6.99 MB of base64) cannot arrive while 4.5 MiB (exactly
// 6291456 bytes of base64) can. Over it the caller gets a 413 in LiteLLM's shape and nothing runs.
func TestRequestBodyOverEventLimit(t *testing.T) {
	var got int
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = len(b)
	})
	a := lambdahttp.New(h, lambdahttp.Options{Logger: discard})
	furl := func(body string) []byte {
		return setFields(t, "function-url-rerank.json", map[string]any{"body": body, "isBase64Encoded": false}, nil)
	}
	tests := []struct {
		name    string
		payload []byte
		status  int
		msg     string
	}{
		{"REST 5 MiB binary", restEvent(t, "/x", make([]byte, 5<<20), true), 413,
			"Request body too large: the invocation event carries it as 6990508 bytes (base64), and Lambda accepts events of at most 6291456 bytes."},
		{"REST 4.5 MiB binary", restEvent(t, "/x", make([]byte, 4608<<10), true), 200, ""},
		{"REST 4.5 MiB and 3 bytes binary", restEvent(t, "/x", make([]byte, 4608<<10+3), true), 413,
			"Request body too large: the invocation event carries it as 6291460 bytes (base64), and Lambda accepts events of at most 6291456 bytes."},
		{"Function URL text over 6 MiB", furl(strings.Repeat("a", 6<<20+1)), 413,
			"Request body too large: the invocation event carries it as 6291457 bytes, and Lambda accepts events of at most 6291456 bytes."},
		{"bad base64", setFields(t, "rest-rerank.json", map[string]any{"body": "%%%"}, nil), 400,
			"The request body is marked base64 but does not decode: illegal base64 data at input byte 0."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got = -1
			r := invoke(t, a, tt.payload)
			if tt.status == 200 {
				if r.status != 200 || got != 4608<<10 {
					t.Fatalf("status %d, handler read %d bytes", r.status, got)
				}
				return
			}
			want := `{"error":{"message":"` + tt.msg + `","type":"invalid_request_error","param":"None","code":"` + map[int]string{400: "400", 413: "413"}[tt.status] + `"}}`
			if r.status != tt.status || r.body != want || got != -1 {
				t.Errorf("got %d %q (handler ran: %v), want %d %q", r.status, r.body, got != -1, tt.status, want)
			}
		})
	}
}
