package proxy_test

import (
	"strings"
	"testing"

	"github.com/passthru/gateway/shared/auth"
	"github.com/passthru/gateway/shared/proxy"
)

// Two consumers of auth's credential list live here: x-pass- may not set any name in it, and
// detailed-debug logs redact every one of them (key stripping is TestGatewayKeysNeverReachUpstream,
// which carries keys in each of them).
func TestEveryCredentialHeaderIsProtectedAndRedacted(t *testing.T) {
	const cfg = `
general_settings:
  pass_through_endpoints:
    - {path: /pub, target: "{{UP}}/pub", auth: false}  # forwards no client header: logs still hide them
`
	up := startUpstream(t, jsonReply(200, `{}`))
	g := startGateway(t, cfg, up.URL, proxy.WithDetailedDebug(true))
	for _, name := range auth.CredentialHeaders() {
		t.Run(name, func(t *testing.T) {
			value := "caller-value-" + strings.ToLower(name)
			resp, body := do(t, "GET", g.URL+"/pub", nil, map[string]string{"X-Pass-" + name: value, name: value, "X-Note": "copy " + masterKey})
			wantStatus(t, resp, body, 200)
			g.usage.Next(t)
			if got := up.last(t).Header.Values(name); len(got) != 0 {
				t.Errorf("x-pass-%s set %s upstream: %q", name, name, got)
			}
			if logs := g.logs.String(); strings.Contains(logs, value) || strings.Contains(logs, masterKey) {
				t.Errorf("debug log shows %s's value or the master key:\n%s", name, logs)
			}
		})
	}
	// A request that forwards nothing of the caller's still has the master key hidden in the log.
	resp, body := do(t, "GET", g.URL+"/pub", nil, map[string]string{"X-Note": "copy " + masterKey})
	wantStatus(t, resp, body, 200)
	g.usage.Next(t)
	if logs := g.logs.String(); strings.Contains(logs, masterKey) {
		t.Errorf("debug log shows the master key:\n%s", logs)
	}
	if !strings.Contains(g.logs.String(), "client request") {
		t.Fatalf("no debug log written:\n%s", g.logs.String())
	}
}
