package proxy

// Guardrails on a call (LiteLLM's pass-through guardrails): which ones run, pre_call before the
// upstream call, during_call beside it (the response is held until it passes), post_call on the
// response. The checkers come from package guardrail; this file decides when they run, what
// text they see, and what the client gets.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/passthru/gateway/shared/apierror"
	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/guardrail"
	"github.com/passthru/gateway/shared/route"
	"github.com/passthru/gateway/shared/usage"
)

// maxGuardBody bounds a body read whole for a guardrail (request, or non-streamed response).
// Lambda's payload limit is 6 MB; a local gateway gets more room, never an unbounded read.
const maxGuardBody = route.MaxSignedBody

// WithGuardrails sets what the guardrails' checkers need from outside (default: nothing; the
// content filter needs nothing, a Bedrock guardrail then cannot run and fails its calls closed).
func WithGuardrails(deps guardrail.Deps) Option {
	return func(h *Handler) { h.guards = &guardBuilder{deps: deps} }
}

// guardBuilder builds the checkers of a route table once, and again when the table changes.
type guardBuilder struct {
	deps guardrail.Deps
	mu   sync.Mutex
	last *route.Table
	set  map[string]*guardEntry
}

// guardEntry is one defined guardrail: its checker, or why it could not be built.
type guardEntry struct {
	def   config.GuardrailDef
	check guardrail.Checker
	err   error
}

func (b *guardBuilder) forTable(t *route.Table, log *slog.Logger) map[string]*guardEntry {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.last == t {
		return b.set
	}
	set := make(map[string]*guardEntry, len(t.Guardrails))
	for _, d := range t.Guardrails {
		c, err := guardrail.New(guardrail.Def{Name: d.Name, Kind: d.Kind, Modes: d.Modes, DefaultOn: d.DefaultOn, Params: d.Params}, b.deps)
		set[d.Name] = &guardEntry{def: d, check: c, err: err}
		if err != nil { // once per table: every call naming it answers 503
			log.Error("guardrail cannot run; calls that use it fail closed", "guardrail", d.Name, "error", err)
		}
	}
	b.last, b.set = t, set
	return set
}

// activeGuard is a guardrail that runs on this call, with the fields it reads.
type activeGuard struct {
	name      string
	entry     *guardEntry // nil: not defined
	req, resp []guardrail.Expr
}

// has reports whether the guardrail runs in mode; one that is undefined or could not be built
// "runs" at pre_call, where it fails the call closed.
func (g *activeGuard) has(mode string) bool {
	return g.entry == nil || g.entry.err != nil || hasMode(g.entry.def.Modes, mode)
}

func hasMode(modes []string, m string) bool {
	for _, x := range modes {
		if x == m {
			return true
		}
	}
	return false
}

// guardCall is the guardrail state of one call.
type guardCall struct {
	guards  []activeGuard
	keyHash string
	mu      sync.Mutex
	results []usage.GuardrailResult
	during  chan guardOutcome // nil: no during_call guardrail runs
}

// guardOutcome is what a guardrail phase decided: nothing (zero), a block, or an error.
type guardOutcome struct {
	name, reason string
	blocked      bool
	err          error
}

func (g *guardCall) record(name, mode string, action guardrail.Action, reason string, d time.Duration) {
	g.mu.Lock()
	g.results = append(g.results, usage.GuardrailResult{Name: name, Mode: mode, Action: string(action), Reason: reason, LatencyMS: ms(d)})
	g.mu.Unlock()
}

