package route_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/passthru/gateway/shared/route"
)

// NormalizePath resolves dot segments (plain or encoded), repeated slashes and encoded slashes
// hiding them, keeps a trailing slash and the client's encoding of every segment kept, and
// returns the URL itself when there is nothing to resolve.
func TestNormalizePath(t *testing.T) {
	tests := []struct {
		name, uri        string
		wantPath, wantEP string // decoded and escaped result
		same             bool   // the input URL itself comes back
		wantErr          string
	}{
		{"plain", "/openai/organization", "/openai/organization", "/openai/organization", true, ""},
		{"root", "/", "/", "/", true, ""},
		{"encoded kept", "/bedrock/model/v1%3A0/a%2Fb,c;d", "/bedrock/model/v1:0/a/b,c;d", "/bedrock/model/v1%3A0/a%2Fb,c;d", true, ""},
		{"trailing slash kept", "/openai/models/", "/openai/models/", "/openai/models/", true, ""},
		{"dot", "/openai/./organization", "/openai/organization", "/openai/organization", false, ""},
		{"empty segment", "/openai//organization", "/openai/organization", "/openai/organization", false, ""},
		{"leading double slash", "//openai/organization", "/openai/organization", "/openai/organization", false, ""},
		{"dot dot", "/openai/x/../organization", "/openai/organization", "/openai/organization", false, ""},
		{"encoded dot", "/openai/%2e/organization", "/openai/organization", "/openai/organization", false, ""},
		{"encoded dot dot upper", "/openai/x/%2E%2E/organization", "/openai/organization", "/openai/organization", false, ""},
		{"mixed dot dot", "/openai/x/.%2e/organization", "/openai/organization", "/openai/organization", false, ""},
		{"dot dot behind encoded slashes", "/openai/x%2F..%2Forganization", "/openai/organization", "/openai/organization", false, ""},
		{"empty part behind encoded slash", "/openai/organization%2F", "/openai/organization", "/openai/organization", false, ""},
		{"never above root", "/../../openai/organization", "/openai/organization", "/openai/organization", false, ""},
		{"climbs out of a prefix", "/openai/../admin", "/admin", "/admin", false, ""},
		{"all resolved", "/a/..", "/", "/", false, ""},
		{"trailing dot", "/openai/organization/.", "/openai/organization", "/openai/organization", false, ""},
		{"trailing slash after dot", "/openai/./models/", "/openai/models/", "/openai/models/", false, ""},
		{"client bytes of kept segments", "/s3/./a,b%3A;c/x%2F..%2Fd,e;f", "/s3/a,b:;c/d,e;f", "/s3/a,b%3A;c/d,e;f", false, ""},
		{"lower-case escapes kept", "/b/./v1%3a0", "/b/v1:0", "/b/v1%3a0", false, ""},
		{"backslash", "/openai/a%5C..%5Corganization", "", "", false, "contains a backslash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := mustParseURL(t, "https://gw.example.com"+tt.uri)
			got, err := route.NormalizePath(u)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("NormalizePath(%q) = %v, %v; want an error containing %q", tt.uri, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NormalizePath(%q): %v", tt.uri, err)
			}
			if got.Path != tt.wantPath || got.EscapedPath() != tt.wantEP {
				t.Errorf("NormalizePath(%q) = %q (escaped %q), want %q (%q)", tt.uri, got.Path, got.EscapedPath(), tt.wantPath, tt.wantEP)
			}
			if (got == u) != tt.same {
				t.Errorf("NormalizePath(%q) returned the input itself: %v, want %v", tt.uri, got == u, tt.same)
			}
		})
	}
}

// A front door that hands over the path decoded (HTTP API's rawPath) and an asterisk-form
// request are normalised too, or left alone.
func TestNormalizePathDecodedAndAsterisk(t *testing.T) {
	got, err := route.NormalizePath(&url.URL{Path: "/openai/./x/../organization"})
	if err != nil || got.Path != "/openai/organization" {
		t.Errorf("decoded path: %v, %v; want /openai/organization", got, err)
	}
	star := &url.URL{Path: "*"}
	if got, err := route.NormalizePath(star); err != nil || got != star {
		t.Errorf("asterisk: %v, %v; want it unchanged", got, err)
	}
}

// NormalizePath runs on every request: a path with nothing to resolve costs no allocation.
func BenchmarkNormalizePath(b *testing.B) {
	for _, uri := range []string{
		"/openai/v1/chat/completions",
		"/bedrock/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse",
		"/openai/./v1//chat/x/../completions",
	} {
		u := mustParseURL(b, "https://gw.example.com"+uri)
		b.Run(uri, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := route.NormalizePath(u); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestNormalizePathPlainPathsDoNotAllocate(t *testing.T) {
	for _, uri := range []string{"/openai/v1/chat/completions", "/bedrock/model/v1%3A0/converse"} {
		u := mustParseURL(t, "https://gw.example.com"+uri)
		if n := testing.AllocsPerRun(100, func() { _, _ = route.NormalizePath(u) }); n != 0 {
			t.Errorf("NormalizePath(%q): %v allocations, want 0", uri, n)
		}
	}
}
