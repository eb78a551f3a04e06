package lambdahttp_test

import (
	"sync/atomic"
	"time"

	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"github.com/aws/aws-lambda-go/events"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/passthru/gateway/shared/lambdahttp"
	"github.com/passthru/gateway/shared/proxy"
)

func TestParseMode(t *testing.T) {
	for in, want := range map[string]lambdahttp.Mode{"": lambdahttp.Stream, "stream": lambdahttp.Stream,
		"RESPONSE_STREAM": lambdahttp.Stream, "buffered": lambdahttp.Buffered, " Buffered ": lambdahttp.Buffered} {
		if got, err := lambdahttp.ParseMode(in); err != nil || got != want {
			t.Errorf("ParseMode(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := lambdahttp.ParseMode("STREAMING"); err == nil || err.Error() != `response mode "STREAMING" is neither stream nor buffered` {
		t.Errorf("ParseMode(STREAMING) error = %v", err)
	}
}

func TestUnsupportedEvents(t *testing.T) {
	a := lambdahttp.New(http.NotFoundHandler(), lambdahttp.Options{})
	tests := map[string]string{
		`{"requestContext":{"elb":{"targetGroupArn":"arn"}},"httpMethod":"GET","path":"/"}`: "Application Load Balancer events are not supported; use a Function URL or API Gateway",
		`{"Records":[{"eventSource":"aws:sqs"}]}`:                                           "unrecognised event: expected an API Gateway REST, HTTP API or Function URL request",
	}
	for payload, want := range tests {
		if _, err := a.Invoke(context.Background(), event(t, []byte(payload))); err == nil || err.Error() != want {
			t.Errorf("Invoke(%s) error = %v, want %q", payload, err, want)
		}
	}
}

// restEvent is a REST API event for path with body (base64 when binary).
func restEvent(t *testing.T, path string, body []byte, binary bool) []byte {
	t.Helper()
	var e map[string]any
	if err := json.Unmarshal(fixture(t, "rest-rerank.json"), &e); err != nil {
		t.Fatal(err)
	}
	e["path"], e["body"], e["isBase64Encoded"] = path, string(body), binary
	if binary {
		e["body"] = base64.StdEncoding.EncodeToString(body)
	}
	out, _ := json.Marshal(e)
	return out
}

// A panic answers 500 in the caller's format, and the next invocation is served.
func TestPanicAnswers500AndServingGoesOn(t *testing.T) {
	calls := 0
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls%2 == 1 {
			panic("boom")
		}
		_, _ = io.WriteString(w, "ok")
	})
	const want500 = `{"error":{"message":"Internal server error.","type":"internal_server_error","param":"None","code":"500"}}`
	for _, mode := range []lambdahttp.Mode{lambdahttp.Stream, lambdahttp.Buffered} {
		a := lambdahttp.New(h, lambdahttp.Options{RESTMode: mode, Logger: discard})
		if r := invoke(t, a, restEvent(t, "/x", nil, false)); r.status != 500 || r.body != want500 {
			t.Errorf("%v: panic gave %d %q", mode, r.status, r.body)
		}
		if r := invoke(t, a, restEvent(t, "/x", nil, false)); r.status != 200 || r.body != "ok" {
			t.Errorf("%v: after the panic %d %q", mode, r.status, r.body)
		}
	}
}

// An upstream that dies mid-stream: a streamed response ends with an error (the runtime turns
// it into its error trailers), a buffered one becomes a 502 rather than a silently cut body.
func TestAbortedResponse(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "data: first\n\n")
		panic(http.ErrAbortHandler)
	})
	a := lambdahttp.New(h, lambdahttp.Options{Logger: discard})
	r := invoke(t, a, restEvent(t, "/x", nil, false))
	if r.status != 200 || r.body != "data: first\n\n" || r.readErr == nil ||
		r.readErr.Error() != "response aborted: the upstream stream ended early" {
		t.Errorf("streamed: %d %q, read error %v", r.status, r.body, r.readErr)
	}
	b := lambdahttp.New(h, lambdahttp.Options{RESTMode: lambdahttp.Buffered, Logger: discard})
	r = invoke(t, b, restEvent(t, "/x", nil, false))
	want := `{"error":{"message":"The upstream response ended early; a buffered integration cannot return part of it.","type":"upstream_error","param":"None","code":"502"}}`
	if r.status != 502 || r.body != want {
		t.Errorf("buffered: %d %q", r.status, r.body)
	}
}

