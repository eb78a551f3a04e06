// Package route turns validated endpoint specs into a table that the proxy can serve from:
// targets parsed once, header templates compiled, and a lookup by path and method.
package route

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/redact"
	"github.com/passthru/gateway/shared/secrets"
)

// Route is one endpoint, ready to serve.
type Route struct {
	ID             string
	Path           string
	Methods        []string
	IncludeSubpath bool
	Auth           config.AuthMode
	// LangfuseAuth: the gateway key is the user part of `Authorization: Basic`.
	LangfuseAuth bool
	// KeyHeader is the canonical name of the endpoint's litellm_user_api_key header, if any.
	KeyHeader      string
	ForwardHeaders bool
	Timeout        time.Duration
	CostPerRequest *float64
	Guardrails     []config.Guardrail
	// GuardrailStreaming: post_call guardrails check streamed responses event by event.
	GuardrailStreaming bool
	// Tags go into every usage record of the route.
	Tags []string
	// InjectCost adds `cost` to the final usage event of OpenAI and Anthropic streams.
	InjectCost bool
	// Provider is the endpoint's `provider:`, which names the provider in usage records over
	// what the meter detects ("": detected).
	Provider string
	// Builtin is set on the built-in provider routes (package builtin); nil on configured ones.
	Builtin *Builtin
	// Adapter is set on adapter endpoints (adapter.go): the request and answer are translated
	// for an OpenAI-format backend chosen by the request's model.
	Adapter *Adapter

	target   *url.URL
	query    query // the target's own query, parsed once
	defaults query
	// querySecrets: a value of query or defaults holds an os.environ/ reference, rendered per
	// request like a header's.
	querySecrets bool
	headers      []header
	secrets      []string // the secret names the headers and query values reference, computed once
	// configured holds the canonical names of the headers the route sets; they win over the
	// client's.
	configured map[string]bool
}

// Builtin is what a built-in provider route adds to the pipeline of a configured one. The
// provider registry (package builtin) fills it; the proxy and UpstreamURLContext read it.
type Builtin struct {
	// Secrets name the secrets the route's credential is made of, for the error that says
	// which one is missing.
	Secrets []string
	// KeyFromQuery: the caller's gateway key may come as the `key` query parameter, where
	// Google SDKs send theirs.
	KeyFromQuery bool
	// CallerCredentials: while the route's own credential is not set, a provider credential of
	// the caller's (a credential header holding no gateway key) goes upstream instead of it.
	// Otherwise the caller's credential headers never go upstream on a built-in route.
	CallerCredentials bool
	// CallerHeaders, with CallerCredentials, are the credential headers (canonical names) that
	// may stand in for the route's credential; nil: any (Authorization, X-Api-Key, ...).
	CallerHeaders []string
	// Off, when set, says why the route cannot serve (a base URL it needs is not configured);
	// every call is answered 404 with it.
	Off string
	// Subpath rewrites the request subpath, percent-encoded, before it is joined onto the base
	// URL whose path is basePath (OpenAI's /v1).
	Subpath func(basePath, subpath string) string
	// AddHeaders adds headers the provider needs that the request has not set, given the
	// upstream path (OpenAI-Beta on Assistants paths).
	AddHeaders func(path string, h http.Header)
	// Target, when set, picks the upstream for each request from its subpath (percent-encoded,
	// after Subpath): the base URL to call and the subpath to join onto it, for providers whose
	// host depends on the request (Bedrock's region and service, Vertex AI's location). The
	// route's query rules apply as for a fixed target; then the base's own query, if any, is
	// set over the result, each of its parameters replacing the client's of that name (Vertex
	// AI's alt=sse on streamGenerateContent). An error is the client's: 400.
	Target func(subpath string) (base *url.URL, rest string, err error)
	// AllowHeaders, with forward_headers, limits the client headers sent to these canonical
	// names (x-pass- headers still apply); nil: all but credentials.
	AllowHeaders []string
	// Authorizer, when set, puts the credential on the request as it will be sent (SigV4,
	// an OAuth token): it runs last, after every header and the URL are final.
	Authorizer Authorizer
	// NoCredential, when set, is the message of the 401 answered when the Authorizer reports
	// its credential missing, instead of one naming Secrets.
	NoCredential string
}

