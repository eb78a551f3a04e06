//go:build !noawsbackends

package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/passthru/gateway/shared/wiring"
)

// loadAWS is the gateway's AWS configuration (wiring.LoadAWS: SDK warnings as log lines on
// stderr, no instance-metadata probe on Lambda) with the SDK's own retryer: a CLI run can wait
// out SSM's throttling where a request cannot.
func loadAWS(ctx context.Context) (aws.Config, error) {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return wiring.LoadAWS(ctx, log, awsconfig.WithRetryer(func() aws.Retryer { return retry.NewStandard() }))
}
