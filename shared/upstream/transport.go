// Package upstream is the gateway's HTTP client to the providers: an http.RoundTripper that
// makes a plain HTTP/1.1 exchange (a request whose body is already in memory) in the calling
// goroutine, and hands every other request to a net/http Transport.
//
// Why: net/http's Transport runs two goroutines per connection and passes each request and
// response between them and the caller over channels. For a proxy whose own work per call is a
// few microseconds, those hand-offs are a large part of the cost: measured with `make bench` on
// a 2-core machine, the same gateway spent 111 µs of CPU per proxied call through the Transport
// and 85 µs through this path, and each open stream held two goroutine stacks and a write
// buffer more (README, "Round 3"). The protocol itself is still net/http's: requests are encoded by
// http.Request.Write and responses parsed by http.ReadResponse, so the bytes on the wire and
// the *http.Response returned are the ones the Transport would produce.
//
// What takes the fast path: http and https URLs with no proxy configured for them, a body that
// is absent or replayable (GetBody set: it is in memory) and of known length up to 64 KiB
// (maxDirectBody), and no "Expect: 100-continue" or Upgrade, under settings it implements
// (directSettings). Everything else (streamed or chunked uploads, which need the response to
// start before the upload ends; proxies; upgrades; settings such as DisableKeepAlives) goes to
// the Transport unchanged. https is spoken as HTTP/1.1 (ALPN "http/1.1"): the providers all
// serve it, and a Lambda environment makes one call at a time, so HTTP/2's multiplexing would
// buy nothing.
package upstream

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/http/httpguts"
)

// Transport is the round tripper. Its connection settings are read from HTTP at each call
// (DialContext, Proxy, TLSClientConfig, TLSHandshakeTimeout, ReadBufferSize,
// MaxIdleConnsPerHost, IdleConnTimeout, MaxResponseHeaderBytes), so a caller tunes one
// *http.Transport for both paths.
type Transport struct {
	HTTP *http.Transport // settings, and the round tripper for requests that cannot go direct

	mu   sync.Mutex
	idle map[poolKey][]*conn // the most recently used last

	// readers are response readers no connection holds: an idle connection gives its reader
	// back and the call that takes a connection gets one, so under load the calls in flight
	// share as many readers as they need, and the idle connections a burst leaves behind
	// (200 after 200 streams, kept for IdleConnTimeout) hold none; the GC frees the spare
	// readers when the pool goes unused.
	readers sync.Pool

	// settled runs the Transport's own one-time setup before the first TLS dial reads
	// HTTP.TLSClientConfig: that setup writes the field (HTTP/2's ALPN) at the Transport's
	// first use, which may be a streamed upload running at the same moment.
	settled sync.Once
}

// New returns a Transport over base's settings.
func New(base *http.Transport) *Transport { return &Transport{HTTP: base} }

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	direct, err := t.direct(req)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	if !direct {
		return t.HTTP.RoundTrip(req)
	}
	return t.exchange(req)
}

// CloseIdleConnections closes the idle connections of both paths.
func (t *Transport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	t.mu.Unlock()
	for _, conns := range idle {
		for _, c := range conns {
			c.close()
		}
	}
	t.HTTP.CloseIdleConnections()
}

// direct reports whether req can be exchanged in the calling goroutine.
func (t *Transport) direct(req *http.Request) (bool, error) {
	if req.URL == nil || (req.URL.Scheme != "http" && req.URL.Scheme != "https") || req.URL.Host == "" {
		return false, nil // the Transport says what is wrong with it
	}
	if !canProbe || !t.directSettings() {
		return false, nil
	}
	hasBody := req.Body != nil && req.Body != http.NoBody
	if hasBody && (req.GetBody == nil || req.ContentLength <= 0 || req.ContentLength > maxDirectBody) {
		return false, nil
	}
	if len(req.TransferEncoding) > 0 || req.Header.Get("Upgrade") != "" || strings.EqualFold(req.Header.Get("Expect"), "100-continue") {
		return false, nil
	}
	if !validRequest(req) {
		return false, nil // the Transport refuses it with its own error; Request.Write would not
	}
	if t.HTTP.Proxy != nil {
		u, err := t.HTTP.Proxy(req)
		if err != nil {
			return false, fmt.Errorf("proxy for %s: %w", req.URL.Host, err)
		}
		if u != nil {
			return false, nil
		}
	}
	return true, nil
}

// directSettings reports whether the settings are ones the direct path honours. The rest
// (custom TLS dialers, no keep-alives, transparent gzip, a response-header timeout, a cap on
// connections per host) send every call to the Transport, which implements them; NewTransport
// in shared/proxy sets none of them.
func (t *Transport) directSettings() bool {
	h := t.HTTP
	return h.DialTLSContext == nil && h.DialTLS == nil && h.Dial == nil && //nolint:staticcheck // honoured, not used
		!h.DisableKeepAlives && h.DisableCompression && h.ResponseHeaderTimeout == 0 && h.MaxConnsPerHost == 0
}

