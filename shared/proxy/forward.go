package proxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/passthru/gateway/shared/apierror"
	"github.com/passthru/gateway/shared/upstream"
)

// The relay buffers. An event stream holds its buffer while it waits for the upstream's next
// event, so its size is per-stream memory, and an event (a few hundred bytes of SSE) never
// needs much; a longer one is simply relayed in pieces, each flushed as it comes (2 KiB rather
// than 4 KiB: 3.5 KiB less RSS per open stream, measured with 200 streams). Any other response is read as fast
// as it arrives, so a bigger buffer means fewer reads and writes per byte (a download), unless
// its declared length fits in the small one: then the big one would only be held (and kept by
// the pool, and counted twice by the GC's heap goal) for nothing; at c=32 that was 2 MiB of
// buffers for 500-byte JSON answers.
const (
	eventBufferSize = 2 << 10
	bodyBufferSize  = 64 << 10
)

var (
	eventBuffers = sync.Pool{New: func() any { b := make([]byte, eventBufferSize); return &b }}
	bodyBuffers  = sync.Pool{New: func() any { b := make([]byte, bodyBufferSize); return &b }}
)

// relayBuffers is the pool for a response of content type ct and declared length n (-1:
// unknown).
func relayBuffers(ct string, n int64) *sync.Pool {
	if isEventStream(ct) || isAWSEventStream(ct) || (n >= 0 && n <= eventBufferSize) {
		return &eventBuffers
	}
	return &bodyBuffers
}

// NewTransport returns the upstream transport: requests whose body is in memory are exchanged
// over HTTP/1.1 in the handler's goroutine (package upstream: no per-call goroutine hand-offs),
// the rest (streamed uploads) through net/http's Transport. Its settings (HTTP) serve both
// (MaxIdleConns only the Transport's pool; the direct one keeps MaxIdleConnsPerHost):
// many idle connections per host (the default 2 makes a busy proxy reconnect), HTTP/2 where
// the upstream offers it on the streamed path, and no transparent decompression, so bodies and
// their Content-Encoding pass through untouched.
func NewTransport() *upstream.Transport {
	return upstream.New(&http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          512,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		// An upstream connection holds a bufio.Reader of this size while it carries a call (a
		// stream's too, while the upstream thinks); on the direct path an idle one gives it back
		// (net/http's Transport, for streamed uploads, keeps it for the connection's life).
		// Bodies are read into the relay buffer directly when it is at least this big (bufio
		// skips its own buffer), so a download loses nothing; headers longer than it are read
		// in pieces. 4 KiB by default.
		ReadBufferSize: 2 << 10,
	})
}

// countingBody counts the request bytes the transport reads (from its own goroutine); each read
// is progress and pushes the idle deadline back.
type countingBody struct {
	rc       io.ReadCloser
	n        atomic.Int64
	held     int64 // read whole before sending (readWhole): sent only once the request went
	progress func()
	head     *prefix // the first bytes, for metering (nil: not kept)
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.readUncounted(p)
	b.n.Add(int64(n))
	return n, err
}

// readUncounted reads as Read does, without counting the bytes as sent.
func (b *countingBody) readUncounted(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.progress()
		if b.head != nil {
			b.head.add(p[:n])
		}
	}
	return n, err
}

func (b *countingBody) Close() error { return b.rc.Close() }

// idleDeadline cancels an upstream call that stays silent for longer than the route's timeout,
// as LiteLLM's httpx timeout does: it bounds each wait (for the response headers while the body
// uploads, then for each body read), never the whole call, so a stream may run for as long as
// it keeps talking. Time spent writing to a slow client is not the upstream's silence.
type idleDeadline struct {
	timeout time.Duration
	timer   *time.Timer
	fired   atomic.Bool
}

func newIdleDeadline(timeout time.Duration, cancel context.CancelFunc) *idleDeadline {
	d := &idleDeadline{timeout: timeout}
	d.timer = time.AfterFunc(timeout, func() { d.fired.Store(true); cancel() })
	return d
}

func (d *idleDeadline) extend() { d.timer.Reset(d.timeout) }
func (d *idleDeadline) pause()  { d.timer.Stop() }
func (d *idleDeadline) expired() bool {
	return d.fired.Load()
}

