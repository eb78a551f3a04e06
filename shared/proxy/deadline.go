package proxy

import (
	"context"
	"errors"
	"net/http"
)

// ErrFunctionTimeout is the cause an entry point gives a request's context when the request
// must end because the process itself is about to run out of time (on Lambda: the invocation's
// deadline, less a reserve for ending the response and flushing usage records). The proxy then
// answers 504 if nothing was sent yet, or cuts the stream if the headers are out, so the caller
// sees an error instead of a clean but truncated end, and records the call as function_timeout.
//
//	ctx, cancel := context.WithDeadlineCause(ctx, deadline, proxy.ErrFunctionTimeout)
var ErrFunctionTimeout = errors.New("the function's time limit is near")

// functionTimedOut reports whether r's context ended because the function's time ran out.
func functionTimedOut(r *http.Request) bool {
	return r.Context().Err() != nil && errors.Is(context.Cause(r.Context()), ErrFunctionTimeout)
}

// endedClass names why r's context ended: the function's deadline, or the client leaving.
func endedClass(r *http.Request) string {
	if functionTimedOut(r) {
		return "function_timeout"
	}
	return "client_disconnect"
}
