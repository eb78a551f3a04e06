package route

import (
	"net/url"
	"strings"
)

// NormalizePath resolves a request path before the route lookup, with the rules JoinSubpath
// applies to a subpath: segments are decoded for the checks, empty, "." and ".." segments
// ("%2e", "%2E%2E" included) are resolved (".." never climbs above "/"), a segment whose "%2F"s
// hide such a part is split and resolved, and a trailing slash is kept. Looking routes up on
// the path as sent while the upstream URL is built from its resolved form would let
// "/openai/./organization" or "/openai//organization" reach an exact route's upstream through an
// include_subpath route with a laxer auth; resolving first makes the route chosen and the URL
// called agree. Normalising rather than refusing such paths with a 400 follows Envoy's
// normalize_path and merge_slashes (RFC 3986 §5.2.4 remove_dot_segments, repeated slashes
// merged) and keeps clients that join "base/" and "/path" working:
// https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto
//
// The result keeps the client's percent-encoding of every segment kept (RawSubpath reads it),
// and is u itself when there is nothing to resolve. A bad escape or a backslash (plain or
// "%5C", which some servers treat as a separator) is an error. A path not starting with "/"
// ("*") is returned as is: no route can match it.
func NormalizePath(u *url.URL) (*url.URL, error) {
	if !strings.HasPrefix(u.Path, "/") || !mayResolve(u.Path) {
		return u, nil
	}
	escaped := u.EscapedPath()
	segs, trailing, err := resolve(escaped)
	if err != nil {
		return nil, err
	}
	var p, raw strings.Builder
	p.Grow(len(u.Path))
	raw.Grow(len(escaped))
	writeSegments(&p, &raw, segs, trailing && len(segs) > 0)
	if len(segs) == 0 {
		p.WriteByte('/')
		raw.WriteByte('/')
	}
	if raw.String() == escaped {
		return u, nil
	}
	return &url.URL{Path: p.String(), RawPath: raw.String()}, nil
}

// mayResolve reports whether a path, decoded, might hold something to resolve or refuse: an
// empty or dot segment, or a backslash, plain or encoded ("%2e", "%5C" and a "%2F" hiding an
// empty, "." or ".." part all show in the decoded path as "/.", "//", a trailing "/" or "\\").
// Most paths hold none and skip the split and copies: this runs on every request, and reads the
// decoded path because url.URL.EscapedPath allocates.
func mayResolve(path string) bool {
	return strings.Contains(path, "//") || strings.Contains(path, "/.") ||
		strings.ContainsRune(path, '\\') || len(path) > 1 && strings.HasSuffix(path, "/")
}
