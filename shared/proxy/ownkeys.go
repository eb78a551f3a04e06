package proxy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/passthru/gateway/shared/auth"
	"github.com/passthru/gateway/shared/route"
)

// ownKeys starts the request's set of gateway credentials that must never reach the upstream:
// every sk-gw- value and the master key. The master key is asked of the verifier only when
// something the caller controls can go upstream besides the body (a query, its headers with
// forward_headers, x-pass- headers) or detailed-debug logs show the request, so a route that
// forwards nothing of the caller's does not depend on it. An error means the master key is
// unknown: the request cannot be forwarded safely.
func (h *Handler) ownKeys(ctx context.Context, r *http.Request, rt *route.Route) (auth.OwnKeys, error) {
	m, ok := h.keys.(auth.MasterHolder)
	if !ok || !(h.debug || carriesCallerValues(r, rt)) {
		return auth.NewOwnKeys(), nil
	}
	master, err := m.Master(ctx)
	if err != nil {
		return auth.NewOwnKeys(), fmt.Errorf("master key: %w", err)
	}
	return auth.NewOwnKeys(master), nil
}

// carriesCallerValues reports whether any value of the caller's besides the body and path
// would go upstream.
func carriesCallerValues(r *http.Request, rt *route.Route) bool {
	if r.URL.RawQuery != "" || rt.ForwardHeaders {
		return true
	}
	for name := range r.Header {
		if strings.HasPrefix(name, passPrefix) {
			return true
		}
	}
	return false
}

// withoutOwnKeys drops the query parameters whose name or value holds one of the gateway's own
// credentials (Google SDKs send keys as ?key=), whether or not it authenticated the request,
// and leaves the query byte for byte when none does.
func withoutOwnKeys(raw string, own auth.OwnKeys) string {
	if raw == "" {
		return raw
	}
	if !queryPartHolds(raw, own) {
		return raw
	}
	var kept []string
	for _, pair := range strings.Split(raw, "&") {
		if queryPartHolds(pair, own) {
			continue
		}
		kept = append(kept, pair)
	}
	return strings.Join(kept, "&")
}

// queryPartHolds checks s both as sent and percent-decoded (a pair that does not decode is
// checked as sent: it is forwarded as sent).
func queryPartHolds(s string, own auth.OwnKeys) bool {
	if own.HeldBy(s) {
		return true
	}
	v, err := url.QueryUnescape(s)
	return err == nil && own.HeldBy(v)
}

// maxQueryKeyChecks bounds the key verifications one request's query can cause.
const maxQueryKeyChecks = 2

// withQueryKeys adds to own the values of the query's `key` parameters (where LiteLLM reads a
// key from the query and Google SDKs send theirs) that the verifier knows as a gateway key,
// valid or not: a key from the config file's `keys` need not start with sk-gw-. A value it
// cannot check (key store down), and any past the first maxQueryKeyChecks, is treated as one:
// dropped rather than risked.
func (h *Handler) withQueryKeys(ctx context.Context, raw string, own auth.OwnKeys) auth.OwnKeys {
	if !strings.Contains(raw, "key=") {
		return own
	}
	q, _ := url.ParseQuery(raw) // a pair that does not parse is skipped; the rest still count
	checked := 0
	for _, v := range q["key"] {
		if v == "" || own.HeldBy(v) {
			continue
		}
		if checked++; checked > maxQueryKeyChecks {
			own = own.With(v)
			continue
		}
		_, err := h.keys.Verify(ctx, v)
		if err == nil || errors.Is(err, auth.ErrInactiveKey) || !isAuthError(err) {
			own = own.With(v)
		}
	}
	return own
}
