// Package builtin is the registry of built-in provider routes: /anthropic, /openai, /gemini,
// /azure, /cohere, /mistral and /langfuse, as LiteLLM serves them without any configured
// endpoint. Each provider is one row of data (prefixes, base URL and its environment override,
// how the path joins the base, the credential, where the caller's key may come from, which
// client headers go along); Routes compiles the rows into ordinary routes, so a provider route
// has the same auth, keys, rate limits, x-pass- headers, relay, usage records and debug log as
// a configured one.
package builtin

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/providers"
	"github.com/passthru/gateway/shared/route"
)

// Provider is one built-in provider route.
type Provider struct {
	Name     string   // the provider, as usage records name it
	Prefixes []string // the route paths (include_subpath)
	Base     string   // the default base URL ("": BaseEnv is required)
	BaseEnv  string   // LiteLLM's environment override of Base
	// KeepBasePath joins the subpath onto the base URL's path (OpenAI, Azure); otherwise the
	// base URL's path is replaced by the subpath, as LiteLLM's copy_with(path=...) does.
	KeepBasePath bool
	Credential   Credential
	// KeyFromQuery, CallerCredentials, Subpath, AddHeaders: see route.Builtin.
	KeyFromQuery      bool
	CallerCredentials bool
	CallerHeaders     []string // see route.Builtin
	Subpath           func(basePath, subpath string) string
	AddHeaders        func(path string, h http.Header)
	// ForwardHeaders sends the client's headers along, minus credentials (Anthropic: its
	// anthropic-version, anthropic-beta and x-stainless-* headers matter); otherwise only the
	// body's Content-Type and Content-Encoding and x-pass- headers go. AllowHeaders narrows it
	// to those names (see route.Builtin).
	ForwardHeaders bool
	AllowHeaders   []string
	// Target picks the upstream per request (see route.Builtin.Target); it is given the
	// options the table is built with. nil: the base URL.
	Target func(o Options, subpath string) (*url.URL, string, error)
	// Authorizer returns the provider's long-lived authorizer (a signer, a token cache) from
	// the options (see route.Builtin.Authorizer); nil or a nil result: Credential alone.
	Authorizer func(o Options) route.Authorizer
	// NoCredential, when set, is the 401 message for a call whose Authorizer has no
	// credential, where naming Credential.Secrets would mislead (AWS's credential chain).
	NoCredential string
	// Off, when set, says why the route cannot serve with these options besides its base URL
	// ("": it can); Describe, when set, is its line for `validate` after "<prefix>/** ".
	Off      func(o Options) string
	Describe func(o Options) string
	// CredentialSecrets, when set, names the secrets the credential reads under a
	// configuration (Vertex AI's default_vertex_config may name its own); nil:
	// Credential.Secrets. None: the credential is written in the configuration.
	CredentialSecrets func(cfg *config.Config) []string
	// Shown is what `validate` shows as the upstream when Target picks the host per request
	// and BaseEnv does not override it ("": the base URL).
	Shown string
}

// CredentialKind says how the provider credential is sent.
type CredentialKind int

const (
	// Headers: each of Headers is set to its template (an os.environ/ reference inside).
	Headers CredentialKind = iota
	// Query: the query parameter Param is set to the secret, over any value the client sent.
	Query
	// Basic: Authorization: Basic of the two secrets (user, password).
	Basic
	// Authorized: the provider's Authorizer alone sets the credential (SigV4, OAuth).
	Authorized
)

// Credential is how a provider's credential is built from secrets.
type Credential struct {
	Kind    CredentialKind
	Secrets []string          // the secret names, in order (Basic: user, then password)
	Headers map[string]string // Headers: name -> template, e.g. "Bearer os.environ/OPENAI_API_KEY"
	Param   string            // Query: the parameter name
}

func bearer(secret string) string { return "Bearer os.environ/" + secret }
func ref(secret string) string    { return "os.environ/" + secret }

