//go:build !noawsbackends

package wiring

// The AWS-backed sources and sinks: routes in SSM, secrets in Secrets Manager, virtual keys and
// rate-limit counters in DynamoDB, usage records to Firehose. Linking their SDK packages costs
// every process ~4.9 MiB of resident memory from their package initialisation alone (schemas
// built at start, measured), used or not, so a build for local use only may leave them out:
// `go build -tags noawsbackends` (awsbackends_off.go; `make run` and `make bench` do).

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/passthru/gateway/shared/awssecrets"
	"github.com/passthru/gateway/shared/keys"
	"github.com/passthru/gateway/shared/ratelimit"
	"github.com/passthru/gateway/shared/secrets"
	"github.com/passthru/gateway/shared/ssmroutes"
	"github.com/passthru/gateway/shared/usage"
)

// AWSBackends reports whether this binary can read routes from SSM, secrets from Secrets
// Manager, keys and counters from DynamoDB, and send usage records to Firehose.
const AWSBackends = true

// SSMRoutes reads the route table from SSM Parameter Store under prefix.
func SSMRoutes(cfg aws.Config, prefix string, ttl time.Duration, log *slog.Logger, opts ...ssmroutes.Option) *ssmroutes.Source {
	return ssmroutes.New(ssm.NewFromConfig(cfg), prefix, append([]ssmroutes.Option{ssmroutes.WithTTL(ttl), ssmroutes.WithLogger(log)}, opts...)...)
}

// SecretsManager resolves os.environ/NAME to the secret prefix+NAME.
func SecretsManager(cfg aws.Config, prefix string, ttl time.Duration, opts ...awssecrets.Option) *awssecrets.Resolver {
	return awssecrets.New(secretsmanager.NewFromConfig(cfg), append([]awssecrets.Option{awssecrets.WithPrefix(prefix), awssecrets.WithTTL(ttl)}, opts...)...)
}

func secretsManagerSource(cfg aws.Config, o SourceOptions, log *slog.Logger) (secrets.Resolver, error) {
	return SecretsManager(cfg, o.SecretsPrefix, or(o.SecretsTTL, awssecrets.DefaultTTL),
		awssecrets.WithTimeout(o.AWSTimeout), awssecrets.WithLogger(log)), nil
}

// ssmRoutes reads the routes (and the master key with them) from SSM under o.RoutesPrefix.
func (s *Sources) ssmRoutes(ctx context.Context, cfg aws.Config, o SourceOptions, log *slog.Logger) error {
	routes := SSMRoutes(cfg, o.RoutesPrefix, or(o.RoutesTTL, ssmroutes.DefaultTTL), log, ssmroutes.WithTimeout(o.AWSTimeout), ssmroutes.WithBuiltin(o.builtin()))
	s.Routes, s.Keys = routes, keys.TableMaster{Routes: routes, Secrets: s.Secrets}
	if _, err := routes.Table(ctx); err != nil { // logged by the source; requests get 503 until it loads
		log.Warn("starting without routes", "prefix", o.RoutesPrefix)
	}
	return nil
}

func dynamoKeyStore(cfg aws.Config, table string) (keys.Store, error) {
	return keys.NewDynamoDB(dynamodb.NewFromConfig(cfg), table), nil
}

func dynamoLimiter(cfg aws.Config, table string, timeout time.Duration) (ratelimit.Limiter, error) {
	return ratelimit.NewDynamoDB(dynamodb.NewFromConfig(cfg), table, ratelimit.WithTimeout(timeout)), nil
}

// firehoseSink sends usage records to a Firehose stream; flush delivers what it holds and logs
// what Firehose did not take.
func firehoseSink(cfg aws.Config, stream string, stdout io.Writer, log *slog.Logger) (usage.Sink, func(context.Context), error) {
	// The sink retries failed entries itself; SDK retries on top would multiply them.
	client := firehose.NewFromConfig(cfg, func(o *firehose.Options) { o.RetryMaxAttempts = 1 })
	fh := usage.NewFirehose(client, stream, stdout, usage.WithErrorHandler(func(err error) {
		log.Error("usage records not delivered to Firehose; written to stdout instead", "error", err)
	}))
	return fh, func(ctx context.Context) { logUndelivered(log, fh.Flush(ctx)) }, nil
}

// logUndelivered logs a failed flush as one ERROR line with the counts and the cause, never a
// record: the records themselves are on stdout with the undelivered marker by then.
func logUndelivered(log *slog.Logger, err error) {
	var u *usage.UndeliveredError
	switch {
	case err == nil:
	case errors.As(err, &u):
		log.Error("usage records not delivered to Firehose; written to stdout with the "+usage.UndeliveredMarker+" marker",
			"stream", u.Stream, "undelivered", u.Undelivered, "total", u.Total, "error", u.Err)
	default:
		log.Error("usage flush failed", "error", err)
	}
}
