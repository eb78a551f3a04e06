package wiring

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/passthru/gateway/shared/builtin"
	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/keys"
	"github.com/passthru/gateway/shared/proxy"
	"github.com/passthru/gateway/shared/route"
	"github.com/passthru/gateway/shared/secrets"
)

// Sources are where the proxy's routes, secrets and keys come from.
type Sources struct {
	Routes  proxy.RouteSource
	Secrets secrets.Resolver
	Keys    proxy.KeyVerifier
	// Limiter enforces virtual keys' RPM limits (nil: none); FailOpen admits limited keys while
	// its store cannot be reached.
	Limiter  proxy.RateLimiter
	FailOpen bool
	// AWS loads the SDK configuration on first use (guardrails that call AWS); nil: the
	// standard chain.
	AWS func(ctx context.Context) (aws.Config, error)
}

// SourceOptions say where to read them from: routes from a config file (or its text) or from SSM
// under RoutesPrefix; secrets from the environment ("env") or Secrets Manager.
type SourceOptions struct {
	ConfigPath     string
	ConfigYAML     string // wins over ConfigPath
	RoutesPrefix   string // SSM; wins over both
	RoutesTTL      time.Duration
	Secrets        string // "env", "secretsmanager" or "inline"
	SecretsInline  string // JSON name -> value, with Secrets "inline"
	SecretsPrefix  string
	SecretsTTL     time.Duration
	MissingSecrets MissingSecrets // for a config file
	// KeysTable is the DynamoDB table of virtual keys (empty: the config file's `keys`, if any).
	KeysTable string
	// RateLimitTable is the DynamoDB table of per-minute counters (empty: counted in memory).
	RateLimitTable    string
	RateLimitFailOpen bool
	// RateLimitTimeout bounds each counter update, retries included (0: ratelimit.DefaultTimeout).
	RateLimitTimeout time.Duration
	// AWSTimeout bounds each read of SSM, Secrets Manager and the keys table, SDK retries
	// included (0: 3 s). Reads of cached items run in the background and never hold a request.
	AWSTimeout time.Duration
	// KeysTTL is how long a verified virtual key is cached (0: 30 s).
	KeysTTL time.Duration
	// Builtin configures the built-in provider routes (zero: base URLs from the process
	// environment).
	Builtin builtin.Options
	// Bedrock turns the built-in /bedrock route on: its calls are signed with the AWS SDK's
	// default credential chain (the function's role on Lambda), resolved at the first call.
	// Off, it answers 404 saying how to turn it on. A Builtin.Bedrock signer given wins.
	Bedrock bool
	// AWS, when set, is the SDK configuration for every AWS source instead of the standard
	// chain (tests point it at moto with their own HTTP client).
	AWS *aws.Config
}

// initBudget bounds everything OpenSources reads from AWS. On Lambda it runs in the init phase,
// which is limited to 10 s ("The Init phase is limited to 10 seconds", https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html);
// what cannot be read within the budget is logged and read again on the first requests.
const initBudget = 6 * time.Second

