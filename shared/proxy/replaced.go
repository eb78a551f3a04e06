package proxy

import "net/http"

// ResponseReplacer is implemented by a ResponseWriter that may still send the caller something
// other than the response the handler wrote: the Lambda adapter's buffered writer answers a 502
// when the response turns out too large for a buffered invocation, after the handler wrote it,
// and a whole error response (502, or 504 at the function's deadline) when the handler aborts,
// since a buffered response cannot be cut. The proxy asks it when it builds the usage record, so
// the record says what the caller got.
type ResponseReplacer interface {
	// ReplacedResponse reports the status the caller gets instead and the error class to record
	// ("": keep the call's own, e.g. upstream_reset); replaced is false when the response goes out
	// as written. aborted says the handler is about to abort the response.
	ReplacedResponse(aborted bool) (status int, errClass string, replaced bool)
}

// settle brings the call's outcome in line with what w will really send.
func (c *call) settle(w http.ResponseWriter, aborted bool) {
	rw, ok := w.(ResponseReplacer)
	if !ok {
		return
	}
	status, class, replaced := rw.ReplacedResponse(aborted)
	switch {
	case !replaced:
	case class == "":
		c.status = status // why the upstream's answer was cut stays the call's class, partial
	default:
		// The caller gets a whole error response, not a cut one: not partial, even if the
		// writer refused a write on the way (which the relay takes for a client disconnect).
		c.status, c.errClass, c.partial = status, class, false
	}
}
