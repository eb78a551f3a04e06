package wiring

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/smithy-go/logging"
)

// SDK retry and connection settings shared by every AWS client of the gateway. Each call is also
// bounded by its caller's context (README: "Every AWS call"), and that bound includes retries; a
// short backoff cap lets a retry happen inside those 1-3 s budgets instead of sleeping past them
// (the SDK's default cap is 20 s).
const (
	sdkMaxAttempts = 3
	sdkMaxBackoff  = 200 * time.Millisecond
	sdkDialTimeout = time.Second
)

// LoadAWS is the AWS SDK configuration of every entry point (Lambda, local server, gatewayctl):
// the standard chain (credentials, AWS_REGION, AWS_ENDPOINT_URL for moto), plus
//   - the SDK's own log lines (e.g. "WARN falling back to IMDSv1") go through log, as JSON
//     when the gateway logs JSON, instead of a plain "SDK <date> WARN" line on stderr;
//   - no EC2 instance metadata probe on Lambda, where IMDS does not exist (credentials come
//     from the environment: https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
//     lists AWS_LAMBDA_FUNCTION_NAME and AWS_ACCESS_KEY_ID/AWS_SESSION_TOKEN among the reserved
//     variables). AWS_EC2_METADATA_DISABLED=true turns it off anywhere (the SDK reads it itself);
//   - at most 3 attempts per call with backoff capped at 200 ms and a 1 s connect timeout.
//
// extra options apply last (a CLI that can wait out throttling restores the SDK's retryer).
func LoadAWS(ctx context.Context, log *slog.Logger, extra ...func(*awsconfig.LoadOptions) error) (aws.Config, error) {
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithLogger(SDKLogger(log)),
		awsconfig.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts, o.MaxBackoff = sdkMaxAttempts, sdkMaxBackoff
			})
		}),
		awsconfig.WithHTTPClient(awshttp.NewBuildableClient().WithDialerOptions(func(d *net.Dialer) {
			d.Timeout = sdkDialTimeout
		})),
	}
	if os.Getenv("AWS_LAMBDA_FUNCTION_NAME") != "" {
		opts = append(opts, awsconfig.WithEC2IMDSClientEnableState(imds.ClientDisabled))
	}
	return awsconfig.LoadDefaultConfig(ctx, append(opts, extra...)...) // callers say what it was for
}

// SDKLogger routes the AWS SDK's log lines to log: WARN as warnings, DEBUG as debug lines,
// each with source "aws-sdk".
func SDKLogger(log *slog.Logger) logging.Logger {
	return logging.LoggerFunc(func(c logging.Classification, format string, v ...any) {
		msg := strings.TrimSpace(fmt.Sprintf(format, v...))
		if c == logging.Warn {
			log.Warn(msg, "source", "aws-sdk")
			return
		}
		log.Debug(msg, "source", "aws-sdk")
	})
}
