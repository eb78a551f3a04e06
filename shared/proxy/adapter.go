package proxy

// Adapter routes (route.Adapter): the client speaks Anthropic's Messages API, the backend
// OpenAI's chat completions. The request is read whole (it is a JSON document to translate),
// translated and sent through the same forward and relay as any route (deadlines, metering of
// the backend's bytes, cost injection, error classes); adaptWriter sits between the relay and
// the client and translates the answer: a stream event by event as each chunk arrives, a JSON
// answer or an error once complete. Every error on an adapter route, the gateway's own
// included, reaches the client in Anthropic's shape, so the Anthropic SDKs raise their typed
// errors with the message.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/passthru/gateway/shared/adapter/anthropic"
	"github.com/passthru/gateway/shared/apierror"
	"github.com/passthru/gateway/shared/auth"
	"github.com/passthru/gateway/shared/route"
)

// maxAdapterBody bounds the request body an adapter route reads whole (Lambda's own request
// limit is 6 MB; a local gateway gets the same room as a signed body).
const maxAdapterBody = route.MaxSignedBody

// adapting wraps the response of an adapter route, so that every answer, errors included,
// goes out in the client's API shape.
func adapting(w http.ResponseWriter, c *call) http.ResponseWriter {
	if c.route.Adapter == nil {
		return w
	}
	return &adaptWriter{ResponseWriter: w, c: c}
}

// adapt serves a request on an adapter route, from the point where the caller is admitted.
func (h *Handler) adapt(aw *adaptWriter, r *http.Request, c *call, own auth.OwnKeys, carrier string) {
	rt := c.route
	body, ok := readAdapterBody(aw, r, c)
	if !ok {
		return
	}
	req, perr := anthropic.ParseRequest(body)
	if perr != nil {
		c.fail(aw, perr.Status, apierror.TypeInvalidRequest, perr.Message, "bad_request")
		return
	}
	backend, err := rt.Adapter.Backend(req.Model)
	if err != nil {
		c.fail(aw, http.StatusNotFound, apierror.TypeNotFound, err.Error(), "not_found")
		return
	}
	translated, names, perr := req.OpenAI(anthropic.Backend{Model: backend.Model})
	if perr != nil {
		c.fail(aw, perr.Status, apierror.TypeInvalidRequest, perr.Message, "bad_request")
		return
	}
	hdr, err := h.adapterHeader(r.Context(), r, rt, backend, own, carrier, req.Stream)
	if err != nil {
		h.credentialFailed(aw, c, err)
		return
	}
	aw.model, aw.names, aw.withCost, aw.wantStream = req.Model, names, rt.InjectCost, req.Stream
	out := r.WithContext(r.Context())
	out.Body, out.ContentLength = io.NopCloser(bytes.NewReader(translated)), int64(len(translated))
	clientBody := c.in // bytes_in is what the client sent, not the translation
	defer func() {
		c.in = clientBody
		if p := recover(); p != nil {
			aw.broken(p)
		}
	}()
	u := *backend.URL
	h.forward(aw, out, c, &u, hdr)
	aw.finish()
}

// readAdapterBody reads the request body whole, counted for bytes_in; a body over
// maxAdapterBody is a 413.
func readAdapterBody(aw *adaptWriter, r *http.Request, c *call) ([]byte, bool) {
	if r.Body == nil || r.Body == http.NoBody {
		c.fail(aw, http.StatusBadRequest, apierror.TypeInvalidRequest, "The request has no body: a Messages request is a JSON object.", "bad_request")
		return nil, false
	}
	c.in = &countingBody{rc: r.Body, progress: func() {}}
	body, err := io.ReadAll(io.LimitReader(c.in, maxAdapterBody+1))
	switch {
	case err != nil && r.Context().Err() != nil:
		c.errClass, c.status = endedClass(r), 499
		return nil, false
	case err != nil:
		c.fail(aw, http.StatusBadRequest, apierror.TypeInvalidRequest, "The request body could not be read.", "bad_request")
		return nil, false
	case len(body) > maxAdapterBody:
		c.fail(aw, http.StatusRequestEntityTooLarge, apierror.TypeInvalidRequest, fmt.Sprintf("The request body is over %d MiB.", maxAdapterBody>>20), "bad_request")
		return nil, false
	}
	return body, true
}

