package ssmroutes_test

import (
	"testing"

	"github.com/passthru/gateway/shared/ssmroutes"
)

// A rejected spec carries the path it claims, as far as it can be read, so that its requests
// can be told the route exists but is invalid.
func TestRejectedPath(t *testing.T) {
	for _, c := range []struct {
		name, value string
		path        string
		subpath     bool
	}{
		{"invalid target", `{"path":"/v1/bad-target","target":"ftp://x/y"}`, "/v1/bad-target", false},
		{"missing target, subpath", `{"path":"/bedrock","include_subpath":true}`, "/bedrock", true},
		{"truncated JSON", `{"path": "/v1/broken", "target": `, "/v1/broken", false},
		{"truncated JSON, subpath", `{"include_subpath": true, "path": "/v1/b"`, "/v1/b", true},
		{"YAML", "path: /v1/yaml\ntarget: 12\ninclude_subpath: true", "/v1/yaml", true},
		{"relative path", `{"path":"c","target":"https://c.example"}`, "", false},
		{"no path", `{"target":"https://c.example"}`, "", false},
		{"not JSON at all", `}{`, "", false},
		{"path not a string", `{"path":5}`, "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			snap := ssmroutes.Build("/gw", []ssmroutes.Parameter{
				{Name: "/gw/routes/a", Value: `{"path":"/a","target":"https://a.example"}`, Version: 1},
				{Name: "/gw/routes/x", Value: c.value, Version: 3},
			}, nil)
			if len(snap.Rejected) != 1 {
				t.Fatalf("rejected %+v, want the one bad route", snap.Rejected)
			}
			if r := snap.Rejected[0]; r.Name != "/gw/routes/x" || r.Path != c.path || r.Subpath != c.subpath || r.Conflict {
				t.Errorf("rejected %+v, want path %q subpath %v", r, c.path, c.subpath)
			}
		})
	}
}