// Registry lists the built-in provider routes. LiteLLM's route table and credential names
// (litellm-providers.md §1.2): a LiteLLM deployment's environment works unchanged.
var Registry = []Provider{
	{
		Name: providers.Anthropic, Prefixes: []string{"/anthropic"},
		Base: "https://api.anthropic.com", BaseEnv: "ANTHROPIC_API_BASE",
		Credential: Credential{Kind: Headers, Secrets: []string{"ANTHROPIC_API_KEY"},
			Headers: map[string]string{"X-Api-Key": ref("ANTHROPIC_API_KEY")}},
		ForwardHeaders: true, CallerCredentials: true,
	},
	{
		Name: providers.OpenAI, Prefixes: []string{"/openai", "/openai_passthrough"},
		Base: "https://api.openai.com", BaseEnv: "OPENAI_API_BASE", KeepBasePath: true,
		Credential: Credential{Kind: Headers, Secrets: []string{"OPENAI_API_KEY"},
			Headers: map[string]string{"Authorization": bearer("OPENAI_API_KEY"), "Api-Key": ref("OPENAI_API_KEY")}},
		Subpath: openAIVersion, AddHeaders: assistantsBeta,
	},
	{
		Name: "azure", Prefixes: []string{"/azure"},
		BaseEnv: "AZURE_API_BASE", KeepBasePath: true,
		Credential: Credential{Kind: Headers, Secrets: []string{"AZURE_API_KEY"},
			Headers: map[string]string{"Authorization": bearer("AZURE_API_KEY"), "Api-Key": ref("AZURE_API_KEY")}},
	},
	{
		Name: providers.Gemini, Prefixes: []string{"/gemini"},
		Base: "https://generativelanguage.googleapis.com", BaseEnv: "GEMINI_API_BASE",
		Credential:   Credential{Kind: Query, Secrets: []string{"GEMINI_API_KEY"}, Param: "key"},
		KeyFromQuery: true,
	},
	{
		Name: providers.Cohere, Prefixes: []string{"/cohere"},
		Base: "https://api.cohere.com", BaseEnv: "COHERE_API_BASE",
		Credential: Credential{Kind: Headers, Secrets: []string{"COHERE_API_KEY"},
			Headers: map[string]string{"Authorization": bearer("COHERE_API_KEY")}},
	},
	{
		Name: "mistral", Prefixes: []string{"/mistral"},
		Base: "https://api.mistral.ai", BaseEnv: "MISTRAL_API_BASE",
		Credential: Credential{Kind: Headers, Secrets: []string{"MISTRAL_API_KEY"},
			Headers: map[string]string{"Authorization": bearer("MISTRAL_API_KEY")}},
	},
	{
		Name: "langfuse", Prefixes: []string{"/langfuse"},
		Base: "https://cloud.langfuse.com", BaseEnv: "LANGFUSE_HOST",
		Credential: Credential{Kind: Basic, Secrets: []string{"LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY"}},
	},
	bedrockProvider, // bedrock.go
	vertexProvider,  // vertex.go
}

// Names lists the providers of the registry, in its order.
func Names() []string {
	names := make([]string, len(Registry))
	for i, p := range Registry {
		names[i] = p.Name
	}
	return names
}

// SecretNames lists every secret a built-in route may read, for `gatewayctl secrets check`.
func SecretNames() []string {
	var names []string
	for _, p := range Registry {
		names = append(names, p.Credential.Secrets...)
	}
	return names
}

// openAIVersion puts OpenAI's /v1 in the path when neither the base URL nor the request has
// it (LiteLLM: /openai/chat/completions → /v1/chat/completions), and keeps a base that ends in
// /v1 (the usual OPENAI_API_BASE spelling) from doubling it: LiteLLM would send /v1/v1/....
func openAIVersion(basePath, subpath string) string {
	base := strings.TrimSuffix(basePath, "/")
	has := subpath == "/v1" || strings.HasPrefix(subpath, "/v1/")
	switch {
	case base == "" && !has:
		return "/v1" + subpath
	case strings.HasSuffix(base, "/v1") && has:
		return strings.TrimPrefix(subpath, "/v1")
	}
	return subpath
}

// assistantsBeta adds OpenAI-Beta: assistants=v2 on Assistants API paths when the request has
// none: the route forwards no client header but x-pass-, and the API refuses calls without it.
func assistantsBeta(path string, h http.Header) {
	if _, ok := h["Openai-Beta"]; ok {
		return
	}
	if strings.Contains(path, "/assistants") || strings.Contains(path, "/threads") {
		h["Openai-Beta"] = []string{"assistants=v2"}
	}
}