// adapterHeader builds the backend request's headers: the client's as the route's policy
// allows (with forward_headers; never its key or credentials), a JSON body, the backend's
// credential, then x-pass- headers.
func (h *Handler) adapterHeader(ctx context.Context, r *http.Request, rt *route.Route, b *route.Backend, own auth.OwnKeys, carrier string, stream bool) (http.Header, error) {
	out := outboundHeader(r.Header, rt, own, carrier, false)
	delete(out, "Content-Encoding")
	out["Content-Type"] = []string{"application/json"}
	if stream {
		out["Accept"] = []string{"text/event-stream"}
	} else {
		out["Accept"] = []string{"application/json"}
	}
	if err := b.WriteHeaders(ctx, out, h.secrets); err != nil {
		return nil, err
	}
	applyPassHeaders(r.Header, out, own)
	if _, ok := out["User-Agent"]; !ok {
		out["User-Agent"] = []string{""}
	}
	return out, nil
}

// Modes of adaptWriter.
const (
	awNone   uint8 = iota // nothing received yet
	awStream              // translating a stream, event by event
	awBuffer              // collecting a JSON answer or an error, sent at its end
	awDone                // the client has its whole answer
)

// maxAdapterAnswer bounds a JSON answer or error body held for translation.
const maxAdapterAnswer = 32 << 20

// adaptWriter translates what the relay (or the gateway's own error) writes into the client's
// API. Write always accepts the bytes it is given, so the relay meters exactly the backend's
// answer; what reaches the client is counted in n.
type adaptWriter struct {
	http.ResponseWriter
	c        *call
	model    string // the client's model; "" until the request is translated
	names    anthropic.ToolNames
	withCost bool
	// wantStream: the client asked for a stream; a backend that answers with JSON anyway
	// has its answer sent as the events a stream would carry.
	wantStream bool

	mode     uint8
	status   int
	declared int // the buffered body's Content-Length, -1 when unknown
	buf      []byte
	overflow bool
	stream   *anthropic.Stream
	n        int64
}

func (aw *adaptWriter) Unwrap() http.ResponseWriter { return aw.ResponseWriter }