// Authorizer authorizes an upstream request itself, where a credential is not a fixed header.
type Authorizer interface {
	// Authorize sets the credential on req: its headers, and its query if the scheme needs
	// (it must not change the host or path). body holds the exact bytes that will be sent
	// when NeedsBody, else nil. An error means the credential is unavailable: a
	// *secrets.NotFoundError when it is not configured (the caller answers 401), anything
	// else transient (503).
	Authorize(ctx context.Context, req *http.Request, body []byte) error
	// NeedsBody reports whether the credential covers the body (SigV4's payload hash): the
	// proxy then reads the whole body first, up to MaxSignedBody.
	NeedsBody() bool
}

// CredentialChecker is an Authorizer that can say, before the request is built, whether its
// credential is configured: a *secrets.NotFoundError when it is not. On a route with
// CallerCredentials the caller's own credential then stands in for it and the Authorizer is
// not run; on any other route the call is answered 401 as when Authorize says so.
type CredentialChecker interface {
	CheckCredential(ctx context.Context) error
}

// MaxSignedBody bounds a body read whole for an Authorizer that signs it. Lambda's request
// payload limit is 6 MB; a local gateway gets more room, never an unbounded read.
const MaxSignedBody = 32 << 20

// header is a configured header: a template, or Basic credentials built from two templates.
type header struct {
	name      string // canonical
	value     secrets.Template
	basicUser *secrets.Template
	basicPass *secrets.Template
}

// New compiles one validated endpoint. timeout is the endpoint's effective timeout.
func New(e *config.Endpoint, timeout time.Duration) (*Route, error) {
	target, err := url.Parse(e.Target)
	if err != nil {
		return nil, fmt.Errorf("%s: target: %w", e.Name(), err)
	}
	q, err := parseQuery(target.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("%s: target query: %w", e.Name(), err)
	}
	r := &Route{
		ID:             e.ID,
		Path:           e.Path,
		Methods:        slices.Clone(e.Methods),
		IncludeSubpath: e.IncludeSubpath,
		Auth:           e.Auth,
		LangfuseAuth:   e.CustomAuthParser == "langfuse",
		ForwardHeaders: e.ForwardHeaders,
		Timeout:        timeout,
		CostPerRequest: e.CostPerRequest,
		Guardrails:     e.Guardrails,
		Tags:           e.Tags,
		InjectCost:     e.IncludeCostInStreamingUsage,
		Provider:       e.Provider,
		target:         target,
		query:          q,
		configured:     map[string]bool{},
	}
	r.GuardrailStreaming = e.GuardrailStreaming
	if e.KeyHeader != "" {
		r.KeyHeader = textproto.CanonicalMIMEHeaderKey(e.KeyHeader)
	}
	for _, p := range e.DefaultQueryParams {
		r.defaults.add(p.Name, p.Value)
	}
	for _, h := range e.Headers {
		r.addHeader(header{name: h.Name, value: secrets.ParseTemplate(h.Value)})
	}
	if e.LangfusePublicKey != "" {
		user, pass := secrets.ParseTemplate(e.LangfusePublicKey), secrets.ParseTemplate(e.LangfuseSecretKey)
		r.addHeader(header{name: "Authorization", basicUser: &user, basicPass: &pass})
	}
	r.collectSecrets()
	return r, nil
}

