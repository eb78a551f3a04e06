package builtin

// /vertex_ai and /vertex-ai: Google Vertex AI, as LiteLLM serves it (litellm-providers.md
// §1.3.2). The host follows the location the path names, the path gets the configured project
// and location, and the gateway's service account mints the Google access token; without one,
// the caller's own Google credential goes upstream instead.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/route"
	"github.com/passthru/gateway/shared/secrets"
)

// vertexCredentialsEnv is LiteLLM's variable for the default service account: its JSON, or a
// path to it. Like every provider credential it is a secret (Secrets Manager on AWS).
const vertexCredentialsEnv = "DEFAULT_GOOGLE_APPLICATION_CREDENTIALS"

// vertexBaseEnv overrides the computed https://{host} (LiteLLM has none): tests and proxies.
const vertexBaseEnv = "VERTEX_AI_API_BASE"

// vertexScope is the OAuth scope LiteLLM asks for, and the one Vertex AI's REST API documents.
const vertexScope = "https://www.googleapis.com/auth/cloud-platform"

// vertexAllowHeaders are the only client headers sent upstream (besides x-pass-): LiteLLM's
// ALLOWED_VERTEX_AI_PASSTHROUGH_HEADERS, plus Anthropic-Version, which Claude Code on Vertex
// needs forwarded (https://code.claude.com/docs/en/llm-gateway), and Content-Encoding, without
// which a compressed body could not be read.
var vertexAllowHeaders = []string{"Content-Type", "Content-Encoding", "Anthropic-Beta", "Anthropic-Version", "X-Serverless-Authorization"}

// vertexCallerHeaders carry a caller's own Google credential (an OAuth access token, an API
// key), which goes upstream when the gateway has no service account.
var vertexCallerHeaders = []string{"Authorization", "X-Goog-Api-Key"}

// vertexProvider is the registry row.
var vertexProvider = Provider{
	Name: "vertex_ai", Prefixes: []string{"/vertex_ai", "/vertex-ai"},
	Base: "https://aiplatform.googleapis.com", BaseEnv: vertexBaseEnv, KeepBasePath: true,
	Shown:             "https://{location}-aiplatform.googleapis.com",
	Credential:        Credential{Kind: Authorized, Secrets: []string{vertexCredentialsEnv}},
	CredentialSecrets: vertexSecrets,
	ForwardHeaders:    true, AllowHeaders: vertexAllowHeaders,
	CallerCredentials: true, CallerHeaders: vertexCallerHeaders,
	Target: vertexTarget,
	Authorizer: func(o Options) route.Authorizer {
		return &vertexAuthorizer{auth: o.Vertex, ref: vertexCredentialRef(o.cfg)}
	},
}

// vertexCredentialRef is where the service account comes from: default_vertex_config's
// vertex_credentials (a reference, or the JSON or path itself), else the default secret.
func vertexCredentialRef(cfg *config.Config) string {
	if cfg != nil && cfg.Vertex != nil && cfg.Vertex.Credentials != "" {
		return cfg.Vertex.Credentials
	}
	return ref(vertexCredentialsEnv)
}

// vertexSecrets names the secret the service account is read from (none when the
// configuration writes it, or its path, itself).
func vertexSecrets(cfg *config.Config) []string {
	if name := secrets.ParseTemplate(vertexCredentialRef(cfg)).Name; name != "" {
		return []string{name}
	}
	return nil
}

// vertexSettings are the configured defaults: the project and location that replace the
// path's, and the base URL override.
type vertexSettings struct {
	project, location string
	base              *url.URL // VERTEX_AI_API_BASE (nil: the location's host)
}

// vertexSettingsOf reads default_vertex_config, then LiteLLM's environment variables for what
// it leaves unset.
func vertexSettingsOf(o Options) (vertexSettings, error) {
	var s vertexSettings
	var v config.VertexConfig
	if o.cfg != nil && o.cfg.Vertex != nil {
		v = *o.cfg.Vertex
	}
	s.project = vertexSetting(o, v.Project, "DEFAULT_VERTEXAI_PROJECT")
	s.location = vertexSetting(o, v.Location, "DEFAULT_VERTEXAI_LOCATION")
	if s.location != "" {
		if err := config.CheckVertexLocation(s.location); err != nil {
			return s, fmt.Errorf("the gateway's default Vertex AI location: %w", err)
		}
	}
	if raw := strings.TrimSpace(o.env(vertexBaseEnv)); raw != "" {
		if !strings.Contains(raw, "://") {
			raw = "http://" + raw // as base() reads every override
		}
		u, err := url.Parse(raw)
		if err != nil {
			return s, fmt.Errorf("%s: %w", vertexBaseEnv, err) // base() turned the route off already
		}
		u.RawQuery, u.Fragment, u.User = "", "", nil
		s.base = u
	}
	return s, nil
}

