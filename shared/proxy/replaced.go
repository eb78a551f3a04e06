package proxy

import "net/http"

// ResponseReplacer is implemented by a ResponseWriter that may still send the caller something
// other than the response the handler wrote: the Lambda adapter's buffered writer answers a 502
// when the response turns out too large for a buffered invocation, after the handler wrote it.
// The proxy asks it when it builds the usage record, so the record says what the caller got.
type ResponseReplacer interface {
	// ReplacedResponse reports the status the caller gets instead and the error class to record;
	// replaced is false when the response goes out as written.
	ReplacedResponse() (status int, errClass string, replaced bool)
}

// settle brings the call's outcome in line with what w will really send.
func (c *call) settle(w http.ResponseWriter) {
	rw, ok := w.(ResponseReplacer)
	if !ok {
		return
	}
	if status, class, replaced := rw.ReplacedResponse(); replaced {
		// The caller gets a whole error response, not a cut one: not partial, even if the
		// writer refused a write on the way (which the relay takes for a client disconnect).
		c.status, c.errClass, c.partial = status, class, false
	}
}
