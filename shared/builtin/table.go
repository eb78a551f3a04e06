package builtin

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/route"
)

// Env reads an environment variable (os.Getenv; tests pass a map's lookup).
type Env func(string) string

// Options are what the built-in routes are built from besides the configuration. They hold
// the long-lived parts (signers, token caches) that every rebuilt table shares.
type Options struct {
	// Env supplies the base URL overrides (ANTHROPIC_API_BASE, ...); nil reads none.
	Env Env
	// Bedrock signs the /bedrock route's calls (NewBedrockSigner; one per process, as it
	// caches the AWS credentials). nil: each call is answered 401 naming AWS credentials.
	Bedrock *BedrockSigner
	// BedrockOff turns /bedrock off: each call is answered 404 with BedrockOffMessage.
	BedrockOff bool
	// Vertex mints and caches the Google access tokens of /vertex_ai (NewVertexAuth); nil:
	// the route has no service account and serves callers who bring their own Google token.
	Vertex *VertexAuth

	cfg *config.Config // the configuration the route is built from (set by Provider.route)
}

func (o Options) env(name string) string {
	if o.Env == nil {
		return ""
	}
	return o.Env(name)
}

// NewTable compiles the configuration's endpoints and then the built-in provider routes that
// are on: every provider not listed in general_settings.disabled_provider_routes ("*": all)
// whose prefix no configured endpoint takes (a configured endpoint at the same path wins; one
// below it wins for the paths it serves, by the table's longest match). Notes say what was
// turned off or overlapped, for `validate` and the start-up log.
func NewTable(cfg *config.Config, o Options) (*route.Table, []string, error) {
	if err := CheckProviderRouteGuardrails(cfg.ProviderRouteGuardrails, cfg.ProviderRouteGuardrailStreaming); err != nil {
		return nil, nil, err
	}
	t, err := route.NewTable(cfg)
	if err != nil {
		return nil, nil, err
	}
	notes := unknownDisabled(cfg.DisabledProviderRoutes)
	for _, p := range Registry {
		if Disabled(cfg.DisabledProviderRoutes, p.Name) {
			continue
		}
		for _, prefix := range p.Prefixes {
			if e := configuredAt(cfg, prefix); e != nil {
				notes = append(notes, fmt.Sprintf("%s overrides the built-in %s route %s", e.Name(), p.Name, prefix))
				continue
			}
			for _, e := range configuredBelow(cfg, prefix) {
				notes = append(notes, fmt.Sprintf("%s takes %s from the built-in %s route %s", e.Name(), e.Path, p.Name, prefix))
			}
			r, err := p.route(cfg, prefix, o)
			if err != nil {
				return nil, nil, err
			}
			t.Add(r)
		}
	}
	return t, notes, nil
}

// route compiles the provider's route at prefix.
func (p *Provider) route(cfg *config.Config, prefix string, o Options) (*route.Route, error) {
	o.cfg = cfg
	base, off := p.base(o)
	if off == "" && p.Off != nil {
		off = p.Off(o)
	}
	e := config.Endpoint{
		Path: prefix, Target: base, IncludeSubpath: true, Methods: slices.Clone(config.DefaultMethods),
		Auth: config.AuthGranted, ForwardHeaders: p.ForwardHeaders, Provider: p.Name,
		GuardrailStreaming: slices.Contains(cfg.ProviderRouteGuardrailStreaming, p.Name),
	}
	switch c := p.Credential; c.Kind {
	case Headers:
		for _, name := range sortedKeys(c.Headers) {
			e.Headers = append(e.Headers, config.Header{Name: name, Value: c.Headers[name]})
		}
	case Query:
		e.Target += "?" + url.QueryEscape(c.Param) + "=" + ref(c.Secrets[0])
	case Basic:
		e.LangfusePublicKey, e.LangfuseSecretKey = ref(c.Secrets[0]), ref(c.Secrets[1])
	}
	r, err := route.New(&e, cfg.EffectiveTimeout(&e))
	if err != nil {
		return nil, fmt.Errorf("built-in %s route: %w", p.Name, err)
	}
	r.Builtin = &route.Builtin{
		Secrets: p.secrets(cfg), KeyFromQuery: p.KeyFromQuery, CallerCredentials: p.CallerCredentials,
		Off: off, Subpath: p.Subpath, AddHeaders: p.AddHeaders, AllowHeaders: p.AllowHeaders,
		NoCredential:  p.NoCredential,
		CallerHeaders: p.CallerHeaders,
	}
	if p.Target != nil {
		r.Builtin.Target = func(subpath string) (*url.URL, string, error) { return p.Target(o, subpath) }
	}
	if p.Authorizer != nil {
		r.Builtin.Authorizer = p.Authorizer(o)
	}
	return r, nil
}

