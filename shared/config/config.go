// Package config reads LiteLLM-shaped configuration: the `general_settings` block of a LiteLLM
// `config.yaml`, with its `pass_through_endpoints`. It parses and validates; it does not serve.
// The same endpoint parser reads one endpoint from JSON (JSON is YAML), which is how a route
// spec stored elsewhere is read.
package config

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/passthru/gateway/shared/auth"
	"github.com/passthru/gateway/shared/secrets"
)

// DefaultTimeout is LiteLLM's upstream timeout when neither the endpoint nor
// general_settings.pass_through_request_timeout sets one.
const DefaultTimeout = 600 * time.Second

// DefaultMethods are the methods an endpoint serves when it lists none (LiteLLM registers no
// HEAD or OPTIONS by default).
var DefaultMethods = []string{"GET", "POST", "PUT", "DELETE", "PATCH"}

// Config is a validated configuration.
type Config struct {
	// MasterKey is the master key as written: a literal or an os.environ/ reference.
	MasterKey string
	// RequestTimeout is general_settings.pass_through_request_timeout (0 when unset).
	RequestTimeout time.Duration
	Endpoints      []Endpoint
	// IncludeCostInStreamingUsage is litellm_settings.include_cost_in_streaming_usage: every
	// endpoint injects costs into its streamed usage events.
	IncludeCostInStreamingUsage bool
	// Keys are virtual keys declared in the file (top-level `keys`), for local runs; on AWS keys
	// live in DynamoDB (`gatewayctl keys`).
	Keys []KeySpec
	// ModelPrices are per-model prices (top-level `model_prices`, in LiteLLM's
	// model_prices_and_context_window.json fields) that win over the embedded table.
	ModelPrices map[string]ModelPrice
	// CORS is general_settings.cors (nil: no CORS headers, OPTIONS not answered).
	CORS *CORS
	// DisabledProviderRoutes is general_settings.disabled_provider_routes: built-in provider
	// routes not to serve, by provider name ("*": none is served).
	DisabledProviderRoutes []string
	// Vertex is the top-level default_vertex_config (nil: not set), for /vertex_ai.
	Vertex *VertexConfig
	// Models are the top-level model_list entries, read when an endpoint's target is
	// custom_callbacks.anthropic_adapter (its backends).
	Models []Model
	// Guardrails are the top-level `guardrails:` definitions, in file order.
	Guardrails []GuardrailDef
	// ProviderRouteGuardrails is general_settings.provider_route_guardrails: the guardrails
	// each built-in provider route runs, by provider name.
	ProviderRouteGuardrails map[string][]Guardrail
	// ProviderRouteGuardrailStreaming is general_settings.provider_route_guardrail_streaming:
	// the providers whose built-in route checks streamed responses with its post_call
	// guardrails event by event (an endpoint's guardrail_streaming).
	ProviderRouteGuardrailStreaming []string
}

// KeySpec is one virtual key declared in the config file.
type KeySpec struct {
	Alias    string
	Key      string // a literal or an os.environ/ reference
	RPM      int
	Routes   []string
	Expires  *time.Time
	Tags     []string
	Metadata map[string]string
}

// ModelPrice is one model's price override, in USD per token (per search unit for rerank).
type ModelPrice struct {
	InputCostPerToken     float64 `json:"input_cost_per_token" yaml:"input_cost_per_token"`
	OutputCostPerToken    float64 `json:"output_cost_per_token" yaml:"output_cost_per_token"`
	CacheReadCostPerToken float64 `json:"cache_read_input_token_cost,omitempty" yaml:"cache_read_input_token_cost"`
	CacheWriteCostPerTok  float64 `json:"cache_creation_input_token_cost,omitempty" yaml:"cache_creation_input_token_cost"`
	SearchUnitCost        float64 `json:"search_unit_cost,omitempty" yaml:"search_unit_cost"`
}

// AuthMode is how an endpoint treats gateway keys (LiteLLM's newest `pass_through_auth_mode`).
type AuthMode int

const (
	// AuthAnyKey: `auth` missing (or not a recognisable boolean): any valid key may call.
	AuthAnyKey AuthMode = iota
	// AuthGranted: `auth: true`: a valid key that is granted this route.
	AuthGranted
	// AuthPublic: `auth: false`: no key needed.
	AuthPublic
)

