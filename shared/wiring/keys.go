package wiring

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/passthru/gateway/shared/auth"
	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/keys"
	"github.com/passthru/gateway/shared/ratelimit"
	"github.com/passthru/gateway/shared/secrets"
)

// virtualKeys puts virtual keys behind the master key: from DynamoDB when a table is named,
// else from the config file's `keys`; and the limiter that counts their requests.
func (s *Sources) virtualKeys(ctx context.Context, o SourceOptions, cfg *config.Config, loadAWS func() (aws.Config, error), log *slog.Logger) error {
	var store keys.Store
	opts := []keys.Option{keys.WithTimeout(o.AWSTimeout), keys.WithLogger(log)}
	switch {
	case o.KeysTable != "":
		c, err := loadAWS()
		if err != nil {
			return err
		}
		if store, err = dynamoKeyStore(c, o.KeysTable); err != nil {
			return err
		}
	case cfg != nil && len(cfg.Keys) > 0:
		mem, err := memoryKeys(ctx, cfg.Keys, s)
		if err != nil {
			return err
		}
		store = mem
		// A key in the config file may be any literal, not only a generated one; reading this
		// store costs nothing, and misses are cached apart from found keys.
		opts = append(opts, keys.WithKeyShape(nil))
	default:
		return nil // the master key only
	}
	if o.KeysTTL > 0 {
		opts = append(opts, keys.WithPositiveTTL(o.KeysTTL))
	}
	s.Keys = keys.NewVerifier(s.Keys, store, opts...)
	return s.rateLimiter(o, loadAWS)
}

// memoryKeys resolves the config file's keys (literal or os.environ/) into an in-memory store.
func memoryKeys(ctx context.Context, specs []config.KeySpec, s *Sources) (*keys.Memory, error) {
	var list []keys.Key
	for _, k := range specs {
		clear, err := resolveRef(ctx, k.Key, s)
		if err != nil {
			return nil, fmt.Errorf("keys (%s): %w", k.Alias, err)
		}
		list = append(list, keys.Key{Hash: auth.Hash(clear), Alias: k.Alias, Expires: k.Expires, Routes: k.Routes, RPM: k.RPM, Tags: k.Tags, Metadata: k.Metadata})
	}
	return keys.NewMemory(list...), nil
}

// rateLimiter counts virtual keys' requests: in DynamoDB when a table is named (exact across
// every instance), else in this process.
func (s *Sources) rateLimiter(o SourceOptions, loadAWS func() (aws.Config, error)) error {
	var l ratelimit.Limiter = ratelimit.NewMemory()
	if o.RateLimitTable != "" {
		c, err := loadAWS()
		if err != nil {
			return err
		}
		if l, err = dynamoLimiter(c, o.RateLimitTable, o.RateLimitTimeout); err != nil {
			return err
		}
	}
	s.Limiter, s.FailOpen = l, o.RateLimitFailOpen
	return nil
}

// resolveRef renders a literal or os.environ/ value through the sources' resolver.
func resolveRef(ctx context.Context, v string, s *Sources) (string, error) {
	return secrets.ParseTemplate(v).Render(ctx, s.Secrets)
}