// vertexSetting is a configured value (an os.environ/ reference read from the environment),
// else the environment variable env.
func vertexSetting(o Options, configured, env string) string {
	if t := secrets.ParseTemplate(configured); t.IsSecret() {
		return strings.TrimSpace(o.env(t.Name))
	}
	if configured != "" {
		return configured
	}
	return strings.TrimSpace(o.env(env))
}

// vertexTarget picks the upstream of one request: the location's host, the path with the
// configured project and location (a short path gets /v1/projects/{p}/locations/{l}), and
// alt=sse on streamGenerateContent, as LiteLLM's vertex_proxy_route does.
func vertexTarget(o Options, subpath string) (*url.URL, string, error) {
	s, err := vertexSettingsOf(o)
	if err != nil {
		return nil, "", err
	}
	p := parseVertexPath(subpath)
	project, location := or(s.project, p.project), or(s.location, p.location)
	if location == "" {
		return nil, "", errors.New("no Vertex AI location: the path has no /projects/<project>/locations/<location>/ and neither default_vertex_config.vertex_location nor DEFAULT_VERTEXAI_LOCATION is set")
	}
	if err := config.CheckVertexLocation(location); err != nil {
		return nil, "", err
	}
	rest, err := p.rewrite(project, location)
	if err != nil {
		return nil, "", err
	}
	base := s.base
	if base == nil {
		base = &url.URL{Scheme: "https", Host: vertexHost(location)}
	} else {
		c := *base
		base = &c
	}
	if isStreamGenerateContent(rest) {
		base.RawQuery = "alt=sse" // set over the client's alt (route.Builtin.Target)
	}
	return base, rest, nil
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// vertexHost is the API host of a location (https://cloud.google.com/vertex-ai/docs/reference/rest
// lists the service endpoints; the multi-region us and eu endpoints are
// aiplatform.{us,eu}.rep.googleapis.com, https://cloud.google.com/vertex-ai/generative-ai/docs/learn/locations).
// location is checked: lowercase letters, digits and hyphens only.
func vertexHost(location string) string {
	switch location {
	case "global":
		return "aiplatform.googleapis.com"
	case "us", "eu":
		return "aiplatform." + location + ".rep.googleapis.com"
	}
	return location + "-aiplatform.googleapis.com"
}

// vertexPath is a request subpath split into its percent-encoded segments, with the project
// and location it names (decoded).
type vertexPath struct {
	segs              []string
	project, location string
	projectAt         int // the index of the project's segment, -1: none
	locationAt        int // the index of the location's segment, -1: none
}

// parseVertexPath finds /projects/{p} and /locations/{l} as LiteLLM's regular expressions do
// (the first of each), comparing decoded segments so an encoded letter changes nothing.
func parseVertexPath(subpath string) vertexPath {
	p := vertexPath{segs: strings.Split(strings.TrimPrefix(subpath, "/"), "/"), projectAt: -1, locationAt: -1}
	for i := 0; i+1 < len(p.segs); i++ {
		switch name := unescape(p.segs[i]); {
		case name == "projects" && p.projectAt < 0:
			p.projectAt, p.project = i+1, unescape(p.segs[i+1])
		case name == "locations" && p.locationAt < 0:
			p.locationAt, p.location = i+1, unescape(p.segs[i+1])
		}
	}
	return p
}

func unescape(seg string) string {
	if u, err := url.PathUnescape(seg); err == nil {
		return u
	}
	return seg
}

// rewrite returns the upstream path. A path naming a location keeps its shape, with
// /projects/{p}/locations/{l} set to project and location; any other gets
// /{version}/projects/{project}/locations/{location} in front: the version it starts with (v1
// or v1beta1, then dropped from the rest), else v1beta1 for cachedContents, else v1.
func (p vertexPath) rewrite(project, location string) (string, error) {
	segs := append([]string(nil), p.segs...)
	if p.locationAt >= 0 {
		if p.projectAt >= 0 && p.projectAt+2 == p.locationAt {
			segs[p.projectAt] = escapeIfChanged(segs[p.projectAt], p.project, project)
			segs[p.locationAt] = escapeIfChanged(segs[p.locationAt], p.location, location)
		}
		return "/" + strings.Join(segs, "/"), nil
	}
	if project == "" {
		return "", errors.New("no Vertex AI project: the path has no /projects/<project>/locations/<location>/ and neither default_vertex_config.vertex_project nor DEFAULT_VERTEXAI_PROJECT is set")
	}
	version := "v1"
	switch v := unescape(segs[0]); {
	case (v == "v1" || v == "v1beta1") && len(segs) > 1:
		version, segs = v, segs[1:]
	case strings.Contains(strings.Join(segs, "/"), "cachedContent"):
		version = "v1beta1" // LiteLLM #5460: context caching was v1beta1 only
	}
	prefix := "/" + version + "/projects/" + url.PathEscape(project) + "/locations/" + url.PathEscape(location)
	if len(segs) == 1 && segs[0] == "" {
		return prefix, nil
	}
	return prefix + "/" + strings.Join(segs, "/"), nil
}

// escapeIfChanged keeps the client's bytes for a value that stays, and escapes a new one.
func escapeIfChanged(seg, was, now string) string {
	if now == was {
		return seg
	}
	return url.PathEscape(now)
}

// isStreamGenerateContent reports whether the escaped path's action is streamGenerateContent
// (":" as sent, or %3A).
func isStreamGenerateContent(path string) bool {
	const action = "streamGenerateContent"
	if !strings.HasSuffix(path, action) {
		return false
	}
	head := path[:len(path)-len(action)]
	return strings.HasSuffix(head, ":") || strings.HasSuffix(strings.ToUpper(head), "%3A")
}

// VertexAuth mints the Google access tokens of /vertex_ai from a service account and caches
// them: one per process (wiring builds it once), shared by every route table the gateway
// builds, so a refreshed table keeps its token. The token is refreshed shortly before it
// expires (oauth2.ReuseTokenSource, 10 s ahead), one mint at a time: concurrent calls wait for
// that one. The service account is read through the secrets resolver on each call (cached
// there), and a changed value (a rotated secret) starts a new token source.
type VertexAuth struct {
	res secrets.Resolver
	ctx context.Context // carries the HTTP client the token endpoint is called with

	mu  sync.Mutex                   // held while a new token source is built
	cur atomic.Pointer[vertexSource] // the token source of the last service account seen
}

type vertexSource struct {
	key string // the credential as resolved: the JSON, or the path it was read from
	ts  oauth2.TokenSource
}

// vertexMintTimeout bounds one call to the token endpoint: a call that waits for a token waits
// at most this long (Token takes no context).
const vertexMintTimeout = 10 * time.Second

// NewVertexAuth returns the token cache; res resolves os.environ/ references (the environment
// locally, Secrets Manager on AWS). client calls the token endpoint (nil: a default client with
// a 10 s timeout). Nothing is read or called until the first request.
func NewVertexAuth(res secrets.Resolver, client *http.Client) *VertexAuth {
	if client == nil {
		client = &http.Client{Timeout: vertexMintTimeout}
	}
	return &VertexAuth{res: res, ctx: context.WithValue(context.Background(), oauth2.HTTPClient, client)}
}

// source returns the token source of the service account ref names.
func (a *VertexAuth) source(ctx context.Context, ref string) (oauth2.TokenSource, error) {
	t := secrets.ParseTemplate(ref)
	if a == nil {
		return nil, &secrets.NotFoundError{Name: or(t.Name, "default_vertex_config.vertex_credentials")}
	}
	value, err := t.Render(ctx, a.res)
	if err != nil {
		return nil, err
	}
	value = strings.TrimSpace(value)
	if cur := a.cur.Load(); cur != nil && cur.key == value {
		return cur.ts, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if cur := a.cur.Load(); cur != nil && cur.key == value { // built while this call waited
		return cur.ts, nil
	}
	ts, err := a.newSource(value, or(t.Name, "default_vertex_config.vertex_credentials"))
	if err != nil {
		return nil, err
	}
	a.cur.Store(&vertexSource{key: value, ts: ts})
	return ts, nil
}

// newSource reads the service account (its JSON, or a path to it) and builds its token
// source. Errors name where it came from, never its content.
func (a *VertexAuth) newSource(value, from string) (oauth2.TokenSource, error) {
	js := []byte(value)
	if !strings.HasPrefix(value, "{") {
		b, err := os.ReadFile(value)
		if err != nil {
			return nil, fmt.Errorf("%s: read the service account file: %w", from, err)
		}
		js = b
	}
	// Only a service account: other credential types can make the library read files or run
	// programs the configuration names (see CredentialsFromJSONWithType's documentation).
	if !json.Valid(js) { // checked here: a JSON syntax error quotes the text around it
		return nil, fmt.Errorf("%s: the service account is not valid JSON", from)
	}
	creds, err := google.CredentialsFromJSONWithType(a.ctx, js, google.ServiceAccount, vertexScope)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", from, err)
	}
	return creds.TokenSource, nil
}

// vertexAuthorizer puts the access token on each request; built per table, it holds the
// process's VertexAuth and the credential reference of the table's configuration.
type vertexAuthorizer struct {
	auth *VertexAuth
	ref  string
}

func (*vertexAuthorizer) NeedsBody() bool { return false }

// CheckCredential reports a service account that is not configured (*secrets.NotFoundError):
// the caller's own Google credential may then go upstream instead.
func (a *vertexAuthorizer) CheckCredential(ctx context.Context) error {
	_, err := a.auth.source(ctx, a.ref)
	return err
}

// Authorize sets Authorization: Bearer <access token>, minted on the first call and again
// shortly before it expires; otherwise the cached token, with no call to Google.
func (a *vertexAuthorizer) Authorize(ctx context.Context, req *http.Request, _ []byte) error {
	ts, err := a.auth.source(ctx, a.ref)
	if err != nil {
		return err
	}
	tok, err := ts.Token()
	if err != nil {
		return fmt.Errorf("mint a Google access token: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	return nil
}