func (m AuthMode) String() string {
	switch m {
	case AuthGranted:
		return "granted-keys"
	case AuthPublic:
		return "public"
	default:
		return "any-key"
	}
}

// Header is one configured header, in the order the file lists them. Value may hold an
// os.environ/ reference.
type Header struct {
	Name  string
	Value string
}

// Param is one default query parameter, in file order.
type Param struct {
	Name  string
	Value string
}

// Guardrail is one guardrail named by an endpoint, with the JSON fields it inspects.
type Guardrail struct {
	Name           string   `json:"name"`
	RequestFields  []string `json:"request_fields,omitempty"`
	ResponseFields []string `json:"response_fields,omitempty"`
}

// Endpoint is one validated `pass_through_endpoints` entry.
type Endpoint struct {
	// Index is the entry's position in the file (0-based), for messages.
	Index  int
	ID     string
	Path   string
	Target string
	// Headers are the static headers, minus the special keys below.
	Headers []Header
	// LangfusePublicKey/LangfuseSecretKey are LiteLLM's special header keys; when set, the
	// upstream gets `Authorization: Basic base64(public:secret)` instead.
	LangfusePublicKey string
	LangfuseSecretKey string
	// KeyHeader is `headers.litellm_user_api_key`: a request header that carries the gateway key.
	KeyHeader        string
	ForwardHeaders   bool
	IncludeSubpath   bool
	Methods          []string
	Auth             AuthMode
	CustomAuthParser string
	Timeout          time.Duration // 0: use the general timeout
	// MergeQueryParams is parsed for LiteLLM compatibility but changes nothing: the query is
	// always merged (defaults < target < client, repeated keys kept), which is what LiteLLM does
	// with or without it, minus its loss of repeated keys.
	MergeQueryParams   bool
	DefaultQueryParams []Param
	CostPerRequest     *float64
	Guardrails         []Guardrail
	// GuardrailStreaming lets post_call guardrails check streamed (SSE) responses event by
	// event; without it a streamed response passes unchecked, as in LiteLLM.
	GuardrailStreaming bool
	// Tags are added to every usage record of the endpoint (with the caller's x-litellm-tags).
	Tags []string
	// IncludeCostInStreamingUsage adds `cost` to the final usage event of OpenAI and Anthropic
	// streams, as litellm_settings.include_cost_in_streaming_usage does for every route.
	IncludeCostInStreamingUsage bool
	// Provider names who serves the endpoint in its usage records and metrics ("" : detected
	// from the upstream host, else the response's shape). For compatible endpoints and proxies.
	Provider string
	// Adapter names the translation the endpoint serves through (AdapterAnthropic: Anthropic's
	// Messages API from an OpenAI-format chat backend): `adapter: anthropic`, or implied by
	// `target: custom_callbacks.anthropic_adapter`.
	Adapter string
	// Models maps the model names clients ask for to the backend's, on an `adapter:` endpoint
	// (names not listed pass as they are).
	Models []Param
}

// Name identifies the endpoint in messages: its position and path.
func (e *Endpoint) Name() string {
	if e.Path == "" {
		return fmt.Sprintf("pass_through_endpoints[%d]", e.Index)
	}
	return fmt.Sprintf("pass_through_endpoints[%d] (%s)", e.Index, e.Path)
}

// EffectiveTimeout applies LiteLLM's precedence: endpoint, then general, then 600 s.
func (c *Config) EffectiveTimeout(e *Endpoint) time.Duration {
	switch {
	case e.Timeout > 0:
		return e.Timeout
	case c.RequestTimeout > 0:
		return c.RequestTimeout
	default:
		return DefaultTimeout
	}
}