// collectSecrets lists, once, the secret names the headers and query values reference, so the
// proxy can prefetch them, redact them and drop them when an upstream rejects them.
func (r *Route) collectSecrets() {
	for _, h := range r.headers {
		for _, t := range []*secrets.Template{&h.value, h.basicUser, h.basicPass} {
			if t != nil && t.IsSecret() {
				r.addSecret(t.Name)
			}
		}
	}
	for _, q := range []*query{&r.defaults, &r.query} {
		for _, k := range q.keys { // in order: SecretNames is stable from call to call
			for _, v := range q.values[k] {
				if t := secrets.ParseTemplate(v); t.IsSecret() {
					r.querySecrets = true
					r.addSecret(t.Name)
				}
			}
		}
	}
}

func (r *Route) addSecret(name string) {
	if !slices.Contains(r.secrets, name) {
		r.secrets = append(r.secrets, name)
	}
}

func (r *Route) addHeader(h header) {
	h.name = textproto.CanonicalMIMEHeaderKey(h.name)
	// The Langfuse pair replaces any Authorization written beside it, as in LiteLLM.
	r.headers = slices.DeleteFunc(r.headers, func(o header) bool { return o.name == h.name })
	r.headers = append(r.headers, h)
	r.configured[h.name] = true
}

// Target is the upstream URL as configured.
func (r *Route) Target() *url.URL { return r.target }

// RedactedTarget is the target for log lines: credential-like query values hidden (see
// redact.URL), os.environ/ references shown as written.
func (r *Route) RedactedTarget() string { return redact.URL(r.target) }

// SetsHeader reports whether the route configures the (canonical) header name.
func (r *Route) SetsHeader(name string) bool { return r.configured[name] }

// SecretHeaders lists the canonical names of configured headers whose values hold secrets,
// so that logs can redact them.
func (r *Route) SecretHeaders() []string {
	var names []string
	for _, h := range r.headers {
		if h.value.IsSecret() || h.basicUser != nil {
			names = append(names, h.name)
		}
	}
	return names
}

// SecretNames lists the secret names the route's headers and query values reference, once each.
// The slice is shared: callers must not change it.
func (r *Route) SecretNames() []string { return r.secrets }

