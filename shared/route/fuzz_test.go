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

// FuzzJoinSubpath checks that no subpath, decoded or still percent-encoded, can move a request
// off the target's scheme, user info, host and port, or above the target's path.
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
	if err != nil {
		if !strings.Contains(sub, `\`) {
			t.Fatalf("JoinSubpath(%q, %q): unexpected error %v (only a backslash is refused)", before, sub, err)
		}
		return
	}
	if strings.Contains(sub, `\`) {
		t.Fatalf("JoinSubpath(%q, %q) = %q, want a backslash refused", before, sub, got)
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
	if back.Path != got.Path {
		t.Fatalf("JoinSubpath(%q, %q) = %q: path %q reads back as %q", before, sub, wire, got.Path, back.Path)
	}

	base := strings.TrimSuffix(target.Path, "/")
	if back.Path != base && !strings.HasPrefix(back.Path, base+"/") {
		t.Fatalf("JoinSubpath(%q, %q) = %q: path %q is not under %q", before, sub, wire, back.Path, base)
	}
	if rawBase := strings.TrimSuffix(target.EscapedPath(), "/"); !strings.HasPrefix(back.EscapedPath(), rawBase) {
		t.Fatalf("JoinSubpath(%q, %q) = %q: escaped path %q does not keep the target's %q", before, sub, wire, back.EscapedPath(), rawBase)
	}
	rest := back.Path[len(base):]
	if inner := strings.Trim(rest, "/"); inner != "" {
		for _, seg := range strings.Split(inner, "/") {
			if seg == "" || seg == "." || seg == ".." {
				t.Fatalf("JoinSubpath(%q, %q) = %q: segment %q below the target path", before, sub, wire, seg)
			}
		}
	}

	// Oracle: LiteLLM's normpath("/" + subpath), trailing "/" kept, "." and ".." gone.
	want := path.Clean("/" + sub)
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