// forward sends the request upstream and relays the answer.
func (h *Handler) forward(w http.ResponseWriter, r *http.Request, c *call, u *url.URL, hdr http.Header) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	// Whether the request went out decides what a failed call may cost: once its headers are
	// written the upstream may have received it (and may bill it).
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteHeaders: func() { c.sent.Store(true) }})
	idle := newIdleDeadline(c.route.Timeout, cancel)
	defer idle.pause()

	out := (&http.Request{
		Method:     r.Method,
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     hdr,
		Host:       u.Host,
	}).WithContext(ctx)
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		c.in = &countingBody{rc: r.Body, progress: idle.extend}
		if h.meter != nil {
			c.in.head = &prefix{}
		}
		out.Body, out.ContentLength = c.in, r.ContentLength
		if readWhole(r) {
			out.Body, out.GetBody = c.in.readWhole(r.ContentLength) // headers and body in one write
		}
	}
	c.upstream = u.Host
	if a := authorizerOf(c.route); a != nil && !c.callerCreds {
		if err := h.authorize(ctx, out, a, c); err != nil {
			h.authorizeFailed(w, r, c, err)
			return
		}
	}
	if c.in != nil {
		// The response may start while the body is still uploading; without full duplex the
		// HTTP/1 server may close the body under the transport then. Enabled only once the
		// request will go: a handler that answers an unread body in full-duplex mode races
		// the server's own read of the connection ("invalid concurrent Body.Read call").
		_ = http.NewResponseController(w).EnableFullDuplex()
	}
	if h.debug {
		h.logUpstreamRequest(c, out)
	}
	resp, err := h.transport.RoundTrip(out)
	if err != nil {
		h.upstreamFailed(w, r, c, err, idle)
		return
	}
	defer resp.Body.Close()
	if h.debug {
		h.logUpstreamResponse(c, resp)
	}
	c.upstreamCost = parseCost(resp.Header)
	if h.meter != nil {
		var req []byte
		if c.in != nil {
			req = c.in.head.bytes()
		}
		c.meter = h.meter(u, req, resp.StatusCode, resp.Header)
	}
	if !h.guardResponse(w, r, c, resp) {
		return
	}
	h.relay(w, r, c, resp, idle)
}

// relay writes the upstream response to the client as it arrives.
func (h *Handler) relay(w http.ResponseWriter, r *http.Request, c *call, resp *http.Response, idle *idleDeadline) {
	dst := w.Header()
	copyResponseHeader(dst, resp.Header)
	if c.rate != nil {
		setRateHeaders(dst, *c.rate) // the gateway's limit, not the upstream's own
	}
	for k := range resp.Trailer {
		dst.Add("Trailer", k)
	}
	ct := resp.Header.Get("Content-Type")
	c.streamed = isEventStream(ct) || isAWSEventStream(ct) || resp.ContentLength < 0
	c.status, c.headerSent = resp.StatusCode, true
	if resp.StatusCode >= 400 {
		c.errClass = "upstream_status"
	}
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		h.credentialRejected(c)
	}
	inject := h.injector(c, resp)
	if inject != nil {
		dst.Del("Content-Length") // the injected cost changes it
	}
	w.WriteHeader(resp.StatusCode)
	rc := http.NewResponseController(w)
	if c.streamed {
		_ = rc.Flush() // headers now, not with the first event
	}

	pool := relayBuffers(ct, resp.ContentLength)
	bp := pool.Get().(*[]byte)
	defer pool.Put(bp)
	buf := *bp
	for {
		idle.extend()
		n, rerr := resp.Body.Read(buf)
		idle.pause()
		chunk := buf[:n]
		if rerr == io.EOF && inject != nil {
			chunk = append(inject.feed(chunk), inject.flush()...)
		} else if inject != nil {
			chunk = inject.feed(chunk)
		}
		// The end is sent even when empty: it flushes what the response still holds (send).
		if (len(chunk) > 0 || rerr == io.EOF) && !c.send(w, rc, chunk, inject == nil, rerr == io.EOF) {
			return
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			if inject != nil { // what it held goes out before the stream is cut
				if rest := inject.flush(); len(rest) > 0 {
					c.send(w, rc, rest, false, false) // a stream: flushed as it goes
				}
			}
			h.streamBroken(r, c, rerr, idle.expired())
			return
		}
	}
	for k, vv := range resp.Trailer {
		dst[http.TrailerPrefix+k] = vv
	}
}

