package proxy

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/passthru/gateway/shared/redact"
	"github.com/passthru/gateway/shared/route"
)

// Redacted replaces every credential in detailed-debug logs.
const Redacted = "[REDACTED]"

// credentialHeaders are redacted wherever they appear.
var credentialHeaders = map[string]bool{
	"Authorization": true, "Proxy-Authorization": true, "Api-Key": true, "X-Api-Key": true,
	"X-Goog-Api-Key": true, "X-Litellm-Api-Key": true, "Cookie": true, "Set-Cookie": true,
	"Ocp-Apim-Subscription-Key": true, "X-Amz-Security-Token": true,
}

// sensitiveWords mark a header or query parameter name as a credential.
var sensitiveWords = []string{"key", "token", "secret", "auth", "signature", "credential", "password", "cookie", "session"}

func sensitiveName(name string) bool {
	if credentialHeaders[name] {
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
// request carries and the route's resolved secrets (an upstream may echo one back).
func (h *Handler) debugSecrets(ctx context.Context, rt *route.Route, key string) []string {
	var values []string
	if key != "" {
		values = append(values, key)
	}
	for _, name := range rt.SecretNames() {
		if v, err := h.secrets.Resolve(ctx, name); err == nil && len(v) >= 4 {
			values = append(values, v)
		}
	}
	return values
}

// redactHeader renders headers for a log line, hiding credentials by name, the headers named
// in extra (the route's secret headers), and any value holding one of secrets.
func redactHeader(h http.Header, extra, secrets []string) map[string]string {
	out := make(map[string]string, len(h))
	for name, vv := range h {
		v := strings.Join(vv, ", ")
		if sensitiveName(name) || slices.Contains(extra, name) || holdsSecret(v, secrets) {
			v = Redacted
		}
		out[name] = v
	}
	return out
}

func holdsSecret(v string, secrets []string) bool {
	for _, s := range secrets {
		if strings.Contains(v, s) || strings.Contains(basicCredentials(v), s) {
			return true
		}
	}
	return false
}

// redactURL hides user info, the values of credential-like query parameters, and secrets.
func redactURL(u *url.URL, secrets []string) string {
	c := *u
	if c.RawQuery != "" {
		q := c.Query()
		for k, vv := range q {
			if sensitiveName(k) || holdsSecret(strings.Join(vv, " "), secrets) {
				q[k] = []string{Redacted}
			}
		}
		c.RawQuery = q.Encode()
	}
	s := redact.URL(&c) // user info and the shared list of credential-like parameters
	for _, secret := range secrets {
		s = strings.ReplaceAll(s, secret, Redacted)
	}
	return s
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
