package proxy

import (
	"net/http"
	"net/textproto"
	"slices"
	"strings"

	"github.com/passthru/gateway/shared/auth"
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

// protectedPass are names an x-pass- header may not set: credentials (auth's one list),
// protocol framing, and the body's Content-Encoding: request guardrails read the body as its
// Content-Encoding says, so a caller must not be able to tell the upstream to decode a body the
// guardrails read as it is. Names starting with X-Amz- are refused as well (applyPassHeaders).
func protectedPass(name string) bool {
	return auth.IsCredentialHeader(name) || neverForwarded[name] || name == "Content-Encoding"
}

// outboundHeader starts the upstream headers: with forward_headers, the client's headers, minus
// those that never go upstream, the ones the route configures (the route wins), the header that
// carried the gateway key, and any header whose value holds one of the gateway's own keys.
// Without forward_headers only the body's own description (Content-Type, Content-Encoding)
// goes along, because the body does: the upstream cannot read it without them. A built-in
// route forwards no credential header of the client's, unless callerCreds: then they stand in
// for the route's own credential, which is not set.
func outboundHeader(in http.Header, rt *route.Route, own auth.OwnKeys, carrier string, callerCreds bool) http.Header {
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
		if neverForwarded[name] || name == carrier || conn[name] ||
			strings.HasPrefix(name, passPrefix) || holdsOwnKey(vv, own) {
			continue
		}
		switch {
		case rt.Builtin != nil && auth.IsCredentialHeader(name):
			if !callerCreds || rt.Builtin.CallerHeaders != nil && !slices.Contains(rt.Builtin.CallerHeaders, name) {
				continue
			}
		case rt.SetsHeader(name):
			continue
		case rt.Builtin != nil && rt.Builtin.AllowHeaders != nil && !slices.Contains(rt.Builtin.AllowHeaders, name):
			continue
		}
		out[name] = vv
	}
	return out
}

// applyPassHeaders forwards every `x-pass-<name>` as `<name>`, after the configured headers so it
// can override them (LiteLLM's order), except for protected names.
func applyPassHeaders(in, out http.Header, own auth.OwnKeys) {
	for name, vv := range in {
		if !strings.HasPrefix(name, passPrefix) || holdsOwnKey(vv, own) {
			continue
		}
		target := textproto.CanonicalMIMEHeaderKey(name[len(passPrefix):])
		if target == "" || protectedPass(target) || strings.HasPrefix(target, "X-Amz-") {
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

// holdsOwnKey reports whether any value holds one of the gateway's own keys (Basic
// credentials decoded).
func holdsOwnKey(vv []string, own auth.OwnKeys) bool {
	for _, v := range vv {
		if own.HeldBy(v) {
			return true
		}
	}
	return false
}
