package route_test

import (
	"net/url"
	"path"
	"strings"
	"testing"

	"github.com/passthru/gateway/shared/route"
)

// fuzzTargets cover a target with a path, without one, with a trailing slash, a port, user
// info, a query, escaped bytes in its path and an IPv6 host.
var fuzzTargets = []string{
	"https://engine.example.com/api",
	"https://engine.example.com",
	"https://engine.example.com/",
	"http://127.0.0.1:8080/v1/",
	"https://user:p%40ss@h.example.com:8443/base/path",
	"https://h.example.com/p?t=a&k=1",
	"https://h.example.com/a%20b/c%2Fd",
	"http://[::1]:9000/x",
}

// FuzzJoinSubpath checks that no subpath (percent-encoded as a client sends it; its decoded form
// is tried too) can move a request off the target's scheme, user info, host and port, or above
// the target's path, even for an upstream that decodes "%2F"; that only bad escapes and
// backslashes are refused; and that a subpath with nothing to resolve goes upstream in the
// client's own bytes.
func FuzzJoinSubpath(f *testing.F) {
	for _, s := range []string{
		"",
		"/",
		"/v1/run",
		"/v1/run/",
		"..",
		"../..",
		"/..",
		"/../",
		"/../../etc/passwd",
		"%2e%2e/",
		"%2e%2e%2f%2e%2e%2fetc%2fpasswd",
		"..%2f..%2f",
		"/%2E%2E/%2E%2E/admin",
		"/.%2e/.%2e/x",
		"%252e%252e/%252e%252e/",
		"//evil.com/x",
		"///evil.com",
		"/\\evil.com",
		"\\\\evil.com\\x",
		"/%5c..%5c..%5cetc",
		"@evil.com",
		"/@evil.com/x",
		":443",
		"/:443/x",
		"http://evil.com/x",
		"?x=../",
		"/a?x=../../b",
		"#frag",
		"/a#/../../b",
		"/./././..",
		"/././././../.",
		strings.Repeat("../", 200) + "etc/passwd",
		"/" + strings.Repeat("a/../", 100) + "..",
		"/..;/admin",
		"/;/../x",
		"/日本語/../ü/./x",
		"/\u202e/..",
		"/%e2%80%ae/x",
		"/a\x00b",
		"/\x00/../..",
		"/%00/../x",
		"/a%20b/%25/%3F/%23",
		"/%zz/..",
		"/\r\n/x",
		"/ /..",
		"/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse",
		"/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ainference-profile%2Fus.x-v1%3A0/converse",
		"/a%2Fb/../c",
		"/a/b%2F..%2F..%2F..%2Fc",
		"/%2F%2Fevil.com/x",
		"/x/100%25off",
		"/x/100%off",
		"/v1%3a0/%61/",
	} {
		f.Add(s)
	}

	targets := make([]*url.URL, len(fuzzTargets))
	for i, s := range fuzzTargets {
		u, err := url.Parse(s)
		if err != nil {
			f.Fatal(err)
		}
		targets[i] = u
	}

	f.Fuzz(func(t *testing.T, sub string) {
		inputs := []string{sub}
		if dec, err := url.PathUnescape(sub); err == nil && dec != sub {
			inputs = append(inputs, dec)
		}
		for _, target := range targets {
			for _, in := range inputs {
				checkJoin(t, target, in)
			}
		}
	})
}

