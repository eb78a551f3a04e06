package proxy_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/passthru/gateway/shared/proxy"
	"github.com/passthru/gateway/shared/secrets"
)

// cachingSecrets is a resolver with the optional Prefetch and Invalidate hooks, recording calls.
type cachingSecrets struct {
	secrets.Inline
	mu          sync.Mutex
	prefetched  [][]string
	invalidated [][]string
}

func (c *cachingSecrets) Prefetch(_ context.Context, refs []string) {
	c.mu.Lock()
	c.prefetched = append(c.prefetched, slices.Clone(refs))
	c.mu.Unlock()
}

func (c *cachingSecrets) Invalidate(refs ...string) bool {
	c.mu.Lock()
	c.invalidated = append(c.invalidated, slices.Clone(refs))
	c.mu.Unlock()
	return true
}

// A route's secrets are prefetched together before use, and dropped only when the upstream
// rejects them (401, 403): not on other errors, and not on routes without secrets.
func TestSecretHooks(t *testing.T) {
	const cfg = `
general_settings:
  master_key: sk-1234
  pass_through_endpoints:
    - path: /lf
      target: "{{UP}}/lf"
      include_subpath: true
      auth: false
      headers:
        LANGFUSE_PUBLIC_KEY: os.environ/LANGFUSE_PUBLIC_KEY
        LANGFUSE_SECRET_KEY: os.environ/LANGFUSE_SECRET_KEY
        X-Extra: os.environ/LANGFUSE_PUBLIC_KEY
    - {path: /plain, target: "{{UP}}/plain", include_subpath: true, auth: false}
`
	up := startUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/401"):
			w.WriteHeader(401)
		case strings.HasSuffix(r.URL.Path, "/403"):
			w.WriteHeader(403)
		case strings.HasSuffix(r.URL.Path, "/500"):
			w.WriteHeader(500)
		}
	})
	cs := &cachingSecrets{Inline: testSecrets}
	g := startGateway(t, cfg, up.URL, proxy.WithSecrets(cs))
	want := []string{"LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY"} // once each
	tests := []struct {
		path        string
		status      int
		invalidates bool
	}{
		{"/lf/ok", 200, false},
		{"/lf/500", 500, false},
		{"/lf/401", 401, true},
		{"/lf/403", 403, true},
		{"/plain/401", 401, false}, // nothing to drop
	}
	for _, tt := range tests {
		cs.mu.Lock()
		before, prefetchedBefore := len(cs.invalidated), len(cs.prefetched)
		cs.mu.Unlock()
		resp, body := do(t, "GET", g.URL+tt.path, nil, nil)
		wantStatus(t, resp, body, tt.status)
		cs.mu.Lock()
		inv, pre := cs.invalidated[before:], cs.prefetched[prefetchedBefore:]
		cs.mu.Unlock()
		if tt.invalidates != (len(inv) == 1) || (tt.invalidates && !slices.Equal(inv[0], want)) {
			t.Errorf("%s: invalidated %q", tt.path, inv)
		}
		wantPrefetch := strings.HasPrefix(tt.path, "/lf")
		if wantPrefetch != (len(pre) == 1) || (wantPrefetch && !slices.Equal(pre[0], want)) {
			t.Errorf("%s: prefetched %q", tt.path, pre)
		}
	}
	if !strings.Contains(g.logs.String(), "upstream rejected the route's credentials") {
		t.Error("a rejected credential was not logged")
	}
}