func (aw *adaptWriter) WriteHeader(status int) {
	if aw.mode != awNone {
		return
	}
	aw.status = status
	h := aw.Header()
	if status < 400 && aw.model != "" && isEventStream(h.Get("Content-Type")) {
		aw.mode = awStream
		h.Del("Content-Length")
		h.Set("Content-Type", "text/event-stream; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		aw.stream = anthropic.NewStream(clientWriter{aw}, aw.model, aw.names, aw.withCost)
		aw.ResponseWriter.WriteHeader(status)
		return
	}
	aw.mode, aw.declared = awBuffer, -1
	if n, err := strconv.Atoi(h.Get("Content-Length")); err == nil {
		aw.declared = n
	}
}

func (aw *adaptWriter) Write(p []byte) (int, error) {
	if aw.mode == awNone {
		aw.WriteHeader(http.StatusOK)
	}
	switch aw.mode {
	case awStream:
		return aw.stream.Write(p)
	case awBuffer:
		if len(aw.buf)+len(p) > maxAdapterAnswer {
			aw.overflow = true
		} else {
			aw.buf = append(aw.buf, p...)
		}
		if aw.status >= 400 && aw.declared >= 0 && len(aw.buf) >= aw.declared {
			aw.emit() // a whole error (the gateway's own never reach finish)
		}
	}
	return len(p), nil
}

// FlushError pushes a translated stream's events to the client; a buffered answer has
// nothing to push until it is complete.
func (aw *adaptWriter) FlushError() error {
	if aw.mode != awStream {
		return nil
	}
	return http.NewResponseController(aw.ResponseWriter).Flush()
}

// Flush is FlushError for callers that use http.Flusher.
func (aw *adaptWriter) Flush() { _ = aw.FlushError() }

// clientWriter writes translated bytes to the client, counting them.
type clientWriter struct{ aw *adaptWriter }

func (cw clientWriter) Write(p []byte) (int, error) {
	n, err := cw.aw.ResponseWriter.Write(p)
	cw.aw.n += int64(n)
	return n, err
}

// finish completes the answer after the relay returned: the end of a stream (its held
// message_delta, or an error event when the backend stopped before finishing), or the
// buffered answer translated.
func (aw *adaptWriter) finish() {
	switch aw.mode {
	case awStream:
		if !aw.stream.Complete() && aw.c.status < 400 && aw.c.errClass != "client_disconnect" {
			_ = aw.stream.Close()
			_ = aw.FlushError()
		}
	case awBuffer:
		aw.emit()
	}
	if aw.n > 0 {
		aw.c.bytesOut = aw.n
	}
}

// broken handles the relay's abort when the backend's answer was cut (streamBroken): a
// stream ends with an error event the SDK raises; a buffered answer, of which the client has
// nothing yet, becomes a 502. Any other panic goes on.
func (aw *adaptWriter) broken(p any) {
	if p != http.ErrAbortHandler || aw.mode == awNone || aw.mode == awDone {
		panic(p)
	}
	if aw.mode == awStream {
		_ = aw.stream.Fail("The backend's connection failed mid-stream.")
		_ = aw.FlushError()
		aw.c.bytesOut = aw.n
		if aw.c.errClass == "function_timeout" {
			panic(p) // the invocation is ending: the response must be cut where it is
		}
		return
	}
	aw.c.status = http.StatusBadGateway
	aw.out(http.StatusBadGateway, anthropic.ErrorBody(http.StatusBadGateway, "The backend's response was cut before it ended."))
	aw.c.bytesOut = aw.n
}

// emit sends the buffered answer: an error in Anthropic's shape, or the backend's completion
// translated into a message.
func (aw *adaptWriter) emit() {
	if aw.mode != awBuffer {
		return
	}
	switch {
	case aw.status >= 400 || aw.overflow:
		status := aw.status
		if status < 400 {
			status = http.StatusBadGateway
		}
		aw.out(status, anthropic.ErrorBody(status, anthropic.ErrorMessage(status, aw.buf)))
	case aw.model == "":
		aw.out(http.StatusBadGateway, anthropic.ErrorBody(http.StatusBadGateway, "The gateway answered before the request was translated."))
	case aw.wantStream:
		events, err := anthropic.StreamFromResponse(aw.buf, aw.model, aw.names, aw.withCost)
		if err != nil {
			aw.c.status, aw.c.errClass = err.Status, "upstream_status"
			aw.out(err.Status, anthropic.ErrorBody(err.Status, err.Message))
			return
		}
		aw.mode = awDone
		h := aw.Header()
		h.Del("Content-Encoding")
		h.Set("Content-Type", "text/event-stream; charset=utf-8")
		h.Set("Content-Length", strconv.Itoa(len(events)))
		aw.ResponseWriter.WriteHeader(aw.status)
		_, _ = clientWriter{aw}.Write(events)
	default:
		body, err := anthropic.Response(aw.buf, aw.model, aw.names)
		if err != nil {
			aw.c.status, aw.c.errClass = err.Status, "upstream_status"
			aw.out(err.Status, anthropic.ErrorBody(err.Status, err.Message))
			return
		}
		aw.out(aw.status, body)
	}
}

// out writes a whole JSON answer.
func (aw *adaptWriter) out(status int, body []byte) {
	aw.mode = awDone
	h := aw.Header()
	h.Del("Content-Encoding")
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	aw.ResponseWriter.WriteHeader(status)
	_, _ = clientWriter{aw}.Write(body)
}
