//go:build !noawsbackends

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/passthru/gateway/shared/awssecrets"
	"github.com/passthru/gateway/shared/builtin"
	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/secrets"
)

func secretsClient(ctx context.Context) (*secretsmanager.Client, error) {
	cfg, err := loadAWS(ctx)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	return secretsmanager.NewFromConfig(cfg), nil
}

// secretsSet stores a secret read from standard input: a value on the command line would end up
// in shell history and process listings.
func secretsSet(fs *flag.FlagSet) action {
	prefix := secretsPrefixFlag(fs)
	return func(ctx context.Context, pos []string, s streams) error {
		name := *prefix + pos[0]
		if strings.Contains(pos[0], ":") {
			return fmt.Errorf("%w: %q: a secret name cannot contain ':' (NAME:field selects a field when reading)", errUsage, pos[0])
		}
		value, err := readValue(s.stdin, pos[0])
		if err != nil {
			return err
		}
		client, err := secretsClient(ctx)
		if err != nil {
			return err
		}
		_, err = client.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: &name, SecretString: &value})
		var exists *types.ResourceExistsException
		if errors.As(err, &exists) {
			_, err = client.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: &name, SecretString: &value})
			if err == nil {
				fmt.Fprintf(s.stdout, "updated %s (%d bytes)\n", name, len(value))
			}
		} else if err == nil {
			fmt.Fprintf(s.stdout, "created %s (%d bytes)\n", name, len(value))
		}
		if err != nil {
			return fmt.Errorf("store %s: %w", name, err)
		}
		return nil
	}
}

// readValue reads a secret's value from standard input, without its trailing newline.
func readValue(stdin io.Reader, name string) (string, error) {
	raw, err := io.ReadAll(io.LimitReader(stdin, 64<<10+1))
	if err != nil {
		return "", fmt.Errorf("read the value from standard input: %w", err)
	}
	value := strings.TrimRight(string(raw), "\r\n")
	switch {
	case len(raw) > 64<<10:
		return "", fmt.Errorf("the value is over Secrets Manager's 64 KB limit")
	case value == "":
		return "", fmt.Errorf("no value on standard input (e.g. `printf %%s \"$KEY\" | gatewayctl secrets set %s`)", name)
	}
	return value, nil
}

// secretsPrefixFlag is --prefix of the secrets commands.
func secretsPrefixFlag(fs *flag.FlagSet) *string {
	return prefixFlag(fs, "GATEWAY_SECRETS_PREFIX", "Secrets Manager name prefix: os.environ/NAME is the secret `PREFIX`NAME (llm-gateway-dev/ for the dev stack)")
}

// secretsCheck reports every os.environ/ reference of a config that Secrets Manager cannot
// resolve, by name and user, never a value.
func secretsCheck(fs *flag.FlagSet) action {
	prefix := secretsPrefixFlag(fs)
	return func(ctx context.Context, pos []string, s streams) error {
		cfg, err := load(pos[0], s.stderr)
		if err != nil {
			return err
		}
		client, err := secretsClient(ctx)
		if err != nil {
			return err
		}
		res := awssecrets.New(client, awssecrets.WithPrefix(*prefix))
		if err := cfg.CheckSecrets(ctx, res); err != nil {
			return fmt.Errorf("%s: unresolved secrets:\n%w", pos[0], err)
		}
		refs := cfg.SecretRefs()
		for _, r := range refs {
			fmt.Fprintf(s.stdout, "ok %s%s -> secret %s%s\n", secrets.RefPrefix, r, *prefix, strings.SplitN(r, ":", 2)[0])
		}
		fmt.Fprintf(s.stdout, "%d secret reference(s) resolve\n", len(refs))
		return builtinSecrets(ctx, cfg, res, *prefix, s.stdout)
	}
}

// builtinSecrets reports the credentials of the built-in provider routes the config leaves on.
// A missing one is not an error: the route answers 401 naming it until it is set (or is turned
// off with general_settings.disabled_provider_routes), which the line says.
func builtinSecrets(ctx context.Context, cfg *config.Config, res secrets.Resolver, prefix string, out io.Writer) error {
	for _, sec := range builtin.Secrets(cfg) {
		_, err := res.Resolve(ctx, sec.Name)
		var nf *secrets.NotFoundError
		switch {
		case err == nil:
			fmt.Fprintf(out, "ok built-in %s -> secret %s%s\n", sec.Prefix, prefix, sec.Name)
		case errors.As(err, &nf) && sec.Optional:
			fmt.Fprintf(out, "unset built-in %s -> secret %s%s: only callers who send their own %s credential are served\n", sec.Prefix, prefix, sec.Name, sec.Provider)
		case errors.As(err, &nf):
			fmt.Fprintf(out, "unset built-in %s -> secret %s%s: calls answer 401 until it is set (or list %s in general_settings.disabled_provider_routes)\n", sec.Prefix, prefix, sec.Name, sec.Provider)
		default:
			return fmt.Errorf("built-in %s: secret %s%s: %w", sec.Prefix, prefix, sec.Name, err)
		}
	}
	return nil
}