func TestBodyOverSixMegabytesIs413(t *testing.T) {
	called := false
	a := lambdahttp.New(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }), lambdahttp.Options{})
	body := bytes.Repeat([]byte{0xff}, lambdahttp.MaxInvocationEvent+1)
	r := invoke(t, a, restEvent(t, "/x", body, true))
	want := `{"error":{"message":"Request body too large: the invocation event carries it as 8388612 bytes (base64), and Lambda accepts events of at most 6291456 bytes.","type":"invalid_request_error","param":"None","code":"413"}}`
	if r.status != 413 || r.body != want || called {
		t.Errorf("got %d %q (handler called: %v)", r.status, r.body, called)
	}
}

// Binary bodies are base64 in buffered responses and raw in streams; a stream is not capped
// below Lambda's 200 MB (here 25 MB, above the old 20 MB cap).
func TestBinaryAndLargeResponses(t *testing.T) {
	binary := []byte{0x1f, 0x8b, 0x08, 0x00, 0xff, 0xfe}
	const large = 25 << 20
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/large" {
			chunk := bytes.Repeat([]byte("x"), 64<<10)
			for i := 0; i < large/len(chunk); i++ {
				_, _ = w.Write(chunk)
			}
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(binary)
	})
	b := lambdahttp.New(h, lambdahttp.Options{RESTMode: lambdahttp.Buffered})
	if r := invoke(t, b, restEvent(t, "/bin", nil, false)); !r.isBase64 || r.body != base64.StdEncoding.EncodeToString(binary) {
		t.Errorf("buffered binary: base64 %v body %q", r.isBase64, r.body)
	}
	s := lambdahttp.New(h, lambdahttp.Options{})
	if r := invoke(t, s, restEvent(t, "/bin", nil, false)); r.body != string(binary) {
		t.Errorf("streamed binary body %q", r.body)
	}
	out, err := s.Invoke(context.Background(), event(t, restEvent(t, "/large", nil, false)))
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, out.(io.Reader))
	if err != nil || n < large {
		t.Errorf("streamed %d bytes (err %v), want all %d", n, err, large)
	}
}

// An HTTP API with payload format 1.0 sends a REST-shaped event but cannot stream: it must get a
// buffered response whatever GATEWAY_REST_API_MODE says.
func TestHTTPAPIPayloadV1IsBuffered(t *testing.T) {
	var path string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { path = r.URL.Path; _, _ = io.WriteString(w, "ok") })
	var e map[string]any
	_ = json.Unmarshal(fixture(t, "rest-rerank.json"), &e)
	e["version"], e["path"] = "1.0", "/prod/v1/rerank"
	e["requestContext"].(map[string]any)["stage"] = "prod"
	payload, _ := json.Marshal(e)
	out, err := lambdahttp.New(h, lambdahttp.Options{}).Invoke(context.Background(), event(t, payload))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := out.(*lambdahttp.BufferedResponse)
	if r, ok := b.Value.(events.APIGatewayProxyResponse); !ok || r.StatusCode != 200 || r.Body != "ok" || path != "/v1/rerank" {
		t.Errorf("got %T %+v, path %q; want a buffered REST response for /v1/rerank", out, out, path)
	}
}

// A custom domain's base path is stripped from API Gateway paths only, with or without its
// leading slash in the setting; Function URLs have no base path.
func TestBasePath(t *testing.T) {
	var path string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { path = r.URL.Path })
	a := lambdahttp.New(h, lambdahttp.Options{BasePath: "api/", RESTMode: lambdahttp.Buffered})
	invoke(t, a, restEvent(t, "/api/v1/rerank", nil, false))
	if path != "/v1/rerank" {
		t.Errorf("REST path = %q, want /v1/rerank", path)
	}
	invoke(t, a, fixture(t, "function-url-langfuse.json"))
	if path != "/api/public/ingestion" {
		t.Errorf("Function URL path = %q, want it untouched", path)
	}
}

