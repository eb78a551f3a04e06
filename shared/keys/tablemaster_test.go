package keys_test

import (
	"context"
	"testing"

	"github.com/passthru/gateway/shared/auth"
	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/keys"
	"github.com/passthru/gateway/shared/route"
	"github.com/passthru/gateway/shared/secrets"
)

// TableMaster tells the proxy the master key the table names (so it can keep it from the
// upstream), through the same resolver as Verify; "" without one, an error when unresolvable.
func TestTableMasterMaster(t *testing.T) {
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
			var h auth.MasterHolder = keys.TableMaster{Routes: tableWithMaster(t, tt.master), Secrets: tt.secrets}
			got, err := h.Master(context.Background())
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("Master = %q, %v; want %q, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// tableWithMaster parses a one-route configuration naming master ("" for none) as its master key.
func tableWithMaster(t *testing.T, master string) *route.Table {
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
	return table
}
