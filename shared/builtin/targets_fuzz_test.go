package builtin

import (
	"strings"
	"testing"
)

// FuzzTargetHosts: no request path makes the Vertex AI or Bedrock route call a host outside
// googleapis.com or amazonaws.com(.cn), and none panics.
func FuzzTargetHosts(f *testing.F) {
	for _, s := range []string{"/v1/projects/p/locations/us-central1/publishers/google/models/g:streamGenerateContent", "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ax/invoke", "/", "", "/model/arn:", "%", "/projects/x/locations/"} {
		f.Add(s)
	}
	env := map[string]string{}
	o := Options{Env: func(k string) string { return env[k] }}
	f.Fuzz(func(t *testing.T, p string) {
		if u, _, err := vertexTarget(o, p); err == nil {
			if !strings.HasSuffix(u.Host, ".googleapis.com") || strings.ContainsAny(u.Host, "/@?#") {
				t.Fatalf("vertex host %q from %q", u.Host, p)
			}
		}
		if u, _, err := bedrockTarget(o, p); err == nil {
			if !strings.HasSuffix(u.Host, ".amazonaws.com") && !strings.HasSuffix(u.Host, ".amazonaws.com.cn") {
				t.Fatalf("bedrock host %q from %q", u.Host, p)
			}
		}
		_, _ = bedrockRegion(o, p)
	})
}
