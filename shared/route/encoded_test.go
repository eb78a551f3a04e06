package route_test

import (
	"strings"
	"testing"

	"github.com/passthru/gateway/shared/route"
)

// The subpath reaches the upstream as the client encoded it, byte for byte (a Bedrock model id's
// %3A, an ARN's %2F, %25, %20, unicode, lower-case escapes), while dot segments (plain or
// encoded) are still resolved below the target and bytes that may not appear in a URL path are
// escaped.
func TestJoinSubpathKeepsTheClientsEncoding(t *testing.T) {
	const api = "https://bedrock-runtime.us-east-1.amazonaws.com/base"
	arn := "arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3-5-sonnet-20240620-v1%3A0"
	tests := []struct {
		name, subpath string
		wantRaw       string // the escaped path sent upstream
		wantPath      string // its decoded form
		wantErr       string
	}{
		{"bedrock model id colon", "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse",
			"/base/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse", "/base/model/anthropic.claude-3-5-sonnet-20240620-v1:0/converse", ""},
		{"bedrock inference profile arn", "/model/" + arn + "/converse-stream",
			"/base/model/" + arn + "/converse-stream",
			"/base/model/arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20240620-v1:0/converse-stream", ""},
		{"encoded percent", "/x/100%25off", "/base/x/100%25off", "/base/x/100%off", ""},
		{"space", "/a%20b", "/base/a%20b", "/base/a b", ""},
		{"unicode escapes kept", "/%CE%BB-%E4%B8%96", "/base/%CE%BB-%E4%B8%96", "/base/λ-世", ""},
		{"lower-case escapes kept", "/v1%3a0", "/base/v1%3a0", "/base/v1:0", ""},
		{"unnecessary escape kept", "/%61bc", "/base/%61bc", "/base/abc", ""},
		{"literal colon kept literal", "/v1:0", "/base/v1:0", "/base/v1:0", ""},
		{"raw unicode escaped", "/café", "/base/caf%C3%A9", "/base/café", ""},
		{"raw space escaped", "/a b", "/base/a%20b", "/base/a b", ""},
		{"encoded question mark and hash", "/a%3Fb%23c", "/base/a%3Fb%23c", "/base/a?b#c", ""},
		{"encoded dot dot resolved", "/%2e%2e/%2E%2E/admin", "/base/admin", "/base/admin", ""},
		{"mixed dot dot resolved", "/x/.%2e/.%2e/admin", "/base/admin", "/base/admin", ""},
		{"dot dot hidden behind encoded slashes resolved", "/..%2f..%2fadmin", "/base/admin", "/base/admin", ""},
		{"encoded slash with dot dot inside resolved", "/a/b%2F..%2F..%2F..%2Fc", "/base/c", "/base/c", ""},
		{"encoded slash with empty part resolved", "/a%2F%2Fb", "/base/a/b", "/base/a/b", ""},
		{"trailing slash kept", "/v1%3A0/", "/base/v1%3A0/", "/base/v1:0/", ""},
		{"bad escape", "/x/%zz", "", "", `invalid URL escape "%zz"`},
		{"bare percent", "/x/100%off", "", "", `invalid URL escape "%of"`},
		{"truncated escape", "/x/a%4", "", "", `invalid URL escape "%4"`},
		{"encoded backslash refused", "/a%5C..%5Cb", "", "", "contains a backslash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := mustParseURL(t, api)
			got, err := route.JoinSubpath(target, tt.subpath)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("JoinSubpath(%q) = %v, %v; want error containing %q", tt.subpath, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("JoinSubpath(%q): %v", tt.subpath, err)
			}
			if got.EscapedPath() != tt.wantRaw || got.Path != tt.wantPath {
				t.Errorf("JoinSubpath(%q): escaped %q decoded %q; want %q %q", tt.subpath, got.EscapedPath(), got.Path, tt.wantRaw, tt.wantPath)
			}
			if want := "https://bedrock-runtime.us-east-1.amazonaws.com" + tt.wantRaw; got.String() != want {
				t.Errorf("JoinSubpath(%q).String() = %q, want %q", tt.subpath, got.String(), want)
			}
		})
	}
}

// RawSubpath finds, in the URL as the client encoded it, the part that Lookup matched as the
// decoded subpath.
func TestRawSubpath(t *testing.T) {
	tests := []struct{ uri, subpath, want string }{
		{"/bedrock/model/v1%3A0/converse", "/model/v1:0/converse", "/model/v1%3A0/converse"},
		{"/bedrock/model/a%2Fb", "/model/a/b", "/model/a%2Fb"},
		{"/b%65drock/x%20y", "/x y", "/x%20y"},
		{"/bedrock", "", ""},
		{"/bedrock/", "/", "/"},
		{"/bedrock%2Fx", "/x", "/x"}, // the route matched on a decoded slash: the boundary
		{"/bedrock%2fx%2Fy,z", "/x/y,z", "/x%2Fy,z"},
		{"/caf%C3%A9/%CE%BB", "/λ", "/%CE%BB"},
	}
	for _, tt := range tests {
		u := mustParseURL(t, "https://gw.example.com"+tt.uri)
		if got := route.RawSubpath(u, tt.subpath); got != tt.want {
			t.Errorf("RawSubpath(%q, %q) = %q, want %q", tt.uri, tt.subpath, got, tt.want)
		}
	}
}

// Lookup, RawSubpath and UpstreamURL together, as the proxy calls them.
func TestLookupRawSubpathUpstreamURL(t *testing.T) {
	tbl := tableOf(t, ep("bedrock", "/bedrock", true, "POST"))
	for uri, want := range map[string]string{
		"/bedrock/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse": "https://up.example.com/bedrock/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse",
		"/bedrock/model/a%2Fb/converse":                                       "https://up.example.com/bedrock/model/a%2Fb/converse",
		"/bedrock/%2e%2e/%2e%2e/admin":                                        "https://up.example.com/bedrock/admin",
	} {
		u := mustParseURL(t, "https://gw.example.com"+uri)
		m := tbl.Lookup("POST", u.Path)
		if m.Route == nil {
			t.Fatalf("POST %s: no route", uri)
		}
		got, err := m.Route.UpstreamURL(route.RawSubpath(u, m.Subpath), "")
		if err != nil || got.String() != want {
			t.Errorf("POST %s -> %v, %v; want %s", uri, got, err, want)
		}
	}
}
