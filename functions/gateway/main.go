// Command gateway is the Lambda function: the composition root that reads its settings from the
// environment, builds the pass-through handler, and serves it to Lambda events (REST API,
// Function URL, HTTP API) streamed or buffered as each integration expects.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/passthru/gateway/shared/wiring"
)

func main() {
	applySoftMemoryLimit(os.Getenv)
	s, err := settingsFromEnv(os.Getenv)
	log := wiring.NewLogger(os.Stdout, s.logFormat, s.detailedDebug)
	if err != nil {
		log.Error("invalid settings", "error", err)
		os.Exit(1)
	}
	adapter, err := build(context.Background(), s, log)
	if err != nil {
		log.Error("cannot start", "error", err)
		os.Exit(1)
	}
	applyMaxProcs(os.Getenv) // after start-up, which runs faster with the collector on a thread of its own
	lambda.Start(adapter.Invoke)
}