// selectGuards lists the guardrails of a call: the route's (a built-in route's come from
// general_settings.provider_route_guardrails), then those the key's metadata names.
func (h *Handler) selectGuards(t *route.Table, c *call, key string) {
	rt := c.route
	named := rt.Guardrails
	if rt.Builtin != nil {
		named = t.ProviderGuardrails[rt.Provider]
	}
	keyNames := config.KeyGuardrails(c.principal.Metadata)
	if len(named) == 0 && len(keyNames) == 0 {
		return
	}
	var set map[string]*guardEntry
	if h.guards != nil {
		set = h.guards.forTable(t, h.log)
	}
	g := &guardCall{}
	if key != "" {
		sum := sha256.Sum256([]byte(key))
		g.keyHash = hex.EncodeToString(sum[:])
	}
	seen := map[string]bool{}
	add := func(cg config.Guardrail) {
		if seen[cg.Name] {
			return
		}
		seen[cg.Name] = true
		a := activeGuard{name: cg.Name, entry: set[cg.Name]}
		for _, f := range cg.RequestFields {
			if e, err := guardrail.ParseExpr(f); err == nil { // config validated them
				a.req = append(a.req, e)
			}
		}
		for _, f := range cg.ResponseFields {
			if e, err := guardrail.ParseExpr(f); err == nil {
				a.resp = append(a.resp, e)
			}
		}
		g.guards = append(g.guards, a)
	}
	for _, cg := range named {
		add(cg)
	}
	for _, n := range keyNames {
		add(config.Guardrail{Name: n})
	}
	c.guard = g
}

// runGuard runs one guardrail over a body and returns the verdict and the body after a mask.
// A body it cannot read is a *guardBodyError, recorded; a call whose fields select nothing is
// recorded skipped (no_fields_matched), except per event of a stream (perEvent), where most
// events carry no text.
func (h *Handler) runGuard(ctx context.Context, c *call, g *activeGuard, mode string, src guardrail.Source, body []byte, perEvent bool) (guardrail.Verdict, []byte, error) {
	if g.entry == nil {
		return guardrail.Verdict{}, body, fmt.Errorf("guardrail %q is not defined", g.name)
	}
	if g.entry.err != nil {
		return guardrail.Verdict{}, body, g.entry.err
	}
	in, berr := guardTexts(body, g.exprs(src), string(src), g.name)
	if berr != nil {
		action := guardrail.Block // the client's body: refused
		if src == guardrail.Response {
			action = "error" // the upstream's: the guardrail could not decide
		}
		c.guard.record(g.name, mode, action, berr.reason, 0)
		return guardrail.Verdict{}, body, berr
	}
	return h.checkGuard(ctx, c, g, mode, src, body, in, perEvent)
}

// exprs are the field expressions the guardrail reads in src.
func (g *activeGuard) exprs(src guardrail.Source) []guardrail.Expr {
	if src == guardrail.Response {
		return g.resp
	}
	return g.req
}

// checkGuard is runGuard once the body's texts are read (in).
func (h *Handler) checkGuard(ctx context.Context, c *call, g *activeGuard, mode string, src guardrail.Source, body []byte, in guardInput, perEvent bool) (guardrail.Verdict, []byte, error) {
	if len(in.texts) == 0 {
		if len(g.exprs(src)) > 0 && len(body) > 0 && !perEvent {
			c.guard.record(g.name, mode, "skipped", "no_fields_matched", 0)
		}
		return guardrail.Verdict{Action: guardrail.Allow}, body, nil // nothing to read: not run
	}
	start := time.Now()
	v, err := g.entry.check.Check(ctx, guardrail.Input{Source: src, Texts: in.texts, CallID: c.id, KeyHash: c.guard.keyHash, Route: c.route.Path})
	if err == nil && v.Action == guardrail.Mask && len(v.Texts) != len(in.texts) {
		err = fmt.Errorf("guardrail %q masked %d texts of %d", g.name, len(v.Texts), len(in.texts))
	}
	if err != nil {
		c.guard.record(g.name, mode, "error", "", time.Since(start))
		return v, body, err
	}
	c.guard.record(g.name, mode, v.Action, v.Reason, time.Since(start))
	if v.Action == guardrail.Mask {
		if in.raw {
			body = []byte(v.Texts[0])
		} else {
			body = guardrail.Replace(body, in.fields, v.Texts)
		}
	}
	return v, body, nil
}