func checkJoin(t *testing.T, target *url.URL, sub string) {
	t.Helper()
	before := target.String()
	got, err := route.JoinSubpath(target, sub)
	if target.String() != before {
		t.Fatalf("JoinSubpath(%q, %q) modified the target to %q", before, sub, target.String())
	}
	if wantErr := refused(sub); err != nil || wantErr {
		if (err != nil) != wantErr {
			t.Fatalf("JoinSubpath(%q, %q) = %v, %v; want an error: %v (only bad escapes and backslashes are refused)", before, sub, got, err, wantErr)
		}
		return
	}

	wire := got.String()
	back, err := url.Parse(wire)
	if err != nil {
		t.Fatalf("JoinSubpath(%q, %q) = %q, which does not parse: %v", before, sub, wire, err)
	}
	if back.Scheme != target.Scheme || back.Host != target.Host || back.User.String() != target.User.String() {
		t.Fatalf("JoinSubpath(%q, %q) = %q: scheme/host/user %q %q %q, want %q %q %q",
			before, sub, wire, back.Scheme, back.Host, back.User, target.Scheme, target.Host, target.User)
	}
	if back.RawQuery != target.RawQuery || back.Fragment != "" || back.Opaque != "" {
		t.Fatalf("JoinSubpath(%q, %q) = %q: query %q fragment %q opaque %q, want query %q only",
			before, sub, wire, back.RawQuery, back.Fragment, back.Opaque, target.RawQuery)
	}
	// What goes on the wire is the encoding JoinSubpath chose (Go did not re-escape it).
	if back.Path != got.Path || back.EscapedPath() != got.EscapedPath() || (got.RawPath != "" && got.EscapedPath() != got.RawPath) {
		t.Fatalf("JoinSubpath(%q, %q) = %q: path %q (raw %q) reads back as %q (%q)", before, sub, wire, got.Path, got.RawPath, back.Path, back.EscapedPath())
	}

	base := strings.TrimSuffix(target.Path, "/")
	if back.Path != base && !strings.HasPrefix(back.Path, base+"/") {
		t.Fatalf("JoinSubpath(%q, %q) = %q: path %q is not under %q", before, sub, wire, back.Path, base)
	}
	rawBase := strings.TrimSuffix(target.EscapedPath(), "/")
	if !strings.HasPrefix(back.EscapedPath(), rawBase) {
		t.Fatalf("JoinSubpath(%q, %q) = %q: escaped path %q does not keep the target's %q", before, sub, wire, back.EscapedPath(), rawBase)
	}
	// Even an upstream that decodes everything, "%2F" included, finds no dot or empty segment
	// below the target path: nothing can climb.
	rest := back.Path[len(base):]
	if inner := strings.Trim(rest, "/"); inner != "" {
		for _, seg := range strings.Split(inner, "/") {
			if seg == "" || seg == "." || seg == ".." {
				t.Fatalf("JoinSubpath(%q, %q) = %q: segment %q below the target path", before, sub, wire, seg)
			}
		}
	}

	// Oracle without encoded slashes: LiteLLM's normpath("/" + decoded subpath), trailing "/"
	// kept, "." and ".." gone.
	if !strings.Contains(strings.ToLower(sub), "%2f") {
		dec, _ := url.PathUnescape(sub)
		want := path.Clean("/" + dec)
		if want == "/" {
			want = ""
		}
		if strings.HasSuffix(sub, "/") {
			want += "/"
		}
		if want == "" {
			if got.String() != before {
				t.Fatalf("JoinSubpath(%q, %q) = %q, want the target unchanged", before, sub, wire)
			}
			return
		}
		if rest != want {
			t.Fatalf("JoinSubpath(%q, %q) = %q: subpath part %q, want %q", before, sub, wire, rest, want)
		}
	}
	// Byte for byte: with nothing to resolve, the client's encoding is what goes upstream, only
	// bytes that cannot appear in a path escaped.
	if body := strings.TrimPrefix(sub, "/"); body != "" && nothingToResolve(body) {
		if want := rawBase + "/" + route.EscapePathBytes(body); back.EscapedPath() != want {
			t.Fatalf("JoinSubpath(%q, %q) = %q: escaped path %q, want the client's bytes %q", before, sub, wire, back.EscapedPath(), want)
		}
	}
}

// refused reports whether JoinSubpath must refuse sub: a segment that is not valid
// percent-encoding, or one that holds a backslash, plain or encoded.
func refused(sub string) bool {
	for _, seg := range strings.Split(sub, "/") {
		dec, err := url.PathUnescape(seg)
		if err != nil || strings.Contains(dec, `\`) {
			return true
		}
	}
	return false
}

// nothingToResolve reports whether a subpath (without its leading slash) has no empty, "." or
// ".." segment, plain, encoded or between encoded slashes, before its optional trailing slash.
func nothingToResolve(body string) bool {
	for _, seg := range strings.Split(strings.TrimSuffix(body, "/"), "/") {
		dec, _ := url.PathUnescape(seg)
		for _, part := range strings.Split(dec, "/") {
			if part == "" || part == "." || part == ".." {
				return false
			}
		}
	}
	return true
}
