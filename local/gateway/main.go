// Command gateway runs the pass-through gateway on a laptop: the same handler as on Lambda,
// with routes from a LiteLLM config file and secrets from the environment, or, as on Lambda,
// routes from SSM and secrets from Secrets Manager (`make run-aws-local` does that against moto).
//
//	gateway [-config local/config.yaml] [-addr 127.0.0.1:4000] [--detailed-debug]
//	gateway -routes-prefix /llm-gateway -secrets secretsmanager [-secrets-prefix P]
//	gateway validate FILE
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/passthru/gateway/shared/builtin"
	"github.com/passthru/gateway/shared/secrets"
	"github.com/passthru/gateway/shared/wiring"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "validate" {
		return validate(ctx, args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "local/config.yaml", "LiteLLM config file")
	addr := fs.String("addr", "127.0.0.1:4000", "listen address")
	usageLog := fs.String("usage-log", "", "append one JSON usage record per call to this file")
	metrics := fs.String("metrics-namespace", "", "also write one CloudWatch EMF line per call to stdout, in this namespace")
	metricModels := fs.String("metrics-models", "", "comma-separated models used as the EMF Model dimension as sent, besides the priced ones (others: \"other\")")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	var src wiring.SourceOptions
	fs.StringVar(&src.RoutesPrefix, "routes-prefix", "", "read routes from SSM under this prefix instead of -config")
	fs.DurationVar(&src.RoutesTTL, "routes-ttl", 0, "how long SSM routes are cached (default 30s)")
	fs.StringVar(&src.Secrets, "secrets", "env", "where os.environ/ references are read: env, secretsmanager or inline")
	fs.StringVar(&src.SecretsPrefix, "secrets-prefix", "", "Secrets Manager name prefix")
	fs.StringVar(&src.SecretsInline, "secrets-inline", "", "with -secrets inline: a JSON object of name to value")
	fs.DurationVar(&src.SecretsTTL, "secrets-ttl", 0, "how long secrets are cached (default 5m)")
	fs.StringVar(&src.KeysTable, "keys-table", "", "DynamoDB table of virtual keys (default: the config file's keys)")
	fs.StringVar(&src.RateLimitTable, "ratelimit-table", "", "DynamoDB table of per-minute counters (default: in memory)")
	fs.BoolVar(&src.Bedrock, "bedrock", true, "serve /bedrock, signed with the AWS default credential chain read at the first call (calls answer 401 while it finds none)")
	var debug bool
	fs.BoolVar(&debug, "detailed-debug", false, "log every request and upstream exchange (credentials redacted)")
	fs.BoolVar(&debug, "detailed_debug", false, "same as --detailed-debug (LiteLLM's spelling)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log := wiring.NewLogger(stderr, *logFormat, debug)
	src.ConfigPath = *configPath
	use := wiring.UsageOptions{File: *usageLog, MetricsNamespace: *metrics, MetricModels: wiring.SplitList(*metricModels), Stdout: stdout}
	if err := serve(ctx, src, use, *addr, debug, log); err != nil {
		log.Error(err.Error())
		return 1
	}
	return 0
}

func serve(ctx context.Context, src wiring.SourceOptions, use wiring.UsageOptions, addr string, debug bool, log *slog.Logger) error {
	src.MissingSecrets = wiring.FailOnMissingSecrets
	sources, err := wiring.OpenSources(ctx, src, log)
	if err != nil {
		return err
	}
	use.Routes = sources.Routes // model_prices overrides name priced models in the EMF too
	u, err := wiring.OpenUsage(ctx, use, log)
	if err != nil {
		return err
	}
	defer u.Close()
	h := wiring.NewHandler(sources, u.Sink, log, debug)
	srv := &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("gateway listening", "addr", "http://"+addr)
	select {
	case err := <-errc:
		return fmt.Errorf("listen on %s: %w", addr, err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("gateway stopped")
	return nil
}

// validate checks a config file exactly as serving it would, without serving.
func validate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: gateway validate FILE")
		return 2
	}
	log := wiring.NewLogger(stderr, "text", false)
	cfg, table, err := wiring.Load(ctx, args[0], secrets.Env{}, wiring.FailOnMissingSecrets, builtin.Options{Env: os.Getenv}, log)
	if err == nil {
		_, err = wiring.MasterKey(ctx, cfg, secrets.Env{}, log)
	}
	if err != nil {
		fmt.Fprintf(stderr, "invalid: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: OK, %d endpoint(s)\n%s", args[0], len(cfg.Endpoints), table)
	if cfg.CORS != nil {
		fmt.Fprintf(stdout, "cors: OPTIONS answered and CORS headers sent for origins %s (max_age %s)\n", strings.Join(cfg.CORS.AllowOrigins, ", "), cfg.CORS.MaxAge)
	}
	fmt.Fprintln(stdout, "built-in provider routes:")
	for _, line := range builtin.Describe(cfg, builtin.Options{Env: os.Getenv}) {
		fmt.Fprintln(stdout, "  "+line)
	}
	if _, notes, err := builtin.NewTable(cfg, builtin.Options{Env: os.Getenv}); err == nil {
		for _, n := range notes {
			fmt.Fprintln(stdout, "note: "+n)
		}
	}
	return 0
}
