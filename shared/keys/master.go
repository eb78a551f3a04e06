package keys

import (
	"context"

	"github.com/passthru/gateway/shared/auth"
)

// Master implements auth.MasterHolder: the master verifier's key, "" when it cannot say (or
// there is none). It never reads the key store.
func (v *Verifier) Master(ctx context.Context) (string, error) {
	if m, ok := v.master.(auth.MasterHolder); ok {
		return m.Master(ctx)
	}
	return "", nil
}
