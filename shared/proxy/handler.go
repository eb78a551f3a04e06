// Package proxy is the pass-through pipeline: one http.Handler that matches a configured route,
// checks the gateway key, swaps it for the provider credential, and streams the request to the
// route's fixed upstream and the answer back, unchanged. Everything outside the pipeline (where
// routes, secrets and keys come from, where usage records go) is a small interface declared here.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/passthru/gateway/shared/apierror"
	"github.com/passthru/gateway/shared/auth"
	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/ratelimit"
	"github.com/passthru/gateway/shared/route"
	"github.com/passthru/gateway/shared/secrets"
	"github.com/passthru/gateway/shared/usage"
)

// RouteSource supplies the current route table. A *route.Table is its own static source.
type RouteSource interface {
	Table(ctx context.Context) (*route.Table, error)
}

// KeyVerifier checks a gateway key and says whose it is.
type KeyVerifier interface {
	Verify(ctx context.Context, key string) (auth.Principal, error)
}

// secretPrefetcher is a resolver that can load a route's secrets in one call (Secrets Manager's
// batch read) before they are resolved one by one.
type secretPrefetcher interface {
	Prefetch(ctx context.Context, refs []string)
}

// secretInvalidator is a resolver that caches: the proxy drops a route's secrets when its
// upstream rejects them, so a rotated key is fetched on the next call. It reports whether it
// dropped anything (it may refuse, to bound refetches).
type secretInvalidator interface {
	Invalidate(refs ...string) bool
}

// UsageSink receives one record per call, after the last byte went to the client.
type UsageSink interface {
	Record(ctx context.Context, r usage.Record)
}

// Handler serves pass-through routes. Create it with New; it is safe for concurrent use.
type Handler struct {
	routes    RouteSource
	keys      KeyVerifier
	secrets   secrets.Resolver
	usage     UsageSink
	transport http.RoundTripper
	log       *slog.Logger
	debug     bool
	meter     MeterFunc
	pricer    Pricer
	guards    *guardBuilder

	limiter         RateLimiter
	limiterFailOpen bool
	limiterDown     atomic.Bool // an outage is in progress (logged once)
	keysDown        atomic.Bool // the key store is failing (logged once)
}

// Option configures a Handler.
type Option func(*Handler)

// WithKeys sets the key verifier (default: none configured, so keyed routes answer 401).
func WithKeys(k KeyVerifier) Option { return func(h *Handler) { h.keys = k } }

// WithSecrets sets the resolver for os.environ/ references (default: the environment).
func WithSecrets(r secrets.Resolver) Option { return func(h *Handler) { h.secrets = r } }

// WithUsage sets the usage sink (default: discard).
func WithUsage(s UsageSink) Option { return func(h *Handler) { h.usage = s } }

// WithTransport sets the upstream round tripper (default: NewTransport()).
func WithTransport(t http.RoundTripper) Option { return func(h *Handler) { h.transport = t } }

// WithLogger sets the logger (default: slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(h *Handler) { h.log = l } }

// WithDetailedDebug logs every client request and upstream exchange at debug level, with
// credentials redacted (the seeds' `--detailed_debug`).
func WithDetailedDebug(on bool) Option { return func(h *Handler) { h.debug = on } }

// New returns a handler serving the routes from src.
func New(src RouteSource, opts ...Option) *Handler {
	h := &Handler{
		routes:  src,
		keys:    auth.NewMasterKey(""),
		secrets: secrets.Env{},
		usage:   usage.Discard{},
		log:     slog.Default(),
		guards:  &guardBuilder{},
	}
	for _, o := range opts {
		o(h)
	}
	if h.transport == nil {
		h.transport = NewTransport()
	}
	return h
}

// CallIDHeader carries the id of the call; usage records use the same id.
const CallIDHeader = "X-Litellm-Call-Id"

// call is the state of one request, from which its usage record is made.
type call struct {
	id           string
	start        time.Time
	method       string
	route        *route.Route
	principal    auth.Principal
	tags         []string
	upstream     string
	status       int
	headerSent   bool
	ttfb         time.Duration
	in           *countingBody
	meter        Meter
	upstreamCost *float64            // from the upstream's x-litellm-response-cost
	rate         *ratelimit.Decision // the caller's rate limit, echoed on the response
	bytesOut     int64
	streamed     bool
	sent         atomic.Bool // the request's headers went out on a connection (from the transport)
	noCall       bool        // the upstream provably never got the request (refused, DNS, TLS)
	unanswered   bool        // the upstream got the request and sent no response
	errClass     string
	partial      bool
	callerCreds  bool      // the caller's own provider credential stands in for the route's
	redact       redaction // values detailed-debug logs must hide: the keys, the route's secrets
	info         RequestInfo
	sourceIP     string
	guard        *guardCall   // the call's guardrails (nil: none)
	base, log    *slog.Logger // log is base with the request's ids, made on first use
}

