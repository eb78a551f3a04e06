//go:build noawsbackends

package wiring

// A build for local use only (`go build -tags noawsbackends`, as `make run` and `make bench`
// build bin/gateway) leaves the AWS SDK service packages of the AWS-backed sources out: ~4.9 MiB
// less resident memory (awsbackends.go). A setting that needs one fails at start, saying so,
// rather than doing without it.

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/passthru/gateway/shared/keys"
	"github.com/passthru/gateway/shared/ratelimit"
	"github.com/passthru/gateway/shared/secrets"
	"github.com/passthru/gateway/shared/usage"
)

// AWSBackends reports whether this binary can read routes from SSM, secrets from Secrets
// Manager, keys and counters from DynamoDB, and send usage records to Firehose.
const AWSBackends = false

func secretsManagerSource(aws.Config, SourceOptions, *slog.Logger) (secrets.Resolver, error) {
	return nil, errNoAWSBackends("secrets from Secrets Manager")
}

func (s *Sources) ssmRoutes(context.Context, aws.Config, SourceOptions, *slog.Logger) error {
	return errNoAWSBackends("routes from SSM")
}

func dynamoKeyStore(aws.Config, string) (keys.Store, error) {
	return nil, errNoAWSBackends("a DynamoDB keys table")
}

func dynamoLimiter(aws.Config, string, time.Duration) (ratelimit.Limiter, error) {
	return nil, errNoAWSBackends("a DynamoDB rate-limit table")
}

func firehoseSink(aws.Config, string, io.Writer, *slog.Logger) (usage.Sink, func(context.Context), error) {
	return nil, nil, errNoAWSBackends("usage records to Firehose")
}