// validRequest applies the Transport's checks that http.Request.Write lacks: a method that is
// a token, and header names and values without control characters (Write would turn a CR or
// LF into a space; the Transport refuses the request, naming the field but not the value).
func validRequest(req *http.Request) bool {
	if req.Method != "" && !httpguts.ValidHeaderFieldName(req.Method) { // a method is a token too
		return false
	}
	for k, vv := range req.Header {
		if !httpguts.ValidHeaderFieldName(k) {
			return false
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				return false
			}
		}
	}
	return true
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// maxDirectBody is the largest body the direct path takes. It copies the request, head and
// body, into one buffer to send it in one write; a bigger body (a signed Bedrock body may be
// 32 MiB) goes to the Transport, which streams it from its reader instead of copying it.
const maxDirectBody = 64 << 10

// requestBuffers hold an encoded request until it is written; small requests are the case
// this path serves, so a buffer that grew past 128 KiB is left to the GC.
var requestBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// exchange writes req on a pooled or new connection and reads the response head.
func (t *Transport) exchange(req *http.Request) (*http.Response, error) {
	// A call already cancelled sends nothing, as with the Transport. Without this check the
	// request went out on a pooled connection before the cancel hook (run in a goroutine of
	// its own by context.AfterFunc) could set the deadline: the upstream got, and billed for,
	// a request whose caller had left.
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		closeBody(req)
		return nil, err
	}
	buf := requestBuffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 128<<10 {
			buf.Reset()
			requestBuffers.Put(buf)
		}
	}()
	buf.Reset()
	// Encoded whole first: headers and body leave in one write, and the same bytes can be
	// sent again on a new connection if a pooled one turns out to be dead. Encoded without the
	// caller's context, whose trace hooks (WroteHeaders) must fire when the bytes go, not now.
	if err := req.WithContext(context.Background()).Write(buf); err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	key := poolKey{req.URL.Scheme, req.URL.Host}
	for attempt := 0; ; attempt++ {
		c, err := t.get(ctx, req, key, attempt > 0)
		if err != nil {
			return nil, err
		}
		resp, err := c.exchange(ctx, req, buf.Bytes())
		if err == nil {
			return resp, nil
		}
		if attempt == 0 && c.reused && retryable(req, err) && ctx.Err() == nil {
			continue
		}
		return nil, err
	}
}

// retryable reports whether a request that failed on a reused connection may be sent again on
// a new one, by net/http's rule: when none of it was written, or when the connection broke
// before any answer and the request is safe to repeat (GetBody makes it replayable; the
// method or an Idempotency-Key makes repeating it harmless).
func retryable(req *http.Request, err error) bool {
	var nw nothingWritten
	if errors.As(err, &nw) {
		return true
	}
	var broken noAnswer
	if !errors.As(err, &broken) {
		return false
	}
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return req.Header.Get("Idempotency-Key") != "" || req.Header.Get("X-Idempotency-Key") != ""
}

// nothingWritten is a write that failed before a byte of the request left.
type nothingWritten struct{ error }

func (e nothingWritten) Unwrap() error { return e.error }

// noAnswer is a connection that closed or reset before a byte of the response arrived.
type noAnswer struct{ error }

func (e noAnswer) Unwrap() error { return e.error }

// poolKey names the connections that may carry a request: its scheme and host as the URL has
// them (building a string key would cost two allocations per call; "h" and "h:443" simply
// pool apart).
type poolKey struct{ scheme, host string }