// A buffered response stops at Lambda's 6 MB instead of filling memory, and says why.
func TestBufferedResponseIsCapped(t *testing.T) {
	var writeErr error
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("x"), 1<<20)
		for range 20 {
			if _, writeErr = w.Write(chunk); writeErr != nil {
				return
			}
		}
	})
	r := invoke(t, lambdahttp.New(h, lambdahttp.Options{RESTMode: lambdahttp.Buffered}), restEvent(t, "/x", nil, false))
	want := `{"error":{"message":"The upstream response exceeds what a buffered Lambda response can carry (6287460 bytes once JSON-encoded, headers included; Lambda's limit is 6291556); call this route through a streaming integration (Function URL or REST API with response streaming).","type":"upstream_error","param":"None","code":"502"}}`
	if r.status != 502 || r.body != want || writeErr == nil {
		t.Errorf("got %d %q; the handler's write error: %v", r.status, r.body, writeErr)
	}
}

// A handler that writes nothing answers 200 with an empty body, streamed or buffered.
func TestEmptyResponse(t *testing.T) {
	h := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	for _, mode := range []lambdahttp.Mode{lambdahttp.Stream, lambdahttp.Buffered} {
		r := invoke(t, lambdahttp.New(h, lambdahttp.Options{RESTMode: mode}), restEvent(t, "/x", nil, false))
		if r.status != 200 || r.body != "" {
			t.Errorf("%v: %d %q", mode, r.status, r.body)
		}
	}
}

// An invocation whose deadline passes before the response starts answers 504 instead of hanging.
func TestDeadlineBeforeResponseStarts(t *testing.T) {
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release; _, _ = io.WriteString(w, "late") })
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	out, err := lambdahttp.New(h, lambdahttp.Options{}).Invoke(ctx, event(t, restEvent(t, "/x", nil, false)))
	if err != nil {
		t.Fatal(err)
	}
	r := decode(t, out)
	want := `{"error":{"message":"The function ran out of time before the response started.","type":"timeout_error","param":"None","code":"504"}}`
	if r.status != 504 || r.body != want {
		t.Errorf("got %d %q", r.status, r.body)
	}
}

// AfterResponse (the usage flush) runs once per invocation, after the caller has the whole
// response: when the runtime closes the response it has posted (aws-lambda-go closes it after
// posting and before asking for the next event). Reading the response to its end does not run
// it; closing it does, once, in every mode and also when the handler aborted.
func TestAfterResponseRunsWhenTheRuntimeClosesTheResponse(t *testing.T) {
	for _, tt := range []struct {
		name  string
		mode  lambdahttp.Mode
		abort bool
	}{{"stream", lambdahttp.Stream, false}, {"stream aborted", lambdahttp.Stream, true}, {"buffered", lambdahttp.Buffered, false}} {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			var deadline time.Time
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.WriteString(w, "all of it")
				if tt.abort {
					panic(http.ErrAbortHandler)
				}
			})
			a := lambdahttp.New(h, lambdahttp.Options{RESTMode: tt.mode, DeadlineReserve: time.Second, AfterResponse: func(ctx context.Context) {
				calls.Add(1)
				deadline, _ = ctx.Deadline()
			}})
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			want, _ := ctx.Deadline()
			out, err := a.Invoke(ctx, event(t, restEvent(t, "/x", nil, false)))
			if err != nil {
				t.Fatal(err)
			}
			rc := out.(io.ReadCloser)
			got, readErr := io.ReadAll(rc)
			if !strings.Contains(string(got), "all of it") || (readErr != nil) != tt.abort {
				t.Fatalf("response %q, read error %v", got, readErr)
			}
			if n := calls.Load(); n != 0 {
				t.Fatalf("AfterResponse ran %d times before the runtime closed the response", n)
			}
			_ = rc.Close()
			_ = rc.Close()
			if n := calls.Load(); n != 1 || !deadline.Equal(want) {
				t.Errorf("after Close: AfterResponse ran %d times with deadline %v; want once with the invocation's %v", n, deadline, want)
			}
		})
	}
}

