package lambdahttp

import (
	"fmt"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	"github.com/passthru/gateway/shared/apierror"
)

// bufferedV1 answers a REST API integration in BUFFERED mode (and `sam local start-api`).
func (a *Adapter) bufferedV1(r *http.Request) events.APIGatewayProxyResponse {
	w := core.NewProxyResponseWriter()
	if failed := a.serveBuffered(w, r); failed != nil {
		w = core.NewProxyResponseWriter()
		failed(w)
	}
	resp, err := w.GetProxyResponse()
	if err != nil || len(resp.Body) > MaxBufferedBody {
		w = core.NewProxyResponseWriter()
		writeTooLargeResponse(w, err)
		resp, _ = w.GetProxyResponse()
	}
	return resp
}

// bufferedV2 answers an HTTP API (which cannot stream).
func (a *Adapter) bufferedV2(r *http.Request) events.APIGatewayV2HTTPResponse {
	w := core.NewProxyResponseWriterV2()
	if failed := a.serveBuffered(w, r); failed != nil {
		w = core.NewProxyResponseWriterV2()
		failed(w)
	}
	resp, err := w.GetProxyResponse()
	if err != nil || len(resp.Body) > MaxBufferedBody {
		w = core.NewProxyResponseWriterV2()
		writeTooLargeResponse(w, err)
		resp, _ = w.GetProxyResponse()
	}
	return resp
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

func writeAborted(w http.ResponseWriter) {
	apierror.Write(w, http.StatusBadGateway, apierror.TypeUpstream,
		"The upstream response ended early; a buffered integration cannot return part of it.")
}

func writeInternal(w http.ResponseWriter) {
	apierror.Write(w, http.StatusInternalServerError, apierror.TypeInternal, "Internal server error.")
}

func writeTooLargeResponse(w http.ResponseWriter, err error) {
	if err != nil {
		writeInternal(w)
		return
	}
	apierror.Write(w, http.StatusBadGateway, apierror.TypeUpstream,
		"The upstream response exceeds the 6 MB limit of buffered Lambda responses; call this route through a streaming integration (Function URL or REST API with response streaming).")
}

// handlerFor returns the handler for r, or one that answers 413 when the body is over Lambda's
// buffered payload limit.
func (a *Adapter) handlerFor(r *http.Request) http.Handler {
	if r.ContentLength > MaxBufferedBody {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			apierror.Write(w, http.StatusRequestEntityTooLarge, apierror.TypeInvalidRequest,
				fmt.Sprintf("Request body is %d bytes; Lambda accepts at most 6 MB (%d bytes) per invocation.", r.ContentLength, MaxBufferedBody))
		})
	}
	return a.h
}