// send writes a chunk to the client, then meters it, so parsing never delays a byte (with cost
// injection the injector meters, event by event). A stream's chunks are flushed as they come;
// any other response's last chunk (last) is flushed too, so that it leaves before the call is
// metered and recorded rather than when the handler returns. It reports whether the client is
// still there.
func (c *call) send(w http.ResponseWriter, rc *http.ResponseController, chunk []byte, meter, last bool) bool {
	if c.bytesOut == 0 && len(chunk) > 0 {
		c.ttfb = time.Since(c.start)
	}
	n, err := w.Write(chunk)
	c.bytesOut += int64(n)
	if err == nil && (c.streamed || last) {
		err = rc.Flush() // each event leaves as it arrives, before it is parsed
		if errors.Is(err, http.ErrNotSupported) {
			err = nil // no Flusher here (a buffered writer): nothing to push
		}
	}
	if meter && c.meter != nil {
		_, _ = c.meter.Write(chunk[:n]) // what the client was sent, even on a failed write
	}
	if err != nil {
		c.partial, c.errClass = true, "client_disconnect"
		return false
	}
	return true
}

// injector returns the cost injector for a streamed response on a route that opted in.
func (h *Handler) injector(c *call, resp *http.Response) *costInjector {
	if !c.route.InjectCost || c.meter == nil || h.pricer == nil || !isEventStream(resp.Header.Get("Content-Type")) {
		return nil
	}
	return &costInjector{meter: c.meter, pricer: h.pricer}
}

// credentialRejected drops the route's cached secrets after the upstream refused them: a key
// rotated since it was cached is read fresh on the next call instead of failing for a TTL.
// A built-in route's Authorizer reads its own (a service account): dropped too, unless the
// caller's credential was sent instead.
func (h *Handler) credentialRejected(c *call) {
	inv, ok := h.secrets.(secretInvalidator)
	names := c.route.SecretNames()
	if b := c.route.Builtin; b != nil && b.Authorizer != nil && !c.callerCreds {
		names = append(slices.Clone(names), b.Secrets...)
	}
	if !ok || len(names) == 0 {
		return
	}
	if !inv.Invalidate(names...) {
		return // dropped moments ago already
	}
	c.logger().Warn("upstream rejected the route's credentials; they will be read again on the next call",
		"call_id", c.id, "route", c.route.Path, "status", c.status, "secrets", names)
}

// streamBroken ends a response whose upstream stopped mid-body.
func (h *Handler) streamBroken(r *http.Request, c *call, err error, timedOut bool) {
	c.partial = true
	switch {
	case functionTimedOut(r):
		c.errClass = "function_timeout"
		c.logger().Warn("the function's time ran out mid-stream; the response is cut", "call_id", c.id, "route", c.route.Path,
			"upstream", c.upstream, "bytes_sent", c.bytesOut)
		panic(http.ErrAbortHandler)
	case r.Context().Err() != nil:
		c.errClass = "client_disconnect"
		return
	case timedOut:
		c.errClass = "upstream_timeout"
	default:
		c.errClass = "upstream_reset"
	}
	c.logger().Warn("upstream response ended early", "call_id", c.id, "route", c.route.Path, "upstream", c.upstream,
		"bytes_sent", c.bytesOut, "error_class", c.errClass, "error", err)
	panic(http.ErrAbortHandler)
}