// Each request's context ends DeadlineReserve before the invocation's deadline (never taking
// more than half the time left), with proxy.ErrFunctionTimeout as its cause; without a
// deadline it has none.
func TestRequestContextEndsBeforeTheDeadline(t *testing.T) {
	for _, tt := range []struct {
		name          string
		left, reserve time.Duration // left 0: the invocation has no deadline
		want          time.Duration // how long before the invocation's deadline the request's ends
		waitForEnd    bool
	}{
		{"reserve", 10 * time.Second, time.Second, time.Second, false},
		{"at most half the time left", 4 * time.Second, 10 * time.Second, 2 * time.Second, false},
		{"no reserve: ends with the invocation, same cause", 200 * time.Millisecond, 0, 0, true},
		{"no deadline", 0, time.Second, 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got time.Time
			var has bool
			var cause error
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got, has = r.Context().Deadline()
				if tt.waitForEnd {
					<-r.Context().Done()
					cause = context.Cause(r.Context())
				}
			})
			ctx := context.Background()
			if tt.left > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.left)
				defer cancel()
			}
			a := lambdahttp.New(h, lambdahttp.Options{RESTMode: lambdahttp.Buffered, DeadlineReserve: tt.reserve})
			out, err := a.Invoke(ctx, event(t, restEvent(t, "/x", nil, false)))
			if err != nil {
				t.Fatal(err)
			}
			decode(t, out)
			dl, invocationHas := ctx.Deadline()
			if before := dl.Sub(got); has != invocationHas || (has && (before < tt.want-50*time.Millisecond || before > tt.want+50*time.Millisecond)) {
				t.Errorf("request deadline %v (set: %v) before the invocation's, want %v (set: %v)", before, has, tt.want, invocationHas)
			}
			if tt.waitForEnd && !errors.Is(cause, proxy.ErrFunctionTimeout) {
				t.Errorf("cause %v, want proxy.ErrFunctionTimeout", cause)
			}
		})
	}
}

// A buffered response is posted as the runtime would have encoded the event itself: JSON
// without HTML escaping and without a trailing newline.
func TestBufferedResponseBytes(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "<b>&</b>") })
	out, err := lambdahttp.New(h, lambdahttp.Options{RESTMode: lambdahttp.Buffered}).Invoke(context.Background(), event(t, restEvent(t, "/x", nil, false)))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(out.(io.Reader))
	want := `{"statusCode":200,"headers":null,"multiValueHeaders":{"Content-Type":["text/html; charset=utf-8"]},"body":"<b>&</b>"}`
	if string(raw) != want {
		t.Errorf("posted %s\nwant   %s", raw, want)
	}
}

// Full duplex (reading the request body after the response has started) is always available:
// the body is in the invocation event, in memory. The proxy asks for it on every forwarded
// call with a body; answering "not supported" cost an error value per call.
func TestFullDuplexIsAvailable(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := http.NewResponseController(w).EnableFullDuplex(); err != nil {
			_, _ = io.WriteString(w, "EnableFullDuplex: "+err.Error())
			return
		}
		_, _ = io.WriteString(w, "echo:")
		_ = http.NewResponseController(w).Flush()
		_, _ = io.Copy(w, r.Body) // read after the response started
	})
	for _, mode := range []lambdahttp.Mode{lambdahttp.Stream, lambdahttp.Buffered} {
		r := invoke(t, lambdahttp.New(h, lambdahttp.Options{RESTMode: mode}), restEvent(t, "/x", []byte(`{"q":1}`), false))
		if r.status != 200 || r.body != `echo:{"q":1}` {
			t.Errorf("%v: %d %q, want 200 %q", mode, r.status, r.body, `echo:{"q":1}`)
		}
	}
}
