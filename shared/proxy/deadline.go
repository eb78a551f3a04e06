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

// FunctionTimedOut reports whether ctx ended because the function's time ran out.
func FunctionTimedOut(ctx context.Context) bool {
	return ctx.Err() != nil && errors.Is(context.Cause(ctx), ErrFunctionTimeout)
}

func functionTimedOut(r *http.Request) bool { return FunctionTimedOut(r.Context()) }

// endedClass names why r's context ended: the function's deadline, or the client leaving.
func endedClass(r *http.Request) string {
	if functionTimedOut(r) {
		return "function_timeout"
	}
	return "client_disconnect"
}