// upstreamFailed answers when no upstream response arrived: 504 on timeout, 502 otherwise.
// A call the upstream provably never got (refused, DNS, TLS, a dial timeout) costs nothing;
// one it may have received and never answered has an unknown cost, since the provider may
// still bill it.
func (h *Handler) upstreamFailed(w http.ResponseWriter, r *http.Request, c *call, err error, idle *idleDeadline) {
	c.noCall = !c.sent.Load() && neverSent(err)
	c.unanswered = !c.noCall
	if c.unanswered && idle.expired() && !functionTimedOut(r) {
		c.logger().Warn("upstream did not answer", "call_id", c.id, "route", c.route.Path, "upstream", c.upstream, "timeout", idle.timeout)
		c.fail(w, http.StatusGatewayTimeout, apierror.TypeTimeout,
			fmt.Sprintf("Upstream did not respond within the %s timeout.", idle.timeout), "upstream_no_answer")
		return
	}
	var ne net.Error
	switch {
	case functionTimedOut(r) && !idle.expired():
		c.logger().Warn("the function's time ran out before the upstream answered", "call_id", c.id, "route", c.route.Path, "upstream", c.upstream)
		c.fail(w, http.StatusGatewayTimeout, apierror.TypeTimeout,
			"The gateway function ran out of time before the upstream answered.", "function_timeout")
	case r.Context().Err() != nil && !idle.expired():
		c.errClass, c.status = "client_disconnect", 499
		return
	case idle.expired():
		c.logger().Warn("upstream timed out", "call_id", c.id, "route", c.route.Path, "upstream", c.upstream, "timeout", idle.timeout)
		c.fail(w, http.StatusGatewayTimeout, apierror.TypeTimeout,
			fmt.Sprintf("Upstream did not respond within the %s timeout.", idle.timeout), "upstream_timeout")
	case errors.As(err, &ne) && ne.Timeout():
		c.logger().Warn("upstream connection timed out", "call_id", c.id, "route", c.route.Path, "upstream", c.upstream, "error", err)
		c.fail(w, http.StatusGatewayTimeout, apierror.TypeTimeout, "Connecting to the upstream timed out.", failClass(c, "upstream_timeout"))
	default:
		c.logger().Warn("upstream request failed", "call_id", c.id, "route", c.route.Path, "upstream", c.upstream, "error", err)
		c.fail(w, http.StatusBadGateway, apierror.TypeUpstream, "Upstream request failed: "+describe(err)+".", failClass(c, "upstream_connect"))
	}
}

// failClass is the error class of a failed exchange: notReached when the upstream never got
// the request, upstream_no_answer when it may have.
func failClass(c *call, notReached string) string {
	if c.noCall {
		return notReached
	}
	return "upstream_no_answer"
}

// neverSent reports whether a transport error proves the request never reached the upstream:
// the connection was refused or never made (DNS, dial, proxy dial) or TLS failed, all before a
// byte of the request was written.
func neverSent(err error) bool {
	var dns *net.DNSError
	var op *net.OpError
	var cert *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var record tls.RecordHeaderError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED), errors.As(err, &dns):
		return true
	case errors.As(err, &op) && op.Op == "dial":
		return true
	case errors.As(err, &cert), errors.As(err, &unknownCA), errors.As(err, &hostname), errors.As(err, &record):
		return true
	}
	return false
}

// describe names a transport failure without internals (addresses, stack, Go types).
func describe(err error) string {
	var dns *net.DNSError
	var cert *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var record tls.RecordHeaderError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by the upstream"
	case errors.As(err, &dns):
		return "upstream host not found"
	case errors.As(err, &cert), errors.As(err, &unknownCA), errors.As(err, &hostname), errors.As(err, &record):
		return "TLS handshake with the upstream failed"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the upstream closed the connection before responding"
	default:
		return "could not reach the upstream"
	}
}

func isEventStream(contentType string) bool {
	return mediaTypeIs(contentType, "text/event-stream")
}

// isAWSEventStream reports AWS's binary event stream (Bedrock's invoke-with-response-stream
// and converse-stream): each message is flushed as it arrives, like an SSE event, even when
// the upstream declared a length.
func isAWSEventStream(contentType string) bool {
	return mediaTypeIs(contentType, "application/vnd.amazon.eventstream")
}

// mediaTypeIs reports whether contentType names media type want (lower case), as
// mime.ParseMediaType would read it, without parsing (and allocating) the parameters: these
// checks run several times per call. Unlike ParseMediaType it does not refuse the type for a
// malformed parameter list (a parameter repeated with two values).
func mediaTypeIs(contentType, want string) bool {
	base, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(base), want)
}
