package wiring_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/passthru/gateway/shared/auth"
	"github.com/passthru/gateway/shared/builtin"
	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/keys"
	"github.com/passthru/gateway/shared/route"
	"github.com/passthru/gateway/shared/secrets"
	"github.com/passthru/gateway/shared/wiring"
)

// The start-up verifier (MasterKey) and the per-table one (TableMaster.Verify) render
// general_settings.master_key the same way: each accepts the rendered key, refuses every key
// without one, and fails when the reference cannot be resolved.
func TestMasterKeyVerifiersAgree(t *testing.T) {
	tests := []struct {
		name, master, key string
		secrets           secrets.Inline
		want              error // nil: accepted as the master key
		wantErr           bool  // the reference cannot be resolved
	}{
		{"reference", "os.environ/MASTER", "sk-ref", secrets.Inline{"MASTER": "sk-ref"}, nil, false},
		{"reference, wrong key", "os.environ/MASTER", "sk-other", secrets.Inline{"MASTER": "sk-ref"}, auth.ErrInvalidKey, false},
		{"literal", "sk-literal", "sk-literal", nil, nil, false},
		{"none", "", "sk-any", nil, auth.ErrNoMasterKey, false},
		{"secret missing", "os.environ/MASTER", "sk-ref", secrets.Inline{}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, table := tableWithMaster(t, tt.master)
			ctx := context.Background()
			startup, err := wiring.MasterKey(ctx, cfg, tt.secrets, slog.New(slog.DiscardHandler))
			if (err != nil) != tt.wantErr {
				t.Fatalf("MasterKey error = %v, want error %v", err, tt.wantErr)
			}
			perTable := keys.TableMaster{Routes: table, Secrets: tt.secrets}
			p, err := perTable.Verify(ctx, tt.key)
			if tt.wantErr {
				if err == nil || errors.Is(err, auth.ErrInvalidKey) || errors.Is(err, auth.ErrNoMasterKey) {
					t.Fatalf("TableMaster.Verify error = %v, want a resolution error", err)
				}
				return
			}
			if !errors.Is(err, tt.want) || (tt.want == nil && !p.Master) {
				t.Errorf("TableMaster.Verify = %+v, %v; want %v", p, err, tt.want)
			}
			p, err = startup.Verify(ctx, tt.key)
			if !errors.Is(err, tt.want) || (tt.want == nil && !p.Master) {
				t.Errorf("MasterKey.Verify = %+v, %v; want %v", p, err, tt.want)
			}
		})
	}
}

// tableWithMaster parses a one-route configuration naming master ("" for none) as its master key.
func tableWithMaster(t *testing.T, master string) (*config.Config, *route.Table) {
	t.Helper()
	yaml := "general_settings:\n"
	if master != "" {
		yaml += "  master_key: " + master + "\n"
	}
	yaml += "  pass_through_endpoints:\n    - {path: /x, target: \"https://x.example.com\", auth: false}\n"
	res := config.Parse([]byte(yaml))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	table, err := route.NewTable(res.Config)
	if err != nil {
		t.Fatal(err)
	}
	return res.Config, table
}

// Without a master key, the start-up log warns when some route needs one: a keyed endpoint, or
// any built-in provider route left on (they always take a key); not when every route is public
// and every built-in route is off.
func TestMasterKeyMissingWarns(t *testing.T) {
	const warning = "general_settings.master_key is not set: endpoints and built-in provider routes that need a key will answer 401"
	allOff := "  disabled_provider_routes: [" + strings.Join(builtin.Names(), ", ") + "]\n"
	for _, tc := range []struct {
		name, settings string
		warn           bool
	}{
		{"only built-in routes", "  pass_through_request_timeout: 600\n", true},
		{"a keyed endpoint, built-in routes off", allOff + "  pass_through_endpoints:\n    - {path: /x, target: \"http://127.0.0.1:1/x\", auth: true}\n", true},
		{"public endpoint, built-in routes off", allOff + "  pass_through_endpoints:\n    - {path: /x, target: \"http://127.0.0.1:1/x\", auth: false}\n", false},
		{"one built-in route left on", "  disabled_provider_routes: [" + strings.Join(builtin.Names()[1:], ", ") + "]\n", true},
		{"public endpoint, every built-in route off by \"*\"", "  disabled_provider_routes: [\"*\"]\n  pass_through_endpoints:\n    - {path: /x, target: \"http://127.0.0.1:1/x\", auth: false}\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := config.Parse([]byte("general_settings:\n" + tc.settings))
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			var logs bytes.Buffer
			if _, err := wiring.MasterKey(context.Background(), res.Config, secrets.Inline{}, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(logs.String(), warning); got != tc.warn {
				t.Errorf("warned %v, want %v; logs: %s", got, tc.warn, logs.String())
			}
		})
	}
}
