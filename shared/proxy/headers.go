package proxy

import (
	"encoding/base64"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"

	"github.com/passthru/gateway/shared/route"
)

// hopByHop are the headers that describe one connection, not the message (RFC 9110 §7.6.1),
// plus the old Proxy-Connection and Keep-Alive spellings.
var hopByHop = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// neverForwarded are client headers that never go upstream: hop-by-hop headers, framing the
// upstream request sets itself, Accept-Encoding (as in LiteLLM: the upstream then answers
// uncompressed, which later usage parsing can read), Expect (the server already answered it),
// and the LiteLLM key header.
var neverForwarded = func() map[string]bool {
	m := map[string]bool{"Host": true, "Content-Length": true, "Accept-Encoding": true, "Expect": true, "X-Litellm-Api-Key": true}
	for _, h := range hopByHop {
		m[h] = true
	}
	return m
}()

// bodyHeaders describe the request body and travel with it.
var bodyHeaders = []string{"Content-Type", "Content-Encoding"}

// passPrefix turns `x-pass-<name>` into `<name>` upstream.
const passPrefix = "X-Pass-"

// protectedPass are names an x-pass- header may not set: credentials and protocol framing.
var protectedPass = func() map[string]bool {
	m := map[string]bool{
		"Authorization": true, "Api-Key": true, "X-Api-Key": true, "X-Goog-Api-Key": true,
		"X-Litellm-Api-Key": true, "Ocp-Apim-Subscription-Key": true, "Cookie": true,
	}
	for k := range neverForwarded {
		m[k] = true
	}
	return m
}()

// outboundHeader starts the upstream headers: with forward_headers, the client's headers, minus
// those that never go upstream, the ones the route configures (the route wins), the header that
// carried the gateway key, and any other header whose value contains that key.
// Without forward_headers only the body's own description (Content-Type, Content-Encoding)
// goes along, because the body does: the upstream cannot read it without them.
func outboundHeader(in http.Header, rt *route.Route, key, carrier string) http.Header {
	out := make(http.Header, 8)
	if !rt.ForwardHeaders {
		for _, name := range bodyHeaders {
			if vv, ok := in[name]; ok && !rt.SetsHeader(name) {
				out[name] = vv
			}
		}
		return out
	}
	conn := connectionTokens(in)
	for name, vv := range in {
		if neverForwarded[name] || name == carrier || rt.SetsHeader(name) || conn[name] ||
			strings.HasPrefix(name, passPrefix) || containsKey(vv, key) {
			continue
		}
		out[name] = vv
	}
	return out
}

// applyPassHeaders forwards every `x-pass-<name>` as `<name>`, after the configured headers so it
// can override them (LiteLLM's order), except for protected names.
func applyPassHeaders(in, out http.Header, key string) {
	for name, vv := range in {
		if !strings.HasPrefix(name, passPrefix) || containsKey(vv, key) {
			continue
		}
		target := textproto.CanonicalMIMEHeaderKey(name[len(passPrefix):])
		if target == "" || protectedPass[target] || strings.HasPrefix(target, "X-Amz-") {
			continue
		}
		out[target] = vv
	}
}

// copyResponseHeader copies the upstream's end-to-end headers to the client. The call id stays
// the gateway's, even if the upstream (another LiteLLM, say) sent one: usage records carry it.
func copyResponseHeader(dst, src http.Header) {
	conn := connectionTokens(src)
	for name, vv := range src {
		if conn[name] || isHopByHop(name) || name == CallIDHeader {
			continue
		}
		dst[name] = vv
	}
}

func isHopByHop(name string) bool {
	for _, h := range hopByHop {
		if name == h {
			return true
		}
	}
	return false
}

// connectionTokens are the extra hop-by-hop headers a Connection header names.
func connectionTokens(h http.Header) map[string]bool {
	vv := h["Connection"]
	if len(vv) == 0 {
		return nil
	}
	m := map[string]bool{}
	for _, v := range vv {
		for _, t := range strings.Split(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				m[textproto.CanonicalMIMEHeaderKey(t)] = true
			}
		}
	}
	return m
}

// containsKey reports whether any value holds the gateway key, as written or inside Basic
// credentials (`Basic base64(user:key)`).
func containsKey(vv []string, key string) bool {
	if key == "" {
		return false
	}
	for _, v := range vv {
		if strings.Contains(v, key) || strings.Contains(basicCredentials(v), key) {
			return true
		}
	}
	return false
}

// basicCredentials decodes `Basic <base64>`, or returns "".
func basicCredentials(v string) string {
	scheme, rest, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok || !strings.EqualFold(scheme, "basic") {
		return ""
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
	if err != nil {
		return ""
	}
	return string(raw)
}

// withoutKey drops query parameters that carry the gateway key (the Gemini SDKs send keys as
// ?key=), leaving the query byte for byte when none does.
func withoutKey(raw, key string) string {
	if key == "" || raw == "" {
		return raw
	}
	if unescaped, err := url.QueryUnescape(raw); err == nil && !strings.Contains(unescaped, key) {
		return raw
	}
	var kept []string
	for _, pair := range strings.Split(raw, "&") {
		if v, err := url.QueryUnescape(pair); err == nil && strings.Contains(v, key) {
			continue
		}
		kept = append(kept, pair)
	}
	return strings.Join(kept, "&")
}