func (c *call) logger() *slog.Logger {
	if c.log == nil {
		c.log = c.base
		if c.info != (RequestInfo{}) {
			c.log = c.base.With("request_id", c.info.RequestID, "lambda_request_id", c.info.LambdaRequestID, "source_ip", c.info.SourceIP)
		}
	}
	return c.log
}

// RequestInfo is what an entry point knows about a request beyond net/http: the platform's
// request ids and the caller's address. It goes into logs and usage records.
type RequestInfo struct {
	RequestID       string // the API Gateway / Function URL request id the client sees
	LambdaRequestID string // the invocation's id in the Lambda logs
	SourceIP        string
}

type requestInfoKey struct{}

// WithRequestInfo attaches info to a request context.
func WithRequestInfo(ctx context.Context, info RequestInfo) context.Context {
	return context.WithValue(ctx, requestInfoKey{}, info)
}

// newCall starts the state of one request, with the ids the entry point supplied, if any.
func (h *Handler) newCall(r *http.Request) *call {
	c := &call{id: uuid.NewString(), start: time.Now(), method: r.Method, base: h.log}
	c.info, _ = r.Context().Value(requestInfoKey{}).(RequestInfo)
	if c.info.SourceIP == "" { // served directly (local): the TCP peer is the source
		if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			c.sourceIP = host
		}
	} else {
		c.sourceIP = c.info.SourceIP
	}
	return c
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := h.newCall(r)
	w.Header().Set(CallIDHeader, c.id)
	defer func() {
		abort := false
		if p := recover(); p != nil {
			abort = h.recovered(w, r, c, p)
		}
		c.settle(w, abort)
		c.countRefusedBody(r)
		h.usage.Record(context.WithoutCancel(r.Context()), c.record(h.pricer))
		if abort {
			// Headers are out: the only honest signal left is to cut the response, which the
			// server turns into a truncated (unterminated) body.
			panic(http.ErrAbortHandler)
		}
	}()
	h.serve(w, r, c)
}