// guardRequest runs the pre_call guardrails (a mask rewrites the body that goes upstream) and
// starts the during_call ones. A compressed body is decoded for them; it goes upstream as sent
// unless a mask changed it (or an adapter route translates it): then decoded, its
// Content-Encoding removed from the request and from out (the upstream headers, nil when not
// built yet). It answers the request itself and returns false on a block or an error.
func (h *Handler) guardRequest(w http.ResponseWriter, r *http.Request, c *call, out http.Header) bool {
	pre, during := c.guard.requestGuards()
	if len(pre) == 0 && len(during) == 0 {
		return true
	}
	sent, err := readGuardBody(r)
	// bytes_in counts what arrived, also when the call stops here (forward counts what it sends).
	c.in = &countingBody{rc: http.NoBody, progress: func() {}}
	c.in.n.Store(int64(len(sent)))
	if err != nil {
		h.guardReadFailed(w, r, c, err)
		return false
	}
	first, firstMode := firstGuard(pre, during) // the guardrail a refusal names, in its mode
	body, codings := sent, requestCodings(r.Header)
	if len(codings) > 0 && len(sent) > 0 { // an empty body is empty in any coding
		if body, err = decodeRequestBody(sent, codings, first.name); err != nil {
			h.guardStopped(w, c, first, firstMode, err)
			return false
		}
	}
	masked := false
	for _, a := range pre {
		v, next, err := h.runGuard(r.Context(), c, a, guardrail.PreCall, guardrail.Request, body, false)
		if err != nil {
			h.guardStopped(w, c, a, "", err)
			return false
		}
		if v.Action == guardrail.Block {
			h.guardBlocked(w, c, a.name, v.Reason)
			return false
		}
		body, masked = next, masked || v.Action == guardrail.Mask
	}
	ins := make([]guardInput, len(during)) // read here, checked beside the upstream call
	for i, a := range during {
		in, berr := guardTexts(body, a.req, string(guardrail.Request), a.name)
		if berr != nil { // a body it cannot read is refused before it goes upstream
			h.guardStopped(w, c, a, guardrail.DuringCall, berr)
			return false
		}
		ins[i] = in
	}
	if len(during) > 0 {
		c.guard.during = make(chan guardOutcome, 1)
		go h.runDuring(context.WithoutCancel(r.Context()), c, during, body, ins)
	}
	setGuardedBody(r, out, sent, body, len(codings) > 0 && !masked && c.route.Adapter == nil)
	return true
}

// setGuardedBody sets the body that goes upstream after the request guardrails: the bytes as
// sent when asSent (a compressed body nothing masked), else the checked body, which is decoded
// when it was compressed: its Content-Encoding goes from the request and from out.
func setGuardedBody(r *http.Request, out http.Header, sent, checked []byte, asSent bool) {
	body := checked
	if asSent {
		body = sent
	} else if r.Header.Get("Content-Encoding") != "" {
		r.Header.Del("Content-Encoding")
		if out != nil {
			out.Del("Content-Encoding")
		}
	}
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	if len(body) == 0 {
		r.Body = http.NoBody
	}
}

// requestGuards lists the guardrails that read the request: pre_call (an undefined or broken
// one too, to fail the call closed) and during_call.
func (g *guardCall) requestGuards() (pre, during []*activeGuard) {
	if g == nil {
		return nil, nil
	}
	for i := range g.guards {
		a := &g.guards[i]
		if a.has(guardrail.PreCall) {
			pre = append(pre, a)
		}
		if a.entry != nil && a.entry.err == nil && hasMode(a.entry.def.Modes, guardrail.DuringCall) {
			during = append(during, a)
		}
	}
	return pre, during
}

// guardStopped answers a request guardrail that did not let the call through for want of a
// readable body (a *guardBodyError: its status, recorded as blocked unless record is "") or
// because it failed (503).
func (h *Handler) guardStopped(w http.ResponseWriter, c *call, a *activeGuard, record string, err error) {
	var be *guardBodyError
	if !errors.As(err, &be) {
		h.guardFailed(w, c, a.name, err)
		return
	}
	class := "guardrail_blocked"
	if be.reason == "" {
		class = "guardrail" // too large to read: no decision of the guardrail's
	} else if record != "" {
		c.guard.record(a.name, record, guardrail.Block, be.reason, 0)
	}
	c.logger().Info("guardrail cannot inspect the request body", "call_id", c.id, "route", c.route.Path, "guardrail", a.name, "reason", be.Error())
	c.fail(w, be.status, apierror.TypeInvalidRequest, be.message, class)
}

