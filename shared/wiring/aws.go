package wiring

import (
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/passthru/gateway/shared/awssecrets"
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
