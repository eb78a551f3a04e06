package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/passthru/gateway/shared/apierror"
	"github.com/passthru/gateway/shared/auth"
	"github.com/passthru/gateway/shared/route"
	"github.com/passthru/gateway/shared/secrets"
)

// keyOptions says where the route reads the gateway key: the standard headers, the route's
// litellm_user_api_key header, and on Google-style built-in routes the `key` query parameter.
func keyOptions(r *http.Request, rt *route.Route) auth.Options {
	o := auth.Options{Header: rt.KeyHeader, Langfuse: rt.LangfuseAuth}
	if rt.Builtin != nil && rt.Builtin.KeyFromQuery && strings.Contains(r.URL.RawQuery, "key=") {
		q, _ := url.ParseQuery(r.URL.RawQuery) // a pair that does not parse is skipped
		o.QueryKey = q.Get("key")
	}
	return o
}

// errNoCallerCredential: a built-in route that may forward the caller's own provider
// credential found none besides the gateway key.
var errNoCallerCredential = errors.New("no caller credential")

// upstreamHeader builds the headers that go upstream: the client's as the route's policy
// allows (outboundHeader), the route's own (its credential), then x-pass- headers. On a
// built-in route whose credential is not set but that may forward the caller's own
// (route.Builtin.CallerCredentials), the caller's credential headers stand in for it:
// callerCreds reports it, and the route's Authorizer, if any, is then not run.
func (h *Handler) upstreamHeader(ctx context.Context, r *http.Request, rt *route.Route, own auth.OwnKeys, carrier, upstreamPath string) (_ http.Header, callerCreds bool, _ error) {
	credential := make(http.Header, 2)
	err := rt.WriteHeaders(ctx, credential, h.secrets)
	if cc, ok := authorizerOf(rt).(route.CredentialChecker); ok && err == nil {
		err = cc.CheckCredential(ctx)
	}
	if nf := (*secrets.NotFoundError)(nil); errors.As(err, &nf) && rt.Builtin != nil && rt.Builtin.CallerCredentials {
		callerCreds, err = true, nil
	}
	if err != nil {
		return nil, false, err
	}
	out := outboundHeader(r.Header, rt, own, carrier, callerCreds)
	if callerCreds && !holdsCredential(out) {
		return nil, false, errNoCallerCredential
	}
	for name, vv := range credential {
		out[name] = vv
	}
	applyPassHeaders(r.Header, out, own)
	if rt.Builtin != nil && rt.Builtin.AddHeaders != nil {
		rt.Builtin.AddHeaders(upstreamPath, out)
	}
	if _, ok := out["User-Agent"]; !ok {
		out["User-Agent"] = []string{""} // send none rather than Go's default
	}
	return out, callerCreds, nil
}

// holdsCredential reports whether any credential header is set.
func holdsCredential(h http.Header) bool {
	for _, name := range auth.CredentialHeaders() {
		if len(h[name]) > 0 {
			return true
		}
	}
	return false
}

// credentialFailed answers a request whose provider credential could not be rendered. On a
// built-in route a credential that is not configured is the operator's to set: 401 naming
// it, as LiteLLM answers (its message names ANTHROPIC_API_KEY), never a call upstream without
// one. Anything else is secretFailed's (503).
func (h *Handler) credentialFailed(w http.ResponseWriter, c *call, err error) {
	rt := c.route
	nf := (*secrets.NotFoundError)(nil)
	if rt.Builtin == nil || !(errors.As(err, &nf) || errors.Is(err, errNoCallerCredential)) {
		h.secretFailed(w, c, err)
		return
	}
	name := strings.Join(rt.Builtin.Secrets, " and ")
	msg := fmt.Sprintf("The gateway has no %s credential for %s: set %s (the environment locally, Secrets Manager on AWS).", rt.Provider, rt.Path, name)
	switch {
	case rt.Builtin.NoCredential != "" && errors.As(err, &nf):
		msg, name = rt.Builtin.NoCredential, nf.Name
	case rt.Builtin.CallerCredentials:
		in := "x-api-key or Authorization"
		if hs := rt.Builtin.CallerHeaders; len(hs) > 0 {
			in = strings.Join(hs, " or ")
		}
		msg = fmt.Sprintf("The gateway has no %s credential for %s: set %s (the environment locally, Secrets Manager on AWS), or send your own %s credential in %s with the gateway key in x-litellm-api-key.", rt.Provider, rt.Path, name, rt.Provider, in)
	}
	c.logger().Warn("provider credential not configured", "call_id", c.id, "route", rt.Path, "secret", name)
	c.fail(w, http.StatusUnauthorized, apierror.TypeAuth, msg, "no_credential")
}

// routeOff answers a call to a built-in route that cannot serve (route.Builtin.Off).
func routeOff(w http.ResponseWriter, c *call) bool {
	if c.route.Builtin == nil || c.route.Builtin.Off == "" {
		return false
	}
	c.fail(w, http.StatusNotFound, apierror.TypeNotFound, c.route.Builtin.Off, "not_found")
	return true
}

func authorizerOf(rt *route.Route) route.Authorizer {
	if rt.Builtin == nil {
		return nil
	}
	return rt.Builtin.Authorizer
}

// errSignedBodyTooLarge: a body to sign is over route.MaxSignedBody.
var errSignedBodyTooLarge = fmt.Errorf("the request body is over %d MiB, the most this route can sign", route.MaxSignedBody>>20)

// authorize runs the route's Authorizer on the request as it will be sent. A signer that
// covers the body gets the exact bytes: the body is read whole first (through the counting
// body, so bytes_in and metering still see it) and sent from memory.
func (h *Handler) authorize(ctx context.Context, out *http.Request, a route.Authorizer, c *call) error {
	var body []byte
	if a.NeedsBody() && out.Body != nil {
		b, err := io.ReadAll(io.LimitReader(out.Body, route.MaxSignedBody+1))
		if err != nil {
			return fmt.Errorf("read the request body: %w", err)
		}
		if len(b) > route.MaxSignedBody {
			return errSignedBodyTooLarge
		}
		body = b
		out.Body, out.GetBody = replayable(b)
		out.ContentLength = int64(len(b))
	}
	return a.Authorize(ctx, out, body)
}

// authorizeFailed answers a request the route's Authorizer could not authorize; nothing went
// upstream.
func (h *Handler) authorizeFailed(w http.ResponseWriter, r *http.Request, c *call, err error) {
	switch {
	case errors.Is(err, errSignedBodyTooLarge):
		c.fail(w, http.StatusRequestEntityTooLarge, apierror.TypeInvalidRequest, err.Error(), "bad_request")
	case r.Context().Err() != nil: // the caller left while the body was read
		c.errClass, c.status = "client_disconnect", 499
	default:
		h.credentialFailed(w, c, err)
	}
}