// runDuring runs the during_call guardrails one after the other, beside the upstream call, on
// the texts guardRequest read for each (ins). A mask cannot change what was sent: it is
// recorded and the call goes on.
func (h *Handler) runDuring(ctx context.Context, c *call, during []*activeGuard, body []byte, ins []guardInput) {
	var out guardOutcome
	for i, a := range during {
		v, _, err := h.checkGuard(ctx, c, a, guardrail.DuringCall, guardrail.Request, body, ins[i], false)
		if err != nil {
			out = guardOutcome{name: a.name, err: err}
			break
		}
		if v.Action == guardrail.Block {
			out = guardOutcome{name: a.name, reason: v.Reason, blocked: true}
			break
		}
	}
	c.guard.during <- out
}

// readGuardBody reads the request body whole, up to maxGuardBody.
func readGuardBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxGuardBody+1))
	if err != nil {
		return nil, fmt.Errorf("reading the request body for its guardrails failed: %w", err)
	}
	if len(body) > maxGuardBody {
		return nil, errGuardBodyTooLarge
	}
	return body, nil
}

// firstGuard is the request guardrail that runs first, and its mode (pre or during is not empty).
func firstGuard(pre, during []*activeGuard) (*activeGuard, string) {
	if len(pre) > 0 {
		return pre[0], guardrail.PreCall
	}
	return during[0], guardrail.DuringCall
}

var errGuardBodyTooLarge = fmt.Errorf("The request body is over %d MB, the most a guardrail inspects.", maxGuardBody>>20)

// guardReadFailed answers a request body the guardrails could not read: 413 when it is too large,
// 499 when the client went away (or the deadline came), else 400 (a malformed chunked body).
func (h *Handler) guardReadFailed(w http.ResponseWriter, r *http.Request, c *call, err error) {
	switch {
	case errors.Is(err, errGuardBodyTooLarge):
		c.fail(w, http.StatusRequestEntityTooLarge, apierror.TypeInvalidRequest, err.Error(), "guardrail")
	case r.Context().Err() != nil:
		c.errClass, c.status = endedClass(r), 499
	default:
		c.fail(w, http.StatusBadRequest, apierror.TypeInvalidRequest, "The request body could not be read: it ended early or its chunked framing is malformed.", "bad_request")
	}
}

// guardBlocked answers a pre_call or during_call block: 400 in LiteLLM's error shape, naming the
// guardrail and its reason (never the matched text).
func (h *Handler) guardBlocked(w http.ResponseWriter, c *call, name, reason string) {
	if reason == "" {
		reason = "Content blocked"
	}
	c.logger().Info("guardrail blocked the request", "call_id", c.id, "route", c.route.Path, "guardrail", name, "reason", reason)
	c.fail(w, http.StatusBadRequest, apierror.TypeInvalidRequest,
		fmt.Sprintf("Blocked by guardrail %s: %s", name, reason), "guardrail_blocked")
}

// guardFailed answers a guardrail that could not decide: 503, fail closed.
func (h *Handler) guardFailed(w http.ResponseWriter, c *call, name string, err error) {
	c.logger().Error("guardrail failed", "call_id", c.id, "route", c.route.Path, "guardrail", name, "error", err)
	c.fail(w, http.StatusServiceUnavailable, apierror.TypeUnavailable,
		fmt.Sprintf("Guardrail %s is unavailable, so the call was not completed; try again shortly.", name), "guardrail_error")
}