// base is the base URL the route calls: the environment override, else the default, with its
// path dropped unless the provider keeps it. off says why the route cannot serve (no base URL,
// or one that is not an absolute http(s) URL).
func (p *Provider) base(o Options) (base, off string) {
	raw := p.Base
	if v := strings.TrimSpace(o.env(p.BaseEnv)); v != "" {
		raw = v
		if !strings.Contains(raw, "://") {
			raw = "http://" + raw // LiteLLM's rule for LANGFUSE_HOST, kept for every override
		}
	}
	placeholder := "https://" + p.Name + ".invalid"
	if raw == "" {
		return placeholder, fmt.Sprintf("The built-in %s route is off: %s is not set (the provider's base URL).", p.Prefixes[0], p.BaseEnv)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return placeholder, fmt.Sprintf("The built-in %s route is off: %s is not an http(s) URL.", p.Prefixes[0], p.BaseEnv)
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	if !p.KeepBasePath {
		u.Path, u.RawPath = "", ""
	}
	return u.String(), ""
}

// Disabled reports whether disabled_provider_routes (list) turns the route name off: by its
// name, or all of them by "*".
func Disabled(list []string, name string) bool {
	return slices.Contains(list, "*") || slices.Contains(list, name)
}

// unknownDisabled notes names in disabled_provider_routes that are no built-in route.
func unknownDisabled(list []string) []string {
	var notes []string
	for _, n := range list {
		if n != "*" && !slices.Contains(Names(), n) {
			notes = append(notes, fmt.Sprintf("general_settings.disabled_provider_routes: %q is not a built-in provider route (known: %s)", n, strings.Join(Names(), ", ")))
		}
	}
	return notes
}

// CheckProviderRouteGuardrails refuses a general_settings.provider_route_guardrails key, or a
// provider_route_guardrail_streaming entry, that is not a built-in provider's name: its
// guardrails would guard no route, and a typo there must not pass for a guard. The config file
// (NewTable, gatewayctl's checks) and the SSM settings parameter are both checked with it;
// config cannot check it itself, as it does not know the registry.
func CheckProviderRouteGuardrails(guards map[string][]config.Guardrail, streaming []string) error {
	for _, list := range []struct {
		setting string
		names   []string
	}{{"provider_route_guardrails", slices.Sorted(maps.Keys(guards))}, {"provider_route_guardrail_streaming", streaming}} {
		for _, name := range list.names {
			if !slices.Contains(Names(), name) {
				return fmt.Errorf("general_settings.%s: %q is not a built-in provider (valid: %s)", list.setting, name, strings.Join(Names(), ", "))
			}
		}
	}
	return nil
}

// configuredAt is the configured endpoint at path, if any.
func configuredAt(cfg *config.Config, path string) *config.Endpoint {
	for i := range cfg.Endpoints {
		if strings.TrimSuffix(cfg.Endpoints[i].Path, "/") == path {
			return &cfg.Endpoints[i]
		}
	}
	return nil
}

// configuredBelow lists the configured endpoints under prefix.
func configuredBelow(cfg *config.Config, prefix string) []*config.Endpoint {
	var below []*config.Endpoint
	for i := range cfg.Endpoints {
		if strings.HasPrefix(cfg.Endpoints[i].Path, prefix+"/") {
			below = append(below, &cfg.Endpoints[i])
		}
	}
	return below
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Describe says, one line per built-in route, what it serves and whether its credential is set
// in env (locally the secrets are the environment), for `validate`.
func Describe(cfg *config.Config, o Options) []string {
	var lines []string
	for _, p := range Registry {
		for _, prefix := range p.Prefixes {
			switch base, off := p.base(o); {
			case Disabled(cfg.DisabledProviderRoutes, p.Name):
				lines = append(lines, fmt.Sprintf("%s/** off (general_settings.disabled_provider_routes)", prefix))
			case configuredAt(cfg, prefix) != nil:
				lines = append(lines, fmt.Sprintf("%s/** served by the configured endpoint instead", prefix))
			case p.Describe != nil:
				lines = append(lines, prefix+"/** "+p.Describe(o))
			case off != "":
				lines = append(lines, fmt.Sprintf("%s/** off: %s is not set or not an http(s) URL", prefix, p.BaseEnv))
			default:
				if p.Shown != "" && strings.TrimSpace(o.env(p.BaseEnv)) == "" {
					base = p.Shown
				}
				lines = append(lines, fmt.Sprintf("%s/** -> %s (%s; %s)", prefix, base, p.Name, p.credentialState(cfg, o)))
			}
		}
	}
	return lines
}

// secrets are the secrets the provider's credential reads under cfg.
func (p *Provider) secrets(cfg *config.Config) []string {
	if p.CredentialSecrets != nil {
		return p.CredentialSecrets(cfg)
	}
	return p.Credential.Secrets
}

// credentialState says whether the provider's credential secrets are set.
func (p *Provider) credentialState(cfg *config.Config, o Options) string {
	names := p.secrets(cfg)
	var missing []string
	for _, s := range names {
		if o.env(s) == "" {
			missing = append(missing, s)
		}
	}
	switch {
	case len(names) == 0:
		return "credential written in the configuration"
	case len(missing) == 0:
		return strings.Join(names, " and ") + " set"
	case p.CallerCredentials:
		return strings.Join(missing, " and ") + " not set: callers' own credentials only"
	}
	return strings.Join(missing, " and ") + " not set: calls answer 401"
}

// Secret is a secret a built-in route that is on reads for its credential.
type Secret struct {
	Name     string // the secret (os.environ/) name
	Provider string
	Prefix   string // the route's first prefix
	// Optional: without it the route still serves callers who bring their own credential.
	Optional bool
}

// Secrets lists the secrets of the built-in routes the configuration leaves on (not disabled,
// not replaced by a configured endpoint), for `gatewayctl secrets check`.
func Secrets(cfg *config.Config) []Secret {
	var out []Secret
	for _, p := range Registry {
		if Disabled(cfg.DisabledProviderRoutes, p.Name) || configuredAt(cfg, p.Prefixes[0]) != nil {
			continue
		}
		for _, name := range p.secrets(cfg) {
			out = append(out, Secret{Name: name, Provider: p.Name, Prefix: p.Prefixes[0], Optional: p.CallerCredentials})
		}
	}
	return out
}