// hostPort is the address to dial: the URL's host with the scheme's port when it names none.
func hostPort(req *http.Request) string {
	host, port := req.URL.Hostname(), req.URL.Port()
	if port == "" {
		port = "80"
		if req.URL.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(host, port)
}

// get returns a live idle connection for key, or dials one (fresh: always dial).
func (t *Transport) get(ctx context.Context, req *http.Request, key poolKey, fresh bool) (*conn, error) {
	for !fresh {
		c := t.takeIdle(key)
		if c == nil {
			break
		}
		// The reader before the probe: alive reads a TLS connection through it (quiet).
		c.br = t.reader(c)
		if !t.tooOld(c) && c.alive() { // the clock first: it costs no system call
			return c, nil
		}
		t.putReader(c)
		c.close()
	}
	return t.dial(ctx, req, key)
}

func (t *Transport) takeIdle(key poolKey) *conn {
	t.mu.Lock()
	defer t.mu.Unlock()
	conns := t.idle[key]
	if len(conns) == 0 {
		return nil
	}
	c := conns[len(conns)-1]
	conns[len(conns)-1] = nil
	t.idle[key] = conns[:len(conns)-1]
	if c.idleTimer != nil {
		c.idleTimer.Stop() // if it fired, closeIfIdle finds c gone from the list and leaves it
	}
	c.reused = true
	return c
}

// tooOld reports whether c has been idle for longer than IdleConnTimeout by the wall clock.
// Its timer runs on the monotonic clock, which may not advance while a Lambda environment is
// frozen or a laptop sleeps (net/http checks the same, for the same reason).
func (t *Transport) tooOld(c *conn) bool {
	d := t.HTTP.IdleConnTimeout
	return d > 0 && time.Now().Round(0).Sub(c.idleAt) > d
}

// putIdle keeps c for the next call to its host, unless the host already has as many idle
// connections as the settings allow, or c is not a socket the liveness probe can read (a
// wrapped connection from a custom dialer): reused blind, a closed one would fail a POST.
func (t *Transport) putIdle(c *conn) {
	max := t.HTTP.MaxIdleConnsPerHost
	if max == 0 { // as the Transport reads it: a negative value pools nothing
		max = http.DefaultMaxIdleConnsPerHost
	}
	if c.raw == nil {
		c.close()
		return
	}
	c.idleAt = time.Now().Round(0) // the wall clock (tooOld)
	t.mu.Lock()
	if t.idle == nil {
		t.idle = make(map[poolKey][]*conn)
	}
	if len(t.idle[c.key]) >= max {
		t.mu.Unlock()
		c.close()
		return
	}
	t.putReader(c)
	t.idle[c.key] = append(t.idle[c.key], c)
	if d := t.HTTP.IdleConnTimeout; d > 0 {
		if c.idleTimer == nil {
			c.idleTimer = time.AfterFunc(d, func() { t.closeIfIdle(c) })
		} else {
			c.idleTimer.Reset(d)
		}
	}
	t.mu.Unlock()
}

// closeIfIdle closes c when it has been idle for IdleConnTimeout, unless a call took it.
func (t *Transport) closeIfIdle(c *conn) {
	t.mu.Lock()
	conns := t.idle[c.key]
	i := -1
	for j, x := range conns {
		if x == c {
			i = j
			break
		}
	}
	if i >= 0 {
		t.idle[c.key] = slices.Delete(conns, i, i+1) // clears the freed slot, as takeIdle does
	}
	t.mu.Unlock()
	if i >= 0 {
		c.close()
	}
}

// dial opens a connection with the settings' dialer, and TLS for https.
func (t *Transport) dial(ctx context.Context, req *http.Request, key poolKey) (*conn, error) {
	dial := t.HTTP.DialContext
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	nc, err := dial(ctx, "tcp", hostPort(req))
	if err != nil {
		return nil, err
	}
	c := &conn{Conn: nc, key: key, t: t}
	if req.URL.Scheme == "https" {
		tc, err := t.handshake(ctx, nc, req.URL.Hostname())
		if err != nil {
			_ = nc.Close()
			return nil, err
		}
		state := tc.ConnectionState()
		c.Conn, c.tls = tc, &state
	}
	if sc, ok := nc.(syscall.Conn); ok {
		c.raw, _ = sc.SyscallConn()
	}
	c.br = t.reader(c)
	return c, nil
}

// reader returns a response reader for c of the settings' size (4 KiB by default), one an idle
// connection gave back when there is one.
func (t *Transport) reader(c *conn) *bufio.Reader {
	size := t.HTTP.ReadBufferSize
	if size <= 0 {
		size = 4 << 10
	}
	if br, ok := t.readers.Get().(*bufio.Reader); ok && br.Size() == size {
		br.Reset(headerLimitReader{c})
		return br
	}
	return bufio.NewReaderSize(headerLimitReader{c}, size)
}

// putReader takes c's reader for the next connection that needs one. The reader is detached
// from c first: what it still buffers is dropped (finish pools only connections with nothing
// buffered; a connection the probe rejected is being closed), and a spare reader in the pool
// does not keep a closed connection in memory.
func (t *Transport) putReader(c *conn) {
	c.br.Reset(nil)
	t.readers.Put(c.br)
	c.br = nil
}

func (t *Transport) handshake(ctx context.Context, nc net.Conn, host string) (*tls.Conn, error) {
	t.settled.Do(t.HTTP.CloseIdleConnections) // runs the Transport's setup, which writes TLSClientConfig
	cfg := &tls.Config{}
	if t.HTTP.TLSClientConfig != nil {
		cfg = t.HTTP.TLSClientConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	cfg.NextProtos = []string{"http/1.1"}
	if d := t.HTTP.TLSHandshakeTimeout; d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, err
	}
	return tc, nil
}
