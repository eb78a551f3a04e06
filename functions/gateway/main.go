// Command gateway is the Lambda entry point: it builds the same handler the local server runs
// and serves Lambda Function URL events in RESPONSE_STREAM mode. Routes come from the LiteLLM
// config file named by GATEWAY_CONFIG (bundled next to the binary), secrets from the
// environment. API Gateway events, SSM routes and Secrets Manager arrive with later work.
package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/lambdaurl"

	"github.com/passthru/gateway/shared/gateway"
	"github.com/passthru/gateway/shared/proxy"
	"github.com/passthru/gateway/shared/secrets"
)

func main() {
	ctx := context.Background()
	log := gateway.NewLogger(os.Stdout, "json", os.Getenv("GATEWAY_DETAILED_DEBUG") == "true")
	h, err := build(ctx, envOr("GATEWAY_CONFIG", "config.yaml"), log)
	if err != nil {
		log.Error("cannot start", "error", err)
		os.Exit(1)
	}
	lambdaurl.Start(h)
}

func build(ctx context.Context, path string, log *slog.Logger) (http.Handler, error) {
	res := secrets.Env{}
	cfg, table, err := gateway.Load(ctx, path, res, log)
	if err != nil {
		return nil, err
	}
	keys, err := gateway.MasterKey(ctx, cfg, res, log)
	if err != nil {
		return nil, err
	}
	h := proxy.New(table, proxy.WithKeys(keys), proxy.WithSecrets(res), proxy.WithLogger(log),
		proxy.WithDetailedDebug(os.Getenv("GATEWAY_DETAILED_DEBUG") == "true"))
	return contained(h), nil
}

// contained keeps a cut stream from crashing the process: lambdaurl runs the handler in a
// goroutine without recovering, and the proxy aborts a response whose upstream died with
// http.ErrAbortHandler. The stream then simply ends; signalling it through the runtime's error
// trailer needs our own streaming adapter in place of lambdaurl.
func contained(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil && p != http.ErrAbortHandler {
				panic(p)
			}
		}()
		h.ServeHTTP(w, r)
	})
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}
