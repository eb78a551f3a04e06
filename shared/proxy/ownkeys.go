package proxy

import (
	"context"
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
// forward_headers, x-pass- headers), so a route that forwards nothing of the caller's does not
// depend on it. An error means the master key is unknown: the request cannot be forwarded safely.
func (h *Handler) ownKeys(ctx context.Context, r *http.Request, rt *route.Route) (auth.OwnKeys, error) {
	m, ok := h.keys.(auth.MasterHolder)
	if !ok || !carriesCallerValues(r, rt) {
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
