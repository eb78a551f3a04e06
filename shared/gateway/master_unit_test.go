package gateway_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/passthru/gateway/shared/auth"
	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/gateway"
	"github.com/passthru/gateway/shared/route"
	"github.com/passthru/gateway/shared/secrets"
)

// TableMasterKey tells the proxy the master key the table names (so it can keep it from the
// upstream), through the same resolver as Verify; "" without one, an error when unresolvable.
func TestTableMasterKeyMaster(t *testing.T) {
	tests := []struct {
		name, master string
		secrets      secrets.Inline
		want         string
		wantErr      bool
	}{
		{"reference", "os.environ/MASTER", secrets.Inline{"MASTER": "sk-ref"}, "sk-ref", false},
		{"literal", "sk-literal", nil, "sk-literal", false},
		{"none", "", nil, "", false},
		{"secret missing", "os.environ/MASTER", secrets.Inline{}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, table := tableWithMaster(t, tt.master)
			var h auth.MasterHolder = gateway.TableMasterKey{Routes: table, Secrets: tt.secrets}
			got, err := h.Master(context.Background())
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("Master = %q, %v; want %q, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// The start-up verifier (MasterKey) and the per-table one (TableMasterKey.Verify) render
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
			startup, err := gateway.MasterKey(ctx, cfg, tt.secrets, slog.New(slog.DiscardHandler))
			if (err != nil) != tt.wantErr {
				t.Fatalf("MasterKey error = %v, want error %v", err, tt.wantErr)
			}
			perTable := gateway.TableMasterKey{Routes: table, Secrets: tt.secrets}
			p, err := perTable.Verify(ctx, tt.key)
			if tt.wantErr {
				if err == nil || errors.Is(err, auth.ErrInvalidKey) || errors.Is(err, auth.ErrNoMasterKey) {
					t.Fatalf("TableMasterKey.Verify error = %v, want a resolution error", err)
				}
				return
			}
			if !errors.Is(err, tt.want) || (tt.want == nil && !p.Master) {
				t.Errorf("TableMasterKey.Verify = %+v, %v; want %v", p, err, tt.want)
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
