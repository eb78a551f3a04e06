package lambdahttp

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	"github.com/passthru/gateway/shared/apierror"
	"github.com/passthru/gateway/shared/proxy"
)

// bufferedV1 answers a REST API integration in BUFFERED mode, an HTTP API with payload format
// 1.0, and `sam local start-api`.
func (a *Adapter) bufferedV1(r *http.Request) events.APIGatewayProxyResponse {
	return buffered(a, r, core.NewProxyResponseWriter, same[events.APIGatewayProxyResponse])
}

// bufferedV2 answers an HTTP API with payload format 2.0 (which cannot stream).
func (a *Adapter) bufferedV2(r *http.Request) events.APIGatewayV2HTTPResponse {
	return buffered(a, r, core.NewProxyResponseWriterV2, same[events.APIGatewayV2HTTPResponse])
}

// bufferedFunctionURL answers a Function URL whose InvokeMode is BUFFERED; its response has the
// HTTP API v2 fields.
func (a *Adapter) bufferedFunctionURL(r *http.Request) events.LambdaFunctionURLResponse {
	return buffered(a, r, core.NewProxyResponseWriterV2, toFunctionURL)
}

func same[R any](x R) R { return x }

func toFunctionURL(v2 events.APIGatewayV2HTTPResponse) events.LambdaFunctionURLResponse {
	return events.LambdaFunctionURLResponse{
		StatusCode: v2.StatusCode, Headers: v2.Headers, Body: v2.Body,
		IsBase64Encoded: v2.IsBase64Encoded, Cookies: v2.Cookies,
	}
}

// proxyWriter is aws-lambda-go-api-proxy's buffering ResponseWriter for response type R.
type proxyWriter[R any] interface {
	http.ResponseWriter
	GetProxyResponse() (R, error)
}

// buffered runs the handler into a fresh api-proxy writer, capped at what a buffered Lambda
// response can carry once encoded, and returns its response (made final, the caller's type), or
// an error response when the handler did not complete or the response is too large.
func buffered[R, Out any, W proxyWriter[R]](a *Adapter, r *http.Request, newWriter func() W, final func(R) Out) Out {
	w := newWriter()
	cw := &cappedWriter{ResponseWriter: w, limit: MaxBufferedResponse, envelope: envelopeSize(newWriter, final), req: r}
	failed, returned := a.serveBufferedInTime(cw, r)
	if !returned { // the handler still holds w: leave it alone
		w = newWriter()
		writeOutOfTime(w)
		resp, _ := w.GetProxyResponse()
		return final(resp)
	}
	if failed == nil && !cw.wrote {
		cw.WriteHeader(http.StatusOK) // a handler that wrote nothing still answers
	}
	if failed == nil && cw.tooLarge() {
		failed = writeTooLarge
	}
	if failed == nil {
		resp, err := w.GetProxyResponse()
		if err == nil {
			return final(resp)
		}
		a.log.Error("cannot build the buffered response", "error", err)
		failed = writeInternal
	}
	w = newWriter()
	if id := cw.Header().Get(proxy.CallIDHeader); id != "" {
		w.Header().Set(proxy.CallIDHeader, id) // the call id still names the call in the records
	}
	failed(w)
	resp, _ := w.GetProxyResponse()
	return final(resp)
}

// envelopeSize returns how many bytes a response with the given status and headers takes, body
// aside, as the runtime encodes it, built by the same api-proxy conversion as the real one. The
// response types differ in which fields they omit when empty or false, so the envelope is
// measured around a one-byte body of the right kind (text "a", or 0xff which api-proxy sends as
// base64 "/w=="), whose own length is then taken off. Writing it makes api-proxy add a
// Content-Type when there is none, as it does for the real body.
func envelopeSize[R, Out any, W proxyWriter[R]](newWriter func() W, final func(R) Out) func(int, http.Header, bool) int {
	return func(status int, h http.Header, isBase64 bool) int {
		w := newWriter()
		for k, vv := range h {
			w.Header()[k] = vv
		}
		w.WriteHeader(status)
		marker, markerLen := []byte("a"), 1
		if isBase64 {
			marker, markerLen = []byte{0xff}, len("/w==")
		}
		_, _ = w.Write(marker)
		resp, err := w.GetProxyResponse()
		if err != nil {
			return 0
		}
		return len(marshalNoHTML(final(resp))) - markerLen
	}
}

