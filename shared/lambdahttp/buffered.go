package lambdahttp

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	"github.com/passthru/gateway/shared/apierror"
)

// bufferedV1 answers a REST API integration in BUFFERED mode, an HTTP API with payload format
// 1.0, and `sam local start-api`.
func (a *Adapter) bufferedV1(r *http.Request) events.APIGatewayProxyResponse {
	return buffered(a, r, core.NewProxyResponseWriter, func(x events.APIGatewayProxyResponse) int { return len(x.Body) })
}

// bufferedV2 answers an HTTP API with payload format 2.0 (which cannot stream).
func (a *Adapter) bufferedV2(r *http.Request) events.APIGatewayV2HTTPResponse {
	return buffered(a, r, core.NewProxyResponseWriterV2, func(x events.APIGatewayV2HTTPResponse) int { return len(x.Body) })
}

// bufferedFunctionURL answers a Function URL whose InvokeMode is BUFFERED; its response has the
// HTTP API v2 fields.
func (a *Adapter) bufferedFunctionURL(r *http.Request) events.LambdaFunctionURLResponse {
	v2 := a.bufferedV2(r)
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

// buffered runs the handler into a fresh api-proxy writer, capped at Lambda's 6 MB, and returns
// its response, or an error response when the handler did not complete or the body is too big.
func buffered[R any, W proxyWriter[R]](a *Adapter, r *http.Request, newWriter func() W, bodyLen func(R) int) R {
	w := newWriter()
	cw := &cappedWriter{ResponseWriter: w, limit: MaxBufferedResponse}
	failed := a.serveBuffered(cw, r)
	a.opts.AfterResponse(r.Context())
	if failed == nil && cw.over {
		failed = writeTooLarge
	}
	if failed == nil && !cw.wrote {
		w.WriteHeader(http.StatusOK) // a handler that wrote nothing still answers
	}
	if failed == nil {
		resp, err := w.GetProxyResponse()
		if err == nil && bodyLen(resp) <= MaxBufferedResponse {
			return resp
		}
		failed = writeTooLarge
		if err != nil {
			a.log.Error("cannot build the buffered response", "error", err)
			failed = writeInternal
		}
	}
	w = newWriter()
	failed(w)
	resp, _ := w.GetProxyResponse()
	return resp
}

// serveBuffered runs the handler into w. If it did not complete, what w holds must not reach the
// caller, and serveBuffered returns the error response to send instead: a 502 when the handler
// aborted (an upstream died mid-body), a 500 for any other panic.
func (a *Adapter) serveBuffered(w http.ResponseWriter, r *http.Request) (failed func(http.ResponseWriter)) {
	defer func() {
		switch p := recover(); {
		case p == nil:
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

var errOverLimit = errors.New("response body over the 6 MB limit of buffered Lambda responses")

// cappedWriter stops a buffered body at Lambda's limit, so a large upstream answer fails fast
// instead of filling the function's memory first. The proxy sees the write error, stops reading
// the upstream and cancels it.
type cappedWriter struct {
	http.ResponseWriter
	limit, n    int
	over, wrote bool
}

func (c *cappedWriter) WriteHeader(status int) {
	c.wrote = true
	c.ResponseWriter.WriteHeader(status)
}

func (c *cappedWriter) Write(p []byte) (int, error) {
	c.wrote = true
	if c.n+len(p) > c.limit {
		c.over = true
		return 0, errOverLimit
	}
	c.n += len(p)
	return c.ResponseWriter.Write(p)
}

// Flush is a no-op: the whole body goes out at the end anyway.
func (c *cappedWriter) Flush() {}

// Unwrap lets http.ResponseController reach the underlying writer.
func (c *cappedWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

func writeAborted(w http.ResponseWriter) {
	apierror.Write(w, http.StatusBadGateway, apierror.TypeUpstream,
		"The upstream response ended early; a buffered integration cannot return part of it.")
}

func writeInternal(w http.ResponseWriter) {
	apierror.Write(w, http.StatusInternalServerError, apierror.TypeInternal, "Internal server error.")
}

func writeTooLarge(w http.ResponseWriter) {
	apierror.Write(w, http.StatusBadGateway, apierror.TypeUpstream,
		"The upstream response exceeds the 6 MB limit of buffered Lambda responses; call this route through a streaming integration (Function URL or REST API with response streaming).")
}

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
