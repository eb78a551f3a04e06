package proxy

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/passthru/gateway/shared/auth"
	"github.com/passthru/gateway/shared/redact"
	"github.com/passthru/gateway/shared/route"
)

// Redacted replaces every credential in detailed-debug logs.
const Redacted = "[REDACTED]"

// sensitiveWords mark a header or query parameter name as a credential.
var sensitiveWords = []string{"key", "token", "secret", "auth", "signature", "credential", "password", "cookie", "session"}

func sensitiveName(name string) bool {
	if auth.IsCredentialHeader(name) {
		return true
	}
	lower := strings.ToLower(name)
	for _, w := range sensitiveWords {
		if strings.Contains(lower, w) {
			return true
		}
	}
	return false
}

// debugSecrets lists the values detailed-debug logs must hide wherever they appear: the key the
// request carries, the gateway's own keys (the master key, any sk-gw- value: a caller may put
// one in any header or the query) and the route's resolved secrets (an upstream may echo one).
func (h *Handler) debugSecrets(ctx context.Context, rt *route.Route, own auth.OwnKeys, key string) redaction {
	values := []string{}
	for _, name := range rt.SecretNames() {
		if v, err := h.secrets.Resolve(ctx, name); err == nil && len(v) >= 4 {
			values = append(values, v)
		}
	}
	return redaction{own: own.With(key).With(values...)}
}

// redaction is what detailed-debug logs hide besides credential names.
type redaction struct{ own auth.OwnKeys }

// redactHeader renders headers for a log line, hiding credentials by name, the headers named
// in extra (the route's secret headers), and any value holding a secret or one of the gateway's keys.
func redactHeader(h http.Header, extra []string, red redaction) map[string]string {
	out := make(map[string]string, len(h))
	for name, vv := range h {
		v := strings.Join(vv, ", ")
		if sensitiveName(name) || slices.Contains(extra, name) || red.own.HeldBy(v) {
			v = Redacted
		}
		out[name] = v
	}
	return out
}

// redactURL hides user info, the values of credential-like query parameters, secrets and the
// gateway's keys (in the path too).
func redactURL(u *url.URL, red redaction) string {
	c := *u
	if c.RawQuery != "" {
		q := c.Query()
		for k, vv := range q {
			if sensitiveName(k) || red.own.HeldBy(k) || red.own.HeldBy(strings.Join(vv, " ")) {
				q[k] = []string{Redacted}
			}
		}
		c.RawQuery = q.Encode()
	}
	// User info and the shared list of credential-like parameters, then the keys and secrets.
	return red.own.Mask(redact.URL(&c), Redacted)
}

func (h *Handler) logClientRequest(r *http.Request, c *call) {
	var extra []string
	if c.route.KeyHeader != "" {
		extra = append(extra, c.route.KeyHeader)
	}
	c.logger().Debug("client request", "call_id", c.id, "method", r.Method, "url", redactURL(r.URL, c.redact),
		"remote", r.RemoteAddr, "headers", redactHeader(r.Header, extra, c.redact), "content_length", r.ContentLength)
}

func (h *Handler) logUpstreamRequest(c *call, out *http.Request) {
	c.logger().Debug("upstream request", "call_id", c.id, "method", out.Method, "url", redactURL(out.URL, c.redact),
		"headers", redactHeader(out.Header, c.route.SecretHeaders(), c.redact))
}

func (h *Handler) logUpstreamResponse(c *call, resp *http.Response) {
	c.logger().Debug("upstream response", "call_id", c.id, "status", resp.StatusCode,
		"headers", redactHeader(resp.Header, nil, c.redact), slog.Int64("content_length", resp.ContentLength))
}