// serveBufferedInTime runs serveBuffered in its own goroutine and waits for it, or until r's
// context has ended (the function's deadline is near) and the handler has had handlerGrace to
// answer: a handler that ignores its context must not hold the invocation past its deadline,
// where Lambda would kill it and the caller would get API Gateway's generic error instead.
func (a *Adapter) serveBufferedInTime(w http.ResponseWriter, r *http.Request) (failed func(http.ResponseWriter), returned bool) {
	done := make(chan func(http.ResponseWriter), 1)
	go func() { done <- a.serveBuffered(w, r) }()
	select {
	case failed = <-done:
		return failed, true
	case <-r.Context().Done():
	}
	select {
	case failed = <-done:
		return failed, true
	case <-time.After(handlerGrace):
		a.log.Error("the handler did not return before the function's deadline")
		return nil, false
	}
}

// serveBuffered runs the handler into w. If it did not complete, what w holds must not reach the
// caller, and serveBuffered returns the error response to send instead: a 502 when the handler
// aborted (an upstream died mid-body), a 504 when it aborted at the function's deadline, a 500
// for any other panic.
func (a *Adapter) serveBuffered(w http.ResponseWriter, r *http.Request) (failed func(http.ResponseWriter)) {
	defer func() {
		switch p := recover(); {
		case p == nil:
		case p == http.ErrAbortHandler && functionTimedOut(r):
			failed = writeAbortedInTime
		case p == http.ErrAbortHandler:
			failed = writeAborted
		default:
			a.log.Error("panic while serving a buffered response", "panic", fmt.Sprint(p))
			failed = writeInternal
		}
	}()
	a.handlerFor(r).ServeHTTP(w, r)
	return nil
}

var errOverLimit = errors.New("response over the size limit of buffered Lambda responses")

// cappedWriter stops a buffered response once it no longer fits in a buffered Lambda response,
// counted as Lambda counts it (the JSON the runtime sends: body escaped or base64, envelope and
// headers included), so a large upstream answer fails fast instead of filling the function's
// memory first, and Lambda never refuses the response (which the caller would see as API
// Gateway's generic 502). The proxy sees the write error, stops reading the upstream and cancels
// it, and asks ReplacedResponse what the caller really gets for its usage record.
type cappedWriter struct {
	http.ResponseWriter
	limit int
	// envelope is the encoded size of the response with an empty body.
	envelope    func(status int, h http.Header, isBase64 bool) int
	status      int
	body        jsonSize
	head        int // the envelope's size at the first write, for the running check
	over, wrote bool
	req         *http.Request // whose context says why an abort happened
}

func (c *cappedWriter) WriteHeader(status int) {
	c.wrote, c.status = true, status // api-proxy keeps the last status too
	c.ResponseWriter.WriteHeader(status)
}

func (c *cappedWriter) Write(p []byte) (int, error) {
	c.wrote = true
	if c.status == 0 {
		c.status = http.StatusOK
	}
	if c.over {
		return 0, errOverLimit
	}
	next := c.body
	next.add(p)
	if c.head == 0 && envelopeBound(c.Header())+next.encodedLen() > c.limit {
		c.head = c.envelope(c.status, c.Header(), false) // near the limit: measure exactly
	}
	if c.head+next.encodedLen() > c.limit {
		c.over = true
		return 0, errOverLimit
	}
	c.body = next
	return c.ResponseWriter.Write(p)
}

