package route_test

import (
	"fmt"
	"net/url"
	"path"
	"strings"
	"testing"

	"github.com/passthru/gateway/shared/config"
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

// lookupJoinRoutes nest exact and include_subpath routes. Each target is the upstream host plus
// the route's own path, so that a correct gateway calls the upstream on exactly the path it
// resolved, and the route the gateway would choose for that upstream path is the one it chose.
var lookupJoinRoutes = []struct {
	path    string
	subpath bool
}{
	{"/openai", true},
	{"/openai/organization", false},
	{"/openai/v1/admin", true},
	{"/bedrock", true},
	{"/pub", false},
	{"/a", true},
	{"/a/b/c", false},
}

// FuzzLookupJoin checks route.NormalizePath, Table.Lookup, RawSubpath and UpstreamURL together,
// as the proxy calls them, for a request path as a client sends it (and as a front door that
// decodes it hands it over): the route chosen is the one that serves the upstream URL called
// (so an exact route nested under an include_subpath route cannot be reached through the
// prefix by "." , "..", "//" or encoded forms of them), the upstream path is the resolved request
// path, normalising is idempotent, and a subpath goes upstream in the client's own bytes.
func FuzzLookupJoin(f *testing.F) {
	for _, s := range []string{
		"/openai/organization",
		"/openai/./organization",
		"/openai//organization",
		"//openai/organization",
		"/openai/x/../organization",
		"/openai/%2e/organization",
		"/openai/%2E%2E/openai/organization",
		"/openai/x%2F..%2Forganization",
		"/openai/organization%2F",
		"/openai/organization/.",
		"/openai%2Forganization",
		"/openai%2F0",
		"/openai%2fx%2Fy,z",
		"/openai/v1/x/../admin/users",
		"/openai/v1%2Fadmin/users",
		"/bedrock/model/v1%3A0/converse",
		"/bedrock/model/arn%3Aaws%2Fx/converse/",
		"/a/b/./c",
		"/a/b/c/",
		"/a/x/..%2f..%2fb/c",
		"/s3/a,b;c/x%2F..%2Fd,e",
		"/pub/..",
		"/pub/%2e%2e/openai/organization",
		"/openai/a%5C..%5Corganization",
		"/openai/100%25/../organization",
	} {
		f.Add(s)
	}
	cfg := &config.Config{}
	for i, r := range lookupJoinRoutes {
		cfg.Endpoints = append(cfg.Endpoints, config.Endpoint{
			Index: i, ID: fmt.Sprint("r", i), Path: r.path, IncludeSubpath: r.subpath,
			Methods: []string{"GET"}, Target: "https://up.example.com" + r.path,
		})
	}
	tbl, err := route.NewTable(cfg)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in string) {
		u, err := url.Parse("https://gw.example.com/" + strings.TrimPrefix(in, "/"))
		if err != nil || u.Host != "gw.example.com" {
			return
		}
		checkLookupJoin(t, tbl, u)
		checkLookupJoin(t, tbl, &url.URL{Path: u.Path}) // a front door that decodes the path
	})
}

func checkLookupJoin(t *testing.T, tbl *route.Table, req *url.URL) {
	t.Helper()
	p, err := route.NormalizePath(req)
	if err != nil {
		if !refused(req.EscapedPath()) {
			t.Fatalf("NormalizePath(%q): %v; only bad escapes and backslashes are refused", req.EscapedPath(), err)
		}
		return
	}
	if again, err := route.NormalizePath(p); err != nil || again.Path != p.Path || again.EscapedPath() != p.EscapedPath() {
		t.Fatalf("NormalizePath(%q) = %q, which normalises again to %v, %v", req.EscapedPath(), p.EscapedPath(), again, err)
	}
	if !nothingToResolve(strings.TrimPrefix(p.EscapedPath(), "/")) && p.EscapedPath() != "/" {
		t.Fatalf("NormalizePath(%q) = %q still has a segment to resolve", req.EscapedPath(), p.EscapedPath())
	}
	m := tbl.Lookup("GET", p.Path)
	if m.Route == nil {
		return
	}
	up, err := m.Route.UpstreamURL(route.RawSubpath(p, m.Subpath), "")
	if err != nil {
		t.Fatalf("%q (resolved %q) -> route %s: UpstreamURL: %v", req.EscapedPath(), p.EscapedPath(), m.Route.Path, err)
	}
	if up.Host != "up.example.com" || up.Path != p.Path {
		t.Fatalf("%q (resolved %q) -> route %s calls %q; want path %q on up.example.com", req.EscapedPath(), p.EscapedPath(), m.Route.Path, up, p.Path)
	}
	if again := tbl.Lookup("GET", up.Path); again.Route != m.Route {
		t.Fatalf("%q -> route %s calls %q, which is route %v's", req.EscapedPath(), m.Route.Path, up, again.Route)
	}
	if p == req && m.Route.IncludeSubpath {
		sent := strings.TrimPrefix(up.EscapedPath(), strings.TrimSuffix(m.Route.Path, "/"))
		// A route matched on an encoded slash ("/openai%2Fx") sends that boundary as "/".
		client := req.EscapedPath()
		if i := len(client) - len(sent); i >= 2 && strings.HasPrefix(sent, "/") && strings.EqualFold(client[i-2:i+1], "%2F") {
			client = client[:i-2] + "/" + client[i+1:]
		}
		if !strings.HasSuffix(client, sent) {
			t.Fatalf("%q -> route %s calls %q: subpath %q is not the client's bytes", req.EscapedPath(), m.Route.Path, up.EscapedPath(), sent)
		}
	}
}
