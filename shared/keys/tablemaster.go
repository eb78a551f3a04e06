package keys

import (
	"context"

	"github.com/passthru/gateway/shared/auth"
	"github.com/passthru/gateway/shared/route"
	"github.com/passthru/gateway/shared/secrets"
)

// RouteTables is the current route table (a file, or SSM with its cache); proxy.RouteSource
// satisfies it.
type RouteTables interface {
	Table(ctx context.Context) (*route.Table, error)
}

// TableMaster verifies keys against the master key that the current route table names
// (general_settings.master_key, usually an os.environ/ reference), resolved through a caching
// resolver: a rotated master key or a new settings parameter takes effect without a restart.
type TableMaster struct {
	Routes  RouteTables
	Secrets secrets.Resolver
}

// Verify implements MasterVerifier. Without a master key (Master returns "")
// auth.NewMasterKey("") refuses every key with auth.ErrNoMasterKey.
func (m TableMaster) Verify(ctx context.Context, key string) (auth.Principal, error) {
	master, err := m.Master(ctx)
	if err != nil {
		return auth.Principal{}, err
	}
	return auth.NewMasterKey(master).Verify(ctx, key)
}

// Master implements auth.MasterHolder: the master key the current table names, resolved
// through the same cache as Verify ("" when none is configured).
func (m TableMaster) Master(ctx context.Context) (string, error) {
	t, err := m.Routes.Table(ctx)
	if err != nil {
		return "", err
	}
	return RenderMaster(ctx, t.MasterKey, m.Secrets)
}

// RenderMaster resolves general_settings.master_key (a literal or an os.environ/ reference)
// through res; "" when none is configured. The start-up verifier and the per-table one
// (TableMaster) both call it, so a file and a pushed table read the same key the same way.
func RenderMaster(ctx context.Context, ref string, res secrets.Resolver) (string, error) {
	if ref == "" {
		return "", nil
	}
	return secrets.ParseTemplate(ref).Render(ctx, res)
}