// tooLarge reports whether the response as written cannot be returned: the running check failed,
// or the exact size with the final headers is over the limit.
func (c *cappedWriter) tooLarge() bool {
	n := c.body.encodedLen()
	return c.over || (envelopeBound(c.Header())+n > c.limit && c.envelope(c.status, c.Header(), c.body.isBase64())+n > c.limit)
}

// envelopeBound is more than the response's envelope can take with these headers: every byte
// escaped to 6, each header written twice (api-proxy fills both the single- and the multi-value
// map), and room for the status, the fields' names and a Content-Type api-proxy may add. A
// response whose bound fits needs no exact measure, which builds and encodes a whole response.
func envelopeBound(h http.Header) int {
	n := 1024
	for k, vv := range h {
		for _, v := range vv {
			n += 2 * (6*(len(k)+len(v)) + 16)
		}
	}
	return n
}

// ReplacedResponse tells the proxy, when it builds the usage record, that the caller gets a 502
// instead of the response it wrote (see proxy.ResponseReplacer).
// An abort is answered whole (writeAborted, writeAbortedInTime): the record keeps its class.
func (c *cappedWriter) ReplacedResponse(aborted bool) (status int, errClass string, replaced bool) {
	switch {
	case c.wrote && c.tooLarge():
		return http.StatusBadGateway, "response_too_large", true
	case aborted && functionTimedOut(c.req):
		return http.StatusGatewayTimeout, "", true
	case aborted:
		return http.StatusBadGateway, "", true
	}
	return 0, "", false
}

// Flush is a no-op: the whole body goes out at the end anyway.
func (c *cappedWriter) Flush() {}

// EnableFullDuplex reports that the request body may be read after the response has started,
// which always holds: the body is in the invocation event, in memory.
func (c *cappedWriter) EnableFullDuplex() error { return nil }

// Unwrap lets http.ResponseController reach the underlying writer.
func (c *cappedWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

func writeOutOfTime(w http.ResponseWriter) {
	apierror.Write(w, http.StatusGatewayTimeout, apierror.TypeTimeout, "The function ran out of time before the response was complete.")
}

func writeAbortedInTime(w http.ResponseWriter) {
	apierror.Write(w, http.StatusGatewayTimeout, apierror.TypeTimeout,
		"The gateway function ran out of time before the upstream response ended; a buffered integration cannot return part of it.")
}

// functionTimedOut reports whether r was stopped for the function's deadline (requestContext).
func functionTimedOut(r *http.Request) bool { return proxy.FunctionTimedOut(r.Context()) }

func writeAborted(w http.ResponseWriter) {
	apierror.Write(w, http.StatusBadGateway, apierror.TypeUpstream,
		"The upstream response ended early; a buffered integration cannot return part of it.")
}

func writeInternal(w http.ResponseWriter) {
	apierror.Write(w, http.StatusInternalServerError, apierror.TypeInternal, "Internal server error.")
}

func writeTooLarge(w http.ResponseWriter) {
	apierror.Write(w, http.StatusBadGateway, apierror.TypeUpstream, tooLargeMessage)
}

var tooLargeMessage = fmt.Sprintf("The upstream response exceeds what a buffered Lambda response can carry "+
	"(%d bytes once JSON-encoded, headers included; Lambda's limit is 6291556); call this route through a "+
	"streaming integration (Function URL or REST API with response streaming).", MaxBufferedResponse)

// handlerFor returns the handler for r, or one that answers the request's rejection (a path that
// does not decode, a body over Lambda's event limit) without calling it. On AWS, Lambda refuses
// an event over its limit before the function runs, and the front door answers that itself
// (README "Which response each caller gets"); this guard covers every other way an event can
// arrive (sam local, tests, direct invokes).
func (a *Adapter) handlerFor(r *http.Request) http.Handler {
	if rej := rejectionOf(r); rej != nil {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			apierror.Write(w, rej.status, rej.typ, rej.msg)
		})
	}
	return a.h
}