// WriteHeaders sets the route's configured headers on dst, resolving secrets through res.
func (r *Route) WriteHeaders(ctx context.Context, dst http.Header, res secrets.Resolver) error {
	for i := range r.headers {
		h := &r.headers[i]
		if h.basicUser == nil {
			v, err := h.value.Render(ctx, res)
			if err != nil {
				return err
			}
			dst[h.name] = []string{v}
			continue
		}
		user, err := h.basicUser.Render(ctx, res)
		if err != nil {
			return err
		}
		pass, err := h.basicPass.Render(ctx, res)
		if err != nil {
			return err
		}
		dst[h.name] = []string{"Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))}
	}
	return nil
}

// Allows reports whether the route serves method.
func (r *Route) Allows(method string) bool { return slices.Contains(r.Methods, method) }

// SecretError is a secret that a query value references and that could not be resolved: the
// caller answers 503 for it, as for a header's, where any other UpstreamURL error is the
// client's (400).
type SecretError struct{ Err error }

func (e *SecretError) Error() string { return "query parameter: " + e.Err.Error() }
func (e *SecretError) Unwrap() error { return e.Err }

// noResolver is UpstreamURL's resolver: it has none to offer.
type noResolver struct{}

func (noResolver) Resolve(_ context.Context, name string) (string, error) {
	return "", fmt.Errorf("secret %q is referenced by a query value but no resolver was given (use UpstreamURLContext)", name)
}

// UpstreamURL is UpstreamURLContext without a resolver, for routes whose query values reference
// no secret (a route that does gets a *SecretError).
func (r *Route) UpstreamURL(subpath, clientQuery string) (*url.URL, error) {
	return r.UpstreamURLContext(context.Background(), noResolver{}, subpath, clientQuery)
}

// UpstreamURLContext builds the URL to call: the target, the subpath joined safely onto it
// (include_subpath routes only), and the query merged per LiteLLM's rules (defaults < target <
// client, the client's repeated keys kept). os.environ/ references in the defaults' and the
// target's query values are resolved through res on every call, exactly as WriteHeaders does for
// headers, so a rotated secret is picked up the same way and a missing one is a *SecretError.
func (r *Route) UpstreamURLContext(ctx context.Context, res secrets.Resolver, subpath, clientQuery string) (*url.URL, error) {
	target, over := r.target, ""
	if r.Builtin != nil && r.Builtin.Subpath != nil {
		subpath = r.Builtin.Subpath(r.target.EscapedPath(), subpath)
	}
	if r.Builtin != nil && r.Builtin.Target != nil {
		base, rest, err := r.Builtin.Target(subpath)
		if err != nil {
			return nil, err
		}
		target, subpath, over = base, rest, base.RawQuery
	}
	u := *target
	if r.IncludeSubpath && subpath != "" {
		joined, err := JoinSubpath(target, subpath)
		if err != nil {
			return nil, err
		}
		u = *joined
	}
	q, err := r.upstreamQuery(ctx, res, clientQuery)
	if err == nil && over != "" {
		q, err = setOver(q, over)
	}
	if err != nil {
		return nil, err
	}
	u.RawQuery = q
	u.ForceQuery = false
	return &u, nil
}

// setOver sets the parameters of over on the query q, each replacing q's of that name.
func setOver(q, over string) (string, error) {
	merged, err := parseQuery(q)
	if err != nil {
		return "", err
	}
	o, err := parseQuery(over)
	if err != nil {
		return "", err
	}
	merged.merge(&o)
	return merged.encode(), nil
}

func (r *Route) upstreamQuery(ctx context.Context, res secrets.Resolver, clientRaw string) (string, error) {
	if r.querySecrets {
		return r.renderedQuery(ctx, res, clientRaw)
	}
	if clientRaw == "" && len(r.defaults.keys) == 0 {
		return r.target.RawQuery, nil
	}
	if len(r.defaults.keys) == 0 && len(r.query.keys) == 0 {
		// Nothing to merge with: forward the client's query byte for byte.
		if _, err := parseQuery(clientRaw); err != nil {
			return "", err
		}
		return clientRaw, nil
	}
	client, err := parseQuery(clientRaw)
	if err != nil {
		return "", err
	}
	return r.merge(&r.defaults, &r.query, &client), nil
}

// merge merges the query parts per LiteLLM's rules, defaults < target < client, except on a
// built-in route, whose target query holds its credential: it wins over the client's.
func (r *Route) merge(defaults, own, client *query) string {
	var merged query
	merged.merge(defaults)
	if r.Builtin != nil {
		merged.merge(client)
		merged.merge(own)
		return merged.encode()
	}
	merged.merge(own)
	merged.merge(client)
	return merged.encode()
}

// renderedQuery is upstreamQuery for a route whose defaults or target query reference secrets:
// the client's query is checked first (a bad one is the client's 400 whatever the secrets' state),
// then the references are rendered and everything merged.
func (r *Route) renderedQuery(ctx context.Context, res secrets.Resolver, clientRaw string) (string, error) {
	client, err := parseQuery(clientRaw)
	if err != nil {
		return "", err
	}
	defaults, err := r.defaults.render(ctx, res)
	if err != nil {
		return "", &SecretError{Err: err}
	}
	own, err := r.query.render(ctx, res)
	if err != nil {
		return "", &SecretError{Err: err}
	}
	return r.merge(&defaults, &own, &client), nil
}

// JoinSubpath appends a request subpath, percent-encoded as the client sent it (see RawSubpath),
// to target. Each segment is decoded first, so that encoded dots count: empty, "." and ".."
// segments ("%2e%2e" included) are resolved and ".." can only climb back to the target's own
// path, never above it. A segment kept goes out in the client's own bytes (its escapes
// untouched, only bytes that cannot appear in a URL path escaped), so the upstream sees what the
// client wrote. A segment holding an encoded slash stays one segment ("%2F" in a Bedrock ARN)
// unless a part between its slashes is empty, "." or "..": an upstream that decodes "%2F" would
// walk those, so such a segment is split at its "%2F"s and resolved like the others, each part
// still in the client's bytes ("," and ";" stay literal). The scheme, user info, host and port
// are always the target's. A bad escape is an error, and so is a backslash (plain or "%5C"):
// some servers treat it as a separator, which would reopen the escape.
//
// The proxy normalises the whole request path the same way before the route lookup (see
// NormalizePath), so a subpath reaching JoinSubpath there has nothing left to resolve; the
// checks here keep any other caller safe.
func JoinSubpath(target *url.URL, subpath string) (*url.URL, error) {
	segs, trailing, err := resolve(subpath)
	if err != nil {
		return nil, err
	}
	u := *target
	if len(segs) == 0 && !trailing {
		return &u, nil
	}
	var p, raw strings.Builder
	p.WriteString(strings.TrimSuffix(target.Path, "/"))
	raw.WriteString(strings.TrimSuffix(target.EscapedPath(), "/"))
	writeSegments(&p, &raw, segs, trailing)
	u.Path, u.RawPath = p.String(), raw.String()
	return &u, nil
}

// resolve splits a percent-encoded path at its slashes and resolves its empty, "." and ".."
// segments (decoded, so "%2e%2e" counts; encoded slashes hiding such a part split the segment),
// never climbing above its start. trailing reports whether p ends with a slash.
func resolve(p string) (segs []segment, trailing bool, err error) {
	for _, raw := range strings.Split(p, "/") {
		dec, err := url.PathUnescape(raw)
		if err != nil {
			return nil, false, fmt.Errorf("path segment %q: %w", raw, err)
		}
		if strings.ContainsRune(dec, '\\') {
			return nil, false, fmt.Errorf("path segment %q contains a backslash", raw)
		}
		if strings.Contains(dec, "/") && hasDotPart(dec) {
			for _, part := range splitEncodedSlashes(raw) {
				// Each part is free of "%2F" and decodes to one part of dec.
				d, _ := url.PathUnescape(part)
				segs = push(segs, segment{dec: d, raw: part})
			}
			continue
		}
		segs = push(segs, segment{dec: dec, raw: raw})
	}
	return segs, strings.HasSuffix(p, "/"), nil
}

// writeSegments writes resolved segments, each after a slash, decoded to p and in the client's
// bytes (only bytes that may not appear in a URL path escaped) to raw.
func writeSegments(p, raw *strings.Builder, segs []segment, trailing bool) {
	for _, s := range segs {
		p.WriteByte('/')
		p.WriteString(s.dec)
		raw.WriteByte('/')
		raw.WriteString(EscapePathBytes(s.raw))
	}
	if trailing {
		p.WriteByte('/')
		raw.WriteByte('/')
	}
}

// splitEncodedSlashes splits a percent-encoded segment at each "%2F" or "%2f", keeping the
// parts' bytes as they are.
func splitEncodedSlashes(raw string) []string {
	var parts []string
	start := 0
	for i := 0; i+2 < len(raw); i++ {
		if raw[i] == '%' && raw[i+1] == '2' && (raw[i+2] == 'F' || raw[i+2] == 'f') {
			parts = append(parts, raw[start:i])
			start = i + 3
			i += 2
		}
	}
	return append(parts, raw[start:])
}

// segment is one path segment, decoded and as the client encoded it.
type segment struct{ dec, raw string }

// push applies one segment to the resolved list: empty and "." vanish, ".." removes the last
// segment if there is one (never climbing above the target), anything else is appended.
func push(segs []segment, s segment) []segment {
	switch s.dec {
	case "", ".":
		return segs
	case "..":
		if len(segs) > 0 {
			segs = segs[:len(segs)-1]
		}
		return segs
	}
	return append(segs, s)
}

// hasDotPart reports whether a decoded segment holding slashes has an empty, "." or ".." part.
func hasDotPart(dec string) bool {
	for _, part := range strings.Split(dec, "/") {
		if part == "" || part == "." || part == ".." {
			return true
		}
	}
	return false
}
