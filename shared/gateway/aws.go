package gateway

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/passthru/gateway/shared/auth"
	"github.com/passthru/gateway/shared/awssecrets"
	"github.com/passthru/gateway/shared/proxy"
	"github.com/passthru/gateway/shared/secrets"
	"github.com/passthru/gateway/shared/ssmroutes"
)

// SSMRoutes reads the route table from SSM Parameter Store under prefix.
func SSMRoutes(cfg aws.Config, prefix string, ttl time.Duration, log *slog.Logger, opts ...ssmroutes.Option) *ssmroutes.Source {
	return ssmroutes.New(ssm.NewFromConfig(cfg), prefix, append([]ssmroutes.Option{ssmroutes.WithTTL(ttl), ssmroutes.WithLogger(log)}, opts...)...)
}

// SecretsManager resolves os.environ/NAME to the secret prefix+NAME.
func SecretsManager(cfg aws.Config, prefix string, ttl time.Duration, opts ...awssecrets.Option) *awssecrets.Resolver {
	return awssecrets.New(secretsmanager.NewFromConfig(cfg), append([]awssecrets.Option{awssecrets.WithPrefix(prefix), awssecrets.WithTTL(ttl)}, opts...)...)
}

// TableMasterKey verifies keys against the master key that the current route table names
// (general_settings.master_key, usually an os.environ/ reference), resolved through a caching
// resolver: a rotated master key or a new settings parameter takes effect without a restart.
type TableMasterKey struct {
	Routes  proxy.RouteSource
	Secrets secrets.Resolver
}

// Verify implements the proxy's key verifier. Without a master key (Master returns "")
// auth.NewMasterKey("") refuses every key with auth.ErrNoMasterKey.
func (m TableMasterKey) Verify(ctx context.Context, key string) (auth.Principal, error) {
	master, err := m.Master(ctx)
	if err != nil {
		return auth.Principal{}, err
	}
	return auth.NewMasterKey(master).Verify(ctx, key)
}

// Master implements auth.MasterHolder: the master key the current table names, resolved
// through the same cache as Verify ("" when none is configured).
func (m TableMasterKey) Master(ctx context.Context) (string, error) {
	t, err := m.Routes.Table(ctx)
	if err != nil {
		return "", err
	}
	return renderMasterKey(ctx, t.MasterKey, m.Secrets)
}
