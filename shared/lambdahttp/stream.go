package lambdahttp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/passthru/gateway/shared/apierror"
)

// streamV1 answers a REST API integration in STREAM mode.
func (a *Adapter) streamV1(ctx context.Context, cancel context.CancelFunc, r *http.Request) *events.APIGatewayProxyStreamingResponse {
	status, header, body := a.serveStreaming(ctx, cancel, r)
	headers, cookies := flatten(header)
	return &events.APIGatewayProxyStreamingResponse{StatusCode: status, Headers: headers, Cookies: cookies, Body: body}
}

// streamFunctionURL answers a Function URL in RESPONSE_STREAM mode.
func (a *Adapter) streamFunctionURL(ctx context.Context, cancel context.CancelFunc, r *http.Request) *events.LambdaFunctionURLStreamingResponse {
	status, header, body := a.serveStreaming(ctx, cancel, r)
	headers, cookies := flatten(header)
	return &events.LambdaFunctionURLStreamingResponse{StatusCode: status, Headers: headers, Cookies: cookies, Body: body}
}

// serveStreaming runs the handler in its own goroutine, writing into a pipe that the runtime
// reads as the response body, and returns as soon as the status and headers are known. Every
// Write reaches the runtime as its own chunk, so nothing is held back. ctx is the invocation's,
// r's context the one cut before its deadline; cancel releases r's context.
//
// If the handler panics after the headers went out (the proxy does so, with
// http.ErrAbortHandler, when an upstream dies mid-stream or the function's time runs out), the
// pipe is closed with an error: the runtime then ends the response with its error trailers
// instead of a clean, truncated end.
//
// If the handler has not started its response when r's context ends, and does not answer
// within handlerGrace after that (the proxy answers 504 itself), the caller gets a 504 and
// whatever the handler writes later is discarded.
func (a *Adapter) serveStreaming(ctx context.Context, cancel context.CancelFunc, r *http.Request) (int, http.Header, io.ReadCloser) {
	pr, pw := io.Pipe()
	w := &streamWriter{header: http.Header{}, pipe: pw, started: make(chan struct{})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer cancel()
		defer a.endStream(w, pw, r)
		a.handlerFor(r).ServeHTTP(w, r)
	}()
	body := &streamBody{PipeReader: pr, f: newFinisher(a, ctx, done)}
	if a.responseStarted(w, r.Context()) {
		return w.status, w.sent, body
	}
	_ = pr.CloseWithError(context.Cause(r.Context())) // the handler's writes now fail and it winds down
	a.log.Error("the handler did not start its response before the function's deadline")
	h := http.Header{"Content-Type": {"application/json"}}
	msg := apierror.JSON(http.StatusGatewayTimeout, apierror.TypeTimeout, "The function ran out of time before the response started.")
	return http.StatusGatewayTimeout, h, &timeoutBody{Reader: bytes.NewReader(msg), f: body.f}
}

// responseStarted waits until the handler has sent its status and headers, or until it failed
// to do so in time: ctx ended and handlerGrace passed.
func (a *Adapter) responseStarted(w *streamWriter, ctx context.Context) bool {
	select {
	case <-w.started:
		return true
	case <-ctx.Done():
	}
	select {
	case <-w.started:
		return true
	case <-time.After(handlerGrace):
		return false
	}
}

// endStream runs when the handler returns: it answers for a handler that wrote nothing or
// panicked before its response, and ends the stream, with an error if the handler aborted.
func (a *Adapter) endStream(w *streamWriter, pw *io.PipeWriter, r *http.Request) {
	p := recover()
	switch {
	case p == nil:
		w.WriteHeader(http.StatusOK) // a handler that wrote nothing still answers
	case !w.headerSent():
		a.log.Error("panic before the response started", "panic", fmt.Sprint(p))
		w.header = http.Header{}
		writeInternal(w)
	default:
		if p != http.ErrAbortHandler {
			a.log.Error("panic while streaming a response", "panic", fmt.Sprint(p))
		}
		_ = pw.CloseWithError(abortError(p, r))
		return
	}
	_ = pw.Close()
}

// timeoutBody is the adapter's own 504; closing it runs the after-response work all the same.
type timeoutBody struct {
	*bytes.Reader
	f *finisher
}

func (b *timeoutBody) Close() error {
	b.f.finish()
	return nil
}

func abortError(p any, r *http.Request) error {
	switch {
	case p == http.ErrAbortHandler && functionTimedOut(r):
		return errors.New("response aborted: the function's time limit was reached")
	case p == http.ErrAbortHandler:
		return errors.New("response aborted: the upstream stream ended early")
	default:
		return fmt.Errorf("response aborted: %v", p)
	}
}

// streamWriter is the handler's ResponseWriter on the streaming path.
type streamWriter struct {
	header  http.Header
	sent    http.Header // the headers as they were at WriteHeader
	status  int
	pipe    *io.PipeWriter
	once    sync.Once
	started chan struct{}
}

func (w *streamWriter) Header() http.Header { return w.header }

func (w *streamWriter) WriteHeader(status int) {
	if status >= 100 && status < 200 {
		return // informational responses have no place in the prelude
	}
	if status < 100 || status > 999 {
		status = http.StatusInternalServerError // what net/http would refuse outright
	}
	w.once.Do(func() {
		w.status, w.sent = status, w.header.Clone()
		close(w.started)
	})
}

func (w *streamWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.pipe.Write(p)
}

// Flush is a no-op: each Write is already a chunk on its way to the runtime. Having it tells
// http.ResponseController (and the proxy) that flushing is not an error here.
func (w *streamWriter) Flush() {}

// EnableFullDuplex reports that the request body may be read after the response has started,
// which always holds: the body is in the invocation event, in memory.
func (w *streamWriter) EnableFullDuplex() error { return nil }

func (w *streamWriter) headerSent() bool {
	select {
	case <-w.started:
		return true
	default:
		return false
	}
}

// flatten turns response headers into the prelude's single-value map (repeated values
// comma-joined, as HTTP allows) and its cookie list.
func flatten(h http.Header) (map[string]string, []string) {
	headers := make(map[string]string, len(h))
	var cookies []string
	for k, vv := range h {
		if k == "Set-Cookie" {
			cookies = append(cookies, vv...)
			continue
		}
		if strings.HasPrefix(k, http.TrailerPrefix) || k == "Trailer" {
			continue // the Lambda stream has no HTTP trailers to carry them
		}
		headers[k] = strings.Join(vv, ",")
	}
	return headers, cookies
}