// guardResponse waits for the during_call guardrails, then runs the post_call ones on the
// response: a non-streamed JSON response with status < 400 is read whole and checked (a block
// becomes LiteLLM's 200 content_filter body, a mask rewrites it); a streamed one is checked event
// by event when the route sets guardrail_streaming, else passes unchecked. It answers the
// request itself and returns false when the response must not be relayed.
func (h *Handler) guardResponse(w http.ResponseWriter, r *http.Request, c *call, resp *http.Response) bool {
	g := c.guard
	if g == nil {
		return true
	}
	if g.during != nil {
		var out guardOutcome
		select {
		case out = <-g.during:
		case <-r.Context().Done():
			out = guardOutcome{err: r.Context().Err()}
		}
		switch {
		case out.err != nil:
			h.guardFailed(w, c, out.name, out.err)
			return false
		case out.blocked:
			meterDropped(c, resp)
			h.guardBlocked(w, c, out.name, out.reason)
			return false
		}
	}
	var post []*activeGuard
	for i := range g.guards {
		if a := &g.guards[i]; a.entry != nil && a.entry.err == nil && hasMode(a.entry.def.Modes, guardrail.PostCall) {
			post = append(post, a)
		}
	}
	if len(post) == 0 || resp.StatusCode >= 400 {
		return true
	}
	if isEventStream(resp.Header.Get("Content-Type")) {
		if c.route.GuardrailStreaming {
			resp.Body = h.newSSEGuard(r.Context(), c, post, resp.Body)
			resp.Header.Del("Content-Length")
			resp.ContentLength = -1
			return true
		}
		for _, a := range post {
			g.record(a.name, guardrail.PostCall, "skipped", "streamed response (guardrail_streaming is off)", 0)
		}
		return true
	}
	if !isJSON(resp.Header.Get("Content-Type")) || resp.Header.Get("Content-Encoding") != "" {
		for _, a := range post {
			g.record(a.name, guardrail.PostCall, "skipped", "not a JSON response", 0)
		}
		return true
	}
	return h.guardJSONResponse(w, r, c, resp, post)
}

func (h *Handler) guardJSONResponse(w http.ResponseWriter, r *http.Request, c *call, resp *http.Response, post []*activeGuard) bool {
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxGuardBody+1))
	if err == nil && len(body) > maxGuardBody {
		err = errors.New("response body too large to inspect")
	}
	if err != nil {
		h.guardFailed(w, c, post[0].name, err)
		return false
	}
	if c.meter != nil {
		_, _ = c.meter.Write(body) // the upstream's answer is what was used, whatever the client sees
		c.meter = sealedMeter{c.meter}
	}
	for _, a := range post {
		v, out, err := h.runGuard(r.Context(), c, a, guardrail.PostCall, guardrail.Response, body, false)
		if err != nil {
			h.guardFailed(w, c, a.name, err)
			return false
		}
		if v.Action == guardrail.Block {
			body = contentFilterBody(a.name, v.Reason, body)
			resp.StatusCode = http.StatusOK
			resp.Header.Set("Content-Type", "application/json")
			c.logger().Info("guardrail blocked the response", "call_id", c.id, "route", c.route.Path, "guardrail", a.name, "reason", v.Reason)
			break
		}
		body = out
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return true
}

// contentFilterBody is LiteLLM's answer to a post_call block (ModifyResponseException):
// status 200, {"error":{"message","type":"content_filter","guardrail_name","model"}}.
func contentFilterBody(name, reason string, upstream []byte) []byte {
	if reason == "" {
		reason = "Response blocked by guardrail"
	}
	var m struct {
		Model string `json:"model"`
	}
	_ = json.Unmarshal(upstream, &m)
	b, _ := json.Marshal(map[string]any{"error": map[string]any{
		"message": reason, "type": "content_filter", "guardrail_name": name, "model": m.Model}})
	return b
}

// meterDropped reads the usage of a response the client will not get (the upstream ran, and may
// bill it): a JSON answer is metered whole (bounded); when its usage stays unknown, so does the
// call's cost, rather than the 0 of a refused call.
func meterDropped(c *call, resp *http.Response) {
	if c.meter != nil && !isEventStream(resp.Header.Get("Content-Type")) {
		_, _ = io.Copy(c.meter, io.LimitReader(resp.Body, maxGuardBody))
		t := c.meter.Tokens()
		if t.Input != nil || t.Output != nil || t.SearchUnits != nil {
			c.meter = sealedMeter{c.meter}
			return
		}
	}
	c.unanswered = true
}

// sealedMeter keeps the tokens a meter read and ignores what follows (the gateway's own body).
type sealedMeter struct{ Meter }

func (sealedMeter) Write(p []byte) (int, error) { return len(p), nil }

func isJSON(contentType string) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}
