package proxy

import (
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
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

// redactHeader renders headers for a log line, hiding credentials by name and any value
// listed in extra (the route's secret headers).
func redactHeader(h http.Header, extra []string) map[string]string {
	out := make(map[string]string, len(h))
	for name, vv := range h {
		if sensitiveName(name) || slices.Contains(extra, name) {
			out[name] = Redacted
			continue
		}
		out[name] = strings.Join(vv, ", ")
	}
	return out
}

// redactURL hides the values of credential-like query parameters.
func redactURL(u *url.URL) string {
	c := *u
	c.User = nil
	if c.RawQuery == "" {
		return c.String()
	}
	q := c.Query()
	for k := range q {
		if sensitiveName(k) {
			q[k] = []string{Redacted}
		}
	}
	c.RawQuery = q.Encode()
	return c.String()
}

func (h *Handler) logClientRequest(r *http.Request, c *call) {
	var extra []string
	if c.route.KeyHeader != "" {
		extra = append(extra, c.route.KeyHeader)
	}
	h.log.Debug("client request", "call_id", c.id, "method", r.Method, "url", redactURL(r.URL),
		"remote", r.RemoteAddr, "headers", redactHeader(r.Header, extra), "content_length", r.ContentLength)
}

func (h *Handler) logUpstreamRequest(c *call, out *http.Request) {
	h.log.Debug("upstream request", "call_id", c.id, "method", out.Method, "url", redactURL(out.URL),
		"headers", redactHeader(out.Header, c.route.SecretHeaders()))
}

func (h *Handler) logUpstreamResponse(c *call, resp *http.Response) {
	h.log.Debug("upstream response", "call_id", c.id, "status", resp.StatusCode,
		"headers", redactHeader(resp.Header, nil), slog.Int64("content_length", resp.ContentLength))
}