// recovered turns a panic into a 500 when nothing was sent yet, and reports whether the
// response must instead be aborted.
func (h *Handler) recovered(w http.ResponseWriter, r *http.Request, c *call, p any) (abort bool) {
	if p != http.ErrAbortHandler {
		c.logger().Error("panic while serving", "call_id", c.id, "path", r.URL.Path, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		c.errClass = "internal"
	}
	if c.headerSent {
		c.partial = true
		return true
	}
	c.fail(w, http.StatusInternalServerError, apierror.TypeInternal, "Internal server error.", "internal")
	return false
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, c *call) {
	ctx := r.Context()
	table, err := h.routes.Table(ctx)
	if err != nil {
		c.logger().Error("route table unavailable", "call_id", c.id, "error", err)
		c.fail(w, http.StatusServiceUnavailable, apierror.TypeUnavailable, "The gateway's route table is unavailable; try again shortly.", "routes")
		return
	}
	// Look up and join on the resolved path, so that the route chosen is the one whose upstream
	// URL is called (see route.NormalizePath).
	reqPath, err := route.NormalizePath(r.URL)
	if err != nil {
		c.fail(w, http.StatusBadRequest, apierror.TypeInvalidRequest, "Invalid request URL: "+err.Error(), "bad_request")
		return
	}
	m := table.Lookup(r.Method, reqPath.Path)
	if m.Route == nil {
		if !c.answerOptions(w, r, table.CORS, &m) {
			h.unmatched(withCORS(w, r, table.CORS), r, c, m)
		}
		return
	}
	w = withCORS(w, r, table.CORS) // every answer from here on, gateway errors included
	rt := m.Route
	c.route = rt
	w = adapting(w, c) // adapter routes answer in their client's API shape (adapter.go)
	if c.refuseUpgrade(w, r) {
		return
	}
	c.tags = parseTags(r.Header.Values("X-Litellm-Tags"))
	found := foundKey{}
	found.key, found.carrier, found.err = auth.Extract(r.Header, keyOptions(r, rt))
	own, ownErr := h.ownKeys(ctx, r, rt)
	if h.debug {
		c.redact = h.debugSecrets(ctx, rt, own, found.key)
		h.logClientRequest(r, c)
	}
	key, carrier, ok := h.authenticate(w, r, c, found)
	if !ok || (rt.Auth != config.AuthPublic && !h.admit(w, r, c)) || routeOff(w, c) {
		return
	}
	if ownErr != nil { // the master key is unknown, so it could not be kept from the upstream
		h.keysUnavailable(w, r, c, ownErr)
		return
	}
	own = h.withQueryKeys(ctx, r.URL.RawQuery, own.With(key))
	if p, ok := h.secrets.(secretPrefetcher); ok {
		if names := rt.SecretNames(); len(names) > 0 {
			p.Prefetch(ctx, names)
		}
	}
	if aw, ok := w.(*adaptWriter); ok {
		// The guardrails read the client's (Anthropic-shaped) request, as the route's fields name it.
		if h.selectGuards(table, c, key); !h.guardRequest(aw, r, c, nil) {
			return
		}
		h.adapt(aw, r, c, own, carrier)
		return
	}
	u, err := rt.UpstreamURLContext(ctx, h.secrets, route.RawSubpath(reqPath, m.Subpath), withoutOwnKeys(r.URL.RawQuery, own))
	if err != nil {
		if se := (*route.SecretError)(nil); errors.As(err, &se) {
			h.credentialFailed(w, c, se.Err)
			return
		}
		c.fail(w, http.StatusBadRequest, apierror.TypeInvalidRequest, "Invalid request URL: "+err.Error(), "bad_request")
		return
	}
	out, callerCreds, err := h.upstreamHeader(ctx, r, rt, own, carrier, u.Path)
	if err != nil {
		h.credentialFailed(w, c, err)
		return
	}
	c.callerCreds = callerCreds
	if h.selectGuards(table, c, key); !h.guardRequest(w, r, c, out) {
		return
	}
	h.forward(w, r, c, u, out)
}

// foundKey is what auth.Extract found in the request, before anything was verified.
type foundKey struct {
	key, carrier string
	err          error
}

func (h *Handler) unmatched(w http.ResponseWriter, r *http.Request, c *call, m route.Match) {
	path := truncate(r.URL.Path, 200)
	if len(m.Allowed) > 0 {
		w.Header().Set("Allow", strings.Join(m.Allowed, ", "))
		c.fail(w, http.StatusMethodNotAllowed, apierror.TypeMethodNotAllowed,
			fmt.Sprintf("Method %s is not allowed for pass-through endpoint %s.", truncate(r.Method, 20), path), "method")
		return
	}
	if m.Invalid { // stored but rejected: point the operator at the log, which says why
		c.fail(w, http.StatusNotFound, apierror.TypeNotFound, fmt.Sprintf("Pass-through endpoint %s exists but its configuration is invalid, so it is not served; the gateway's log names the parameter and the reason.", path), "not_found")
		return
	}
	c.fail(w, http.StatusNotFound, apierror.TypeNotFound, fmt.Sprintf("Pass-through endpoint %s not found.", path), "not_found")
}

// authenticate applies the route's auth mode. It returns the verified gateway key and the
// header that carried it, so neither goes upstream, or answers the request itself and returns
// ok=false. On a public route a key is not required; a key that verifies, one that looks like a
// virtual key (sk-gw-), and one that could not be checked are all kept from the upstream; only a
// key the gateway positively does not know is the caller's own credential and passes.
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request, c *call, f foundKey) (key, carrier string, ok bool) {
	rt := c.route
	if rt.Auth == config.AuthPublic {
		if f.err != nil {
			return "", "", true
		}
		p, err := h.keys.Verify(r.Context(), f.key)
		switch {
		case err == nil:
			c.principal = p
		case errors.Is(err, auth.ErrInvalidKey) && !errors.Is(err, auth.ErrInactiveKey) && !strings.HasPrefix(f.key, auth.VirtualKeyPrefix):
			return "", "", true
		}
		return f.key, f.carrier, true
	}
	err := f.err
	if err == nil {
		c.principal, err = h.keys.Verify(r.Context(), f.key)
	}
	if err != nil {
		if !isAuthError(err) {
			h.keysUnavailable(w, r, c, err)
			return "", "", false
		}
		c.fail(w, http.StatusUnauthorized, apierror.TypeAuth, err.Error(), "auth")
		return "", "", false
	}
	if h.keysDown.CompareAndSwap(true, false) {
		c.logger().Info("key verification is available again")
	}
	if rt.Auth == config.AuthGranted && !c.principal.CanCall(rt.Path) {
		c.fail(w, http.StatusForbidden, apierror.TypePermission,
			fmt.Sprintf("Virtual key is not allowed to call this route. Route=%s.", rt.Path), "auth")
		return "", "", false
	}
	return f.key, f.carrier, true
}

