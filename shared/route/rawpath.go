package route

import (
	"net/url"
	"strings"
)

// RawSubpath returns the subpath Lookup matched (decoded, the tail of u.Path) as the client
// encoded it: the matching tail of u.EscapedPath(). Upstreams read the encoding, not just what
// it decodes to (a Bedrock model id's "%3A", an inference-profile ARN's "%2F", a SigV4 canonical
// path), so the subpath travels in the client's bytes.
func RawSubpath(u *url.URL, subpath string) string {
	if subpath == "" {
		return ""
	}
	escaped := u.EscapedPath()
	// Each byte of the decoded path comes from one literal byte or one %XX triple of the
	// escaped path (EscapedPath always unescapes to Path), so count decoded bytes to find where
	// the subpath starts.
	skip := len(u.Path) - len(subpath)
	if skip < 0 || u.Path[skip:] != subpath {
		return escapeSegments(subpath)
	}
	j := 0
	for d := 0; d < skip && j < len(escaped); d++ {
		if escaped[j] == '%' {
			j += 3
		} else {
			j++
		}
	}
	if j > len(escaped) {
		return escapeSegments(subpath)
	}
	raw := escaped[j:]
	if len(raw) >= 3 && raw[0] == '%' && raw[1] == '2' && (raw[2] == 'F' || raw[2] == 'f') {
		// The route matched on an encoded slash ("/bedrock%2Fx"): that slash is the boundary,
		// sent as "/" so that the rest keeps the client's bytes (JoinSubpath would otherwise split
		// the whole segment at its "%2F"s, as one with an empty part).
		raw = "/" + raw[3:]
	}
	return raw
}

// escapeSegments encodes a decoded path, keeping its slashes and sub-delimiters ("," ";" "="
// ...) literal as a client would send them: only '%' and the bytes that may not appear in a URL
// path are escaped.
func escapeSegments(p string) string {
	return EscapePathBytes(strings.ReplaceAll(p, "%", "%25"))
}

// EscapePathBytes keeps an already percent-encoded path exactly as it is, its escapes included
// (lower case, unnecessary ones), and escapes only the bytes that may not appear literally in a
// URL path (space, controls, non-ASCII, '"', '<', '>', '\\', '^', '`', '{', '|', '}', '?', '#'),
// so that Go sends it as url.URL.RawPath. A '%' is left alone: validate escapes separately.
func EscapePathBytes(p string) string {
	n := 0
	for i := 0; i < len(p); i++ {
		if !pathByteOK(p[i]) {
			n++
		}
	}
	if n == 0 {
		return p
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(p) + 2*n)
	for i := 0; i < len(p); i++ {
		c := p[i]
		if pathByteOK(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// pathByteOK reports whether c may appear literally in an escaped URL path as Go's url package
// accepts one for RawPath: unreserved characters, sub-delimiters, ':', '@', '/', '[', ']' and '%'
// (RFC 3986 §3.3, plus the brackets Go tolerates).
func pathByteOK(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '.', '_', '~', '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=', ':', '@', '/', '[', ']', '%':
		return true
	}
	return false
}