// SecretRefs lists every os.environ/ name the configuration uses, once each: the master key's
// first, then default_vertex_config's service account, the keys', then endpoint by endpoint, its headers before its Langfuse keys and its query values.
func (c *Config) SecretRefs() []string {
	var names []string
	seen := map[string]bool{}
	add := func(v string) {
		if n := refName(v); n != "" && !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	add(c.MasterKey)
	if c.Vertex != nil {
		add(c.Vertex.Credentials)
	}
	for _, k := range c.Keys {
		add(k.Key)
	}
	for _, m := range c.Models {
		add(m.APIKey)
	}
	for i := range c.Endpoints {
		e := &c.Endpoints[i]
		for _, h := range e.Headers {
			add(h.Value)
		}
		add(e.LangfusePublicKey)
		add(e.LangfuseSecretKey)
		for _, p := range e.queryValues() {
			add(p.Value)
		}
	}
	for _, d := range c.Guardrails {
		for _, h := range guardrailHeaders(d) {
			add(h.Value)
		}
	}
	return names
}

// CheckSecrets resolves every os.environ/ reference once and reports each one that cannot be
// resolved, by name and by where it is used. It never includes a value in its result.
func (c *Config) CheckSecrets(ctx context.Context, r secrets.Resolver) error {
	var errs []error
	for _, name := range c.SecretRefs() {
		if _, err := r.Resolve(ctx, name); err != nil {
			errs = append(errs, fmt.Errorf("%s%s (used by %s): %w", secrets.RefPrefix, name, strings.Join(c.usersOf(name), ", "), err))
		}
	}
	return errors.Join(errs...)
}

func (c *Config) usersOf(name string) []string {
	var users []string
	if refName(c.MasterKey) == name {
		users = append(users, "general_settings.master_key")
	}
	if c.Vertex != nil && refName(c.Vertex.Credentials) == name {
		users = append(users, "default_vertex_config.vertex_credentials")
	}
	for _, k := range c.Keys {
		if refName(k.Key) == name {
			users = append(users, "keys ("+k.Alias+")")
		}
	}
	for _, m := range c.Models {
		if refName(m.APIKey) == name {
			users = append(users, "model_list ("+m.Name+") litellm_params.api_key")
		}
	}
	for i := range c.Endpoints {
		e := &c.Endpoints[i]
		for _, h := range e.Headers {
			if refName(h.Value) == name {
				users = append(users, e.Name()+" headers."+h.Name)
			}
		}
		if refName(e.LangfusePublicKey) == name {
			users = append(users, e.Name()+" headers.LANGFUSE_PUBLIC_KEY")
		}
		if refName(e.LangfuseSecretKey) == name {
			users = append(users, e.Name()+" headers.LANGFUSE_SECRET_KEY")
		}
		for _, p := range e.queryValues() {
			if refName(p.Value) == name {
				users = append(users, e.Name()+" "+p.Name)
			}
		}
	}
	for _, d := range c.Guardrails {
		for _, h := range guardrailHeaders(d) {
			if refName(h.Value) == name {
				users = append(users, "guardrails ("+d.Name+") headers."+h.Name)
			}
		}
	}
	return users
}

// LiteralCredentials lists the places where the configuration writes a credential itself instead
// of referencing it (os.environ/NAME): the master key, a service account's JSON in
// default_vertex_config, credential headers and credential-like query parameters (default_query_params, the target's query). Such values must not
// be stored where a secret would not be.
func (c *Config) LiteralCredentials() []string {
	var out []string
	if c.MasterKey != "" && refName(c.MasterKey) == "" {
		out = append(out, "general_settings.master_key")
	}
	if c.Vertex.literalCredentials() {
		out = append(out, "default_vertex_config.vertex_credentials")
	}
	for i := range c.Endpoints {
		e := &c.Endpoints[i]
		for _, h := range e.Headers {
			if auth.IsCredentialHeader(h.Name) && refName(h.Value) == "" { // auth owns the one list
				out = append(out, e.Name()+" headers."+h.Name)
			}
		}
		for name, v := range map[string]string{"LANGFUSE_PUBLIC_KEY": e.LangfusePublicKey, "LANGFUSE_SECRET_KEY": e.LangfuseSecretKey} {
			if v != "" && refName(v) == "" {
				out = append(out, e.Name()+" headers."+name)
			}
		}
		out = append(out, literalQueryCredentials(e)...)
	}
	for _, m := range c.Models {
		if m.APIKey != "" && refName(m.APIKey) == "" {
			out = append(out, "model_list ("+m.Name+") litellm_params.api_key")
		}
	}
	for _, d := range c.Guardrails {
		for _, h := range guardrailHeaders(d) {
			if auth.IsCredentialHeader(h.Name) && refName(h.Value) == "" {
				out = append(out, "guardrails ("+d.Name+") headers."+h.Name)
			}
		}
	}
	slices.Sort(out)
	return out
}
