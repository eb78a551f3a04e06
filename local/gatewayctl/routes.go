//go:build !noawsbackends

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/redact"
	"github.com/passthru/gateway/shared/route"
	"github.com/passthru/gateway/shared/secrets"
	"github.com/passthru/gateway/shared/ssmroutes"
	"github.com/passthru/gateway/shared/wiring"
)

// load parses and compiles a config file exactly as the server does, printing its warnings.
func load(path string, stderr io.Writer) (*config.Config, error) {
	res := config.LoadFile(path)
	for _, w := range res.Warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	if res.Err != nil {
		return nil, fmt.Errorf("%s:\n%w", path, res.Err)
	}
	if _, err := route.NewTable(res.Config); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	// Each guardrail is built as the function will build it, so a bad parameter is refused here
	// rather than failing the route's calls after a push.
	if err := wiring.CheckGuardrails(res.Config, secrets.Env{}); err != nil {
		return nil, fmt.Errorf("%s:\n%w", path, err)
	}
	return res.Config, nil
}

func validate(fs *flag.FlagSet) action {
	return func(_ context.Context, pos []string, s streams) error {
		cfg, err := load(pos[0], s.stderr)
		if err != nil {
			return err
		}
		fmt.Fprintf(s.stdout, "%s: OK, %d endpoint(s); `secrets check` verifies its %d secret reference(s)\n", pos[0], len(cfg.Endpoints), len(cfg.SecretRefs()))
		return nil
	}
}

func ssmClient(ctx context.Context) (*ssm.Client, error) {
	cfg, err := loadAWS(ctx)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	return ssm.NewFromConfig(cfg), nil
}

func needPrefix(p string) error {
	if strings.Trim(p, "/") == "" {
		return fmt.Errorf("%w: --prefix is required (or set GATEWAY_ROUTES_PREFIX)", errUsage)
	}
	return nil
}

// routesPush syncs the config's endpoints to SSM and prints what changed.
func routesPush(fs *flag.FlagSet) action {
	prefix := routesPrefixFlag(fs)
	dry := fs.Bool("dry-run", false, "print the changes without writing them")
	prune := fs.Bool("prune", false, "delete stored routes that are no longer in the file")
	secure := fs.Bool("secure-string", false, "store specs as SecureString (literal credentials allowed)")
	allowLiteral := fs.Bool("allow-literal-credentials", false, "store literal credentials in String parameters anyway")
	return func(ctx context.Context, pos []string, s streams) error {
		if err := needPrefix(*prefix); err != nil {
			return err
		}
		cfg, err := load(pos[0], s.stderr)
		if err != nil {
			return err
		}
		if literal := cfg.LiteralCredentials(); len(literal) > 0 && !*secure && !*allowLiteral {
			return fmt.Errorf("refusing to store credentials in plain String parameters:\n  %s\nreference them as os.environ/NAME (a Secrets Manager secret), or pass --secure-string (or --allow-literal-credentials)",
				strings.Join(literal, "\n  "))
		}
		client, err := ssmClient(ctx)
		if err != nil {
			return err
		}
		stored, err := ssmroutes.List(ctx, client, *prefix)
		if err != nil {
			return err
		}
		changes, err := ssmroutes.Plan(*prefix, cfg, stored)
		if err != nil {
			return err
		}
		printPlan(s.stdout, changes, *prune)
		if *dry {
			fmt.Fprintln(s.stdout, "dry run: nothing written")
			return nil
		}
		return ssmroutes.Apply(ctx, client, changes, *prune, *secure)
	}
}

// routesPrefixFlag is --prefix of the routes commands.
func routesPrefixFlag(fs *flag.FlagSet) *string {
	return prefixFlag(fs, "GATEWAY_ROUTES_PREFIX", "the stack's SSM path: routes live under `PREFIX`/routes/ (required; /llm-gateway-dev for the dev stack)")
}

func printPlan(w io.Writer, changes []ssmroutes.Change, prune bool) {
	counts := map[ssmroutes.ChangeKind]int{}
	for _, c := range changes {
		counts[c.Kind]++
		switch c.Kind {
		case ssmroutes.Add:
			fmt.Fprintf(w, "+ %s\n", c.Name)
		case ssmroutes.Update:
			fmt.Fprintf(w, "~ %s (%s)\n", c.Name, strings.Join(c.ChangedFields(), ", "))
		case ssmroutes.Remove:
			if prune {
				fmt.Fprintf(w, "- %s\n", c.Name)
			} else {
				fmt.Fprintf(w, "! %s is stored but not in the file (--prune deletes it)\n", c.Name)
			}
		}
	}
	removed := counts[ssmroutes.Remove]
	if !prune {
		removed = 0
	}
	fmt.Fprintf(w, "%d added, %d changed, %d removed, %d unchanged\n", counts[ssmroutes.Add], counts[ssmroutes.Update], removed, counts[ssmroutes.Same])
}

// routesRead connects to SSM for a read-only routes command, once --prefix is checked.
func routesRead(ctx context.Context, prefix string) (*ssm.Client, error) {
	if err := needPrefix(prefix); err != nil {
		return nil, err
	}
	return ssmClient(ctx)
}

func routesList(fs *flag.FlagSet) action {
	prefix := routesPrefixFlag(fs)
	return func(ctx context.Context, _ []string, s streams) error {
		client, err := routesRead(ctx, *prefix)
		if err != nil {
			return err
		}
		p := *prefix
		stored, err := ssmroutes.List(ctx, client, p)
		if err != nil {
			return err
		}
		snap := ssmroutes.Build(p, stored, nil)
		routesDir := ssmroutes.RouteName(p, "")
		for _, e := range snap.Config.Endpoints {
			name := ssmroutes.RouteName(p, e.RouteID())
			fmt.Fprintf(s.stdout, "%-28s v%-3d %-30s %-28s -> %s\n", strings.TrimPrefix(name, routesDir), snap.Versions[name], e.Path, strings.Join(e.Methods, ","), redact.String(e.Target))
		}
		for _, r := range snap.Rejected {
			fmt.Fprintf(s.stdout, "%-28s v%-3d INVALID: %s\n", strings.TrimPrefix(r.Name, routesDir), r.Version, r.Reason)
		}
		return nil
	}
}

func routesGet(fs *flag.FlagSet) action {
	prefix := routesPrefixFlag(fs)
	return func(ctx context.Context, pos []string, s streams) error {
		client, err := routesRead(ctx, *prefix)
		if err != nil {
			return err
		}
		name := ssmroutes.RouteName(*prefix, pos[0])
		out, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: &name, WithDecryption: ptr(true)})
		if err != nil {
			return fmt.Errorf("get %s: %w", name, err)
		}
		fmt.Fprintf(s.stdout, "%s (version %d)\n%s\n", name, out.Parameter.Version, *out.Parameter.Value)
		return nil
	}
}

func ptr[T any](v T) *T { return &v }
