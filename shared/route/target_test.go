package route_test

import (
	"net/url"
	"testing"

	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/route"
)

// A Builtin.Target's base query is set over the merged query: its parameters replace the
// client's of the same name, the others are kept (Vertex AI's alt=sse).
func TestTargetBaseQuery(t *testing.T) {
	r := mustNew(t, config.Endpoint{Path: "/v", Target: "https://unused.invalid", IncludeSubpath: true})
	base := ""
	r.Builtin = &route.Builtin{Target: func(subpath string) (*url.URL, string, error) {
		u, _ := url.Parse("https://host.example" + base)
		return u, subpath, nil
	}}
	tests := []struct{ base, query, want string }{
		{"", "", "https://host.example/m:x"},
		{"", "b=%7E&a=1", "https://host.example/m:x?b=%7E&a=1"},
		{"?alt=sse", "", "https://host.example/m:x?alt=sse"},
		{"?alt=sse", "alt=sse", "https://host.example/m:x?alt=sse"},
		{"?alt=sse", "alt=json&alt=proto&x=1", "https://host.example/m:x?alt=sse&x=1"},
		{"?alt=sse", "x=1", "https://host.example/m:x?x=1&alt=sse"},
	}
	for _, tt := range tests {
		base = tt.base
		got, err := r.UpstreamURL("/m:x", tt.query)
		if err != nil || got.String() != tt.want {
			t.Errorf("base %q, query %q: %v, %v; want %s", tt.base, tt.query, got, err, tt.want)
		}
	}
	base = "?alt=sse"
	if _, err := r.UpstreamURL("/m:x", "a=%zz"); err == nil {
		t.Error("a malformed client query passed")
	}
}
