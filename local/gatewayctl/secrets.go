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
func secretsSet(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("secrets set", flag.ContinueOnError)
	prefix := prefixFlag(fs, "GATEWAY_SECRETS_PREFIX")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	name := *prefix + pos[0]
	if strings.Contains(pos[0], ":") {
		return fmt.Errorf("%w: %q: a secret name cannot contain ':' (NAME:field selects a field when reading)", errUsage, pos[0])
	}
	raw, err := io.ReadAll(io.LimitReader(stdin, 64<<10+1))
	if err != nil {
		return fmt.Errorf("read the value from standard input: %w", err)
	}
	value := strings.TrimRight(string(raw), "\r\n")
	switch {
	case len(raw) > 64<<10:
		return fmt.Errorf("the value is over Secrets Manager's 64 KB limit")
	case value == "":
		return fmt.Errorf("no value on standard input (e.g. `printf %%s \"$KEY\" | gatewayctl secrets set %s`)", pos[0])
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
			fmt.Fprintf(stdout, "updated %s (%d bytes)\n", name, len(value))
		}
	} else if err == nil {
		fmt.Fprintf(stdout, "created %s (%d bytes)\n", name, len(value))
	}
	if err != nil {
		return fmt.Errorf("store %s: %w", name, err)
	}
	return nil
}

// secretsCheck reports every os.environ/ reference of a config that Secrets Manager cannot
// resolve, by name and user, never a value.
func secretsCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("secrets check", flag.ContinueOnError)
	prefix := prefixFlag(fs, "GATEWAY_SECRETS_PREFIX")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	cfg, err := load(pos[0], stderr)
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
		fmt.Fprintf(stdout, "ok %s%s -> secret %s%s\n", secrets.RefPrefix, r, *prefix, strings.SplitN(r, ":", 2)[0])
	}
	fmt.Fprintf(stdout, "%d secret reference(s) resolve\n", len(refs))
	return nil
}
