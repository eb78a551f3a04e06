// Command gatewayctl manages a deployed gateway's routes (SSM Parameter Store) and provider
// credentials (Secrets Manager) from the same LiteLLM config file the local server runs. It uses
// the standard AWS credential chain; AWS_ENDPOINT_URL points it at moto.
//
//	gatewayctl validate FILE
//	gatewayctl routes push FILE --prefix P [--dry-run] [--prune] [--secure-string]
//	gatewayctl routes list --prefix P
//	gatewayctl routes get ID --prefix P
//	gatewayctl secrets set NAME [--prefix S]     (the value is read from standard input)
//	gatewayctl secrets check FILE [--prefix S]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

const usage = `usage:
  gatewayctl validate FILE
  gatewayctl routes push FILE --prefix P [--dry-run] [--prune] [--secure-string]
  gatewayctl routes list --prefix P
  gatewayctl routes get ID --prefix P
  gatewayctl secrets set NAME [--prefix S]    (value from standard input, never from arguments)
  gatewayctl secrets check FILE [--prefix S]
  gatewayctl keys create --alias A [--rpm N] [--routes /v1/rerank,...] [--expires 30d] [--tags t1,t2] [--metadata k=v,...] [--table T]
  gatewayctl keys list|show ALIAS_OR_HASH|revoke ALIAS_OR_HASH [--table T]
  gatewayctl keys init [--table T] [--ratelimit-table R]    (creates the tables: moto; on AWS the template does)
--prefix defaults to $GATEWAY_ROUTES_PREFIX for routes and $GATEWAY_SECRETS_PREFIX for secrets.`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// errUsage marks a command line that is wrong, as opposed to a command that failed.
var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	err := dispatch(ctx, args, stdin, stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintln(stderr, err)
		fmt.Fprintln(stderr, usage)
		return 2
	default:
		fmt.Fprintln(stderr, "gatewayctl:", err)
		return 1
	}
}

func dispatch(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := strings.Join(first(args, 2), " ")
	switch {
	case len(args) > 0 && args[0] == "validate":
		return validate(args[1:], stdout, stderr)
	case cmd == "routes push":
		return routesPush(ctx, args[2:], stdout, stderr)
	case cmd == "routes list":
		return routesList(ctx, args[2:], stdout)
	case cmd == "routes get":
		return routesGet(ctx, args[2:], stdout)
	case cmd == "secrets set":
		return secretsSet(ctx, args[2:], stdin, stdout)
	case cmd == "secrets check":
		return secretsCheck(ctx, args[2:], stdout, stderr)
	case cmd == "keys init":
		return keysInit(ctx, args[2:], stdout)
	case cmd == "keys create":
		return keysCreate(ctx, args[2:], stdout)
	case cmd == "keys list":
		return keysList(ctx, args[2:], stdout)
	case cmd == "keys show":
		return keysShow(ctx, args[2:], stdout)
	case cmd == "keys revoke":
		return keysRevoke(ctx, args[2:], stdout)
	default:
		return fmt.Errorf("%w: unknown command %q", errUsage, strings.Join(args, " "))
	}
}

func first(args []string, n int) []string { return args[:min(n, len(args))] }

// parse reads flags placed anywhere among the positional arguments, which must number want.
func parse(fs *flag.FlagSet, args []string, want int) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos, args = append(pos, args[0]), args[1:]
	}
	if len(pos) != want {
		return nil, fmt.Errorf("%w: %s takes %d argument(s), got %d", errUsage, fs.Name(), want, len(pos))
	}
	return pos, nil
}

func envOr(name string) string { return os.Getenv(name) }

func prefixFlag(fs *flag.FlagSet, env string) *string {
	return fs.String("prefix", os.Getenv(env), "name prefix (default $"+env+")")
}