// OpenSources builds the sources the options name. The AWS SDK is configured by LoadAWS
// (credential chain, AWS_REGION, AWS_ENDPOINT_URL for moto).
func OpenSources(ctx context.Context, o SourceOptions, log *slog.Logger) (Sources, error) {
	if err := o.checkAWSBackends(); err != nil {
		return Sources{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, initBudget)
	defer cancel()
	var s Sources
	o.Builtin = o.withBedrock(log) // once: every table built from here on shares the signer
	if o.AWS != nil {
		cfg := *o.AWS
		s.AWS = func(context.Context) (aws.Config, error) { return cfg, nil }
	}
	awsCfg := o.AWS
	loadAWS := func() (aws.Config, error) { // once, and only when an AWS source is used
		if awsCfg == nil {
			cfg, err := LoadAWS(ctx, log)
			if err != nil {
				return cfg, fmt.Errorf("AWS configuration: %w", err)
			}
			awsCfg = &cfg
		}
		return *awsCfg, nil
	}
	switch o.Secrets {
	case "", "env":
		s.Secrets = secrets.Env{}
	case "inline":
		inline, err := secrets.ParseInline(o.SecretsInline)
		if err != nil {
			return s, err
		}
		s.Secrets = inline
	case "secretsmanager":
		cfg, err := loadAWS()
		if err != nil {
			return s, err
		}
		if s.Secrets, err = secretsManagerSource(cfg, o, log); err != nil {
			return s, err
		}
	default:
		return s, fmt.Errorf("secrets source %q is not env, secretsmanager or inline", o.Secrets)
	}
	if o.Builtin.Vertex == nil { // once: every table the sources build shares its token cache
		o.Builtin.Vertex = builtin.NewVertexAuth(s.Secrets, nil)
	}
	if o.RoutesPrefix != "" {
		cfg, err := loadAWS()
		if err != nil {
			return s, err
		}
		if err := s.ssmRoutes(ctx, cfg, o, log); err != nil {
			return s, err
		}
		return s, s.virtualKeys(ctx, o, nil, loadAWS, log)
	}
	cfg, err := s.openFile(ctx, o, log)
	if err != nil {
		return s, err
	}
	return s, s.virtualKeys(ctx, o, cfg, loadAWS, log)
}

func (s *Sources) openFile(ctx context.Context, o SourceOptions, log *slog.Logger) (*config.Config, error) {
	var (
		cfg   *config.Config
		table *route.Table
		err   error
	)
	if o.ConfigYAML != "" {
		cfg, table, err = LoadBytes(ctx, "inline config", []byte(o.ConfigYAML), s.Secrets, o.MissingSecrets, o.builtin(), log)
	} else {
		cfg, table, err = Load(ctx, o.ConfigPath, s.Secrets, o.MissingSecrets, o.builtin(), log)
	}
	if err != nil {
		return nil, err
	}
	s.Routes = table
	if _, fromEnv := s.Secrets.(secrets.Env); fromEnv {
		keys, err := MasterKey(ctx, cfg, s.Secrets, log)
		if err != nil {
			return nil, err
		}
		s.Keys = keys
	} else {
		warnNoMasterKey(cfg, log)
		s.Keys = keys.TableMaster{Routes: table, Secrets: s.Secrets} // follows the secret's rotation
	}
	LogRoutes(log, table)
	return cfg, nil
}

func or(d, fallback time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return fallback
}

// builtin is o.Builtin with the process environment as its default.
func (o SourceOptions) builtin() builtin.Options {
	b := o.Builtin
	if b.Env == nil {
		b.Env = os.Getenv
	}
	return b
}

// withBedrock is o.Builtin with the /bedrock signer, or the route turned off. The signer loads
// the AWS configuration (LoadAWS: credential chain, no IMDS probe on Lambda) at the first
// /bedrock call, with that call's context, so start-up reads nothing; o.AWS, when set, supplies
// the credentials instead.
func (o SourceOptions) withBedrock(log *slog.Logger) builtin.Options {
	b := o.Builtin
	switch {
	case b.Bedrock != nil || b.BedrockOff:
		return b
	case !o.Bedrock:
		b.BedrockOff = true
		return b
	}
	given := o.AWS
	b.Bedrock = builtin.NewBedrockSigner(func(ctx context.Context) (aws.CredentialsProvider, error) {
		if given != nil {
			return given.Credentials, nil
		}
		cfg, err := LoadAWS(ctx, log)
		if err != nil {
			return nil, fmt.Errorf("AWS configuration: %w", err)
		}
		return cfg.Credentials, nil
	}, log)
	return b
}

// checkAWSBackends fails, before any AWS configuration is looked up, when a setting needs an
// AWS backend that this binary was built without (AWSBackends).
func (o SourceOptions) checkAWSBackends() error {
	switch {
	case AWSBackends:
		return nil
	case o.RoutesPrefix != "":
		return errNoAWSBackends("routes from SSM (-routes-prefix)")
	case o.Secrets == "secretsmanager":
		return errNoAWSBackends("secrets from Secrets Manager (-secrets secretsmanager)")
	case o.KeysTable != "":
		return errNoAWSBackends("a DynamoDB keys table (-keys-table)")
	case o.RateLimitTable != "":
		return errNoAWSBackends("a DynamoDB rate-limit table (-ratelimit-table)")
	}
	return nil
}

func errNoAWSBackends(what string) error {
	return fmt.Errorf("%s needs the AWS backends, which this binary was built without (-tags noawsbackends, as `make run` builds bin/gateway): "+
		"build it with `go build -o bin/gateway ./local/gateway`, or use `make run-aws-local`", what)
}