// keysUnavailable answers 503 when a key cannot be checked, logging the outage once.
func (h *Handler) keysUnavailable(w http.ResponseWriter, r *http.Request, c *call, err error) {
	if r.Context().Err() == nil && h.keysDown.CompareAndSwap(false, true) {
		c.logger().Error("key verification is unavailable", "call_id", c.id, "error", err)
	}
	c.fail(w, http.StatusServiceUnavailable, apierror.TypeUnavailable, "Key verification is unavailable; try again shortly.", "auth")
}

func isAuthError(err error) bool {
	return errors.Is(err, auth.ErrNoKey) || errors.Is(err, auth.ErrMalformedKey) ||
		errors.Is(err, auth.ErrInvalidKey) || errors.Is(err, auth.ErrNoMasterKey)
}

func (h *Handler) secretFailed(w http.ResponseWriter, c *call, err error) {
	var nf *secrets.NotFoundError
	if errors.As(err, &nf) {
		c.logger().Error("secret missing", "call_id", c.id, "route", c.route.Path, "secret", nf.Name)
		c.fail(w, http.StatusServiceUnavailable, apierror.TypeUnavailable,
			fmt.Sprintf("The provider credential for this route is unavailable: secret %q is not set.", nf.Name), "secret")
		return
	}
	c.logger().Error("secret lookup failed", "call_id", c.id, "route", c.route.Path, "error", err)
	c.fail(w, http.StatusServiceUnavailable, apierror.TypeUnavailable, "The provider credential for this route is unavailable; try again shortly.", "secret")
}

// fail answers the request with a LiteLLM error; its body counts in bytes_out.
func (c *call) fail(w http.ResponseWriter, status int, typ, msg, class string) {
	c.status, c.errClass, c.headerSent = status, class, true
	cw := &countingWriter{ResponseWriter: w}
	apierror.Write(cw, status, typ, msg)
	c.bytesOut += cw.n
}

// countingWriter counts the body bytes written through it.
type countingWriter struct {
	http.ResponseWriter
	n int64
}

func (w *countingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

// refusedBodyLimit is what is read of a body the gateway refused without forwarding: the
// amount net/http's server discards anyway after a handler to keep the connection
// (maxPostHandlerReadBytes), so reading it here costs nothing more and bytes_in says what
// arrived.
const refusedBodyLimit = 256 << 10

// countRefusedBody reads (and discards) up to refusedBodyLimit of the body of a request
// that was answered without being forwarded, so bytes_in counts what the gateway received.
// A client that waits for "100 Continue" has sent nothing and is not asked to.
func (c *call) countRefusedBody(r *http.Request) {
	if c.in != nil || r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 ||
		strings.EqualFold(r.Header.Get("Expect"), "100-continue") {
		return
	}
	c.in = &countingBody{rc: r.Body, progress: func() {}}
	_, _ = io.CopyN(io.Discard, c.in, refusedBodyLimit)
}

func (c *call) record(pricer Pricer) usage.Record {
	rec := usage.Record{
		SchemaVersion: usage.SchemaVersion,
		CallID:        c.id,
		RequestID:     c.info.RequestID,
		SourceIP:      c.sourceIP,
		Time:          c.start.UTC(),
		Method:        c.method,
		UpstreamHost:  c.upstream,
		Status:        c.status,
		LatencyMS:     ms(time.Since(c.start)),
		TTFBMS:        ms(c.ttfb),
		Streamed:      c.streamed,
		BytesOut:      c.bytesOut,
		KeyAlias:      c.principal.Alias,
		KeyMetadata:   c.principal.Metadata,
		Tags:          c.tags,
		ErrorClass:    c.errClass,
		Partial:       c.partial,
	}
	if c.guard != nil {
		c.guard.mu.Lock()
		rec.Guardrails = slices.Clone(c.guard.results)
		c.guard.mu.Unlock()
	}
	if c.in != nil {
		rec.BytesIn = c.in.sent(c.sent.Load())
	}
	if c.meter != nil {
		rec.Tokens = c.meter.Tokens()
	}
	if c.route == nil {
		zero := 0.0 // no route matched: nothing was called
		rec.CostUSD, rec.CostSource = &zero, usage.CostNoUpstreamCall
		return rec
	}
	rec.Route = c.route.Path
	if c.route.Provider != "" { // the operator knows who serves a compatible endpoint
		rec.Provider = c.route.Provider
	}
	rec.Tags = slices.Concat(c.route.Tags, c.principal.Tags, rec.Tags)
	c.settleCost(&rec, pricer)
	return rec
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// parseTags reads `x-litellm-tags: a, b` (possibly repeated) into at most 32 tags.
func parseTags(values []string) []string {
	var tags []string
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			if t = strings.TrimSpace(t); t != "" && len(tags) < 32 {
				tags = append(tags, truncate(t, 128))
			}
		}
	}
	return tags
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
