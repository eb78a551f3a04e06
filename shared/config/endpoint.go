package config

// One pass_through_endpoints entry: its fields, their decoders, and the checks on path and target.

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/passthru/gateway/shared/redact"
)

// fieldDecoders maps every endpoint field to its parser; a key not listed here is unknown.
var fieldDecoders = map[string]func(p *parser, e *Endpoint, field string, n *yaml.Node) error{
	"id":                 func(_ *parser, e *Endpoint, _ string, n *yaml.Node) error { return decodeString(n, &e.ID) },
	"path":               func(_ *parser, e *Endpoint, _ string, n *yaml.Node) error { return decodeString(n, &e.Path) },
	"target":             func(_ *parser, e *Endpoint, _ string, n *yaml.Node) error { return decodeString(n, &e.Target) },
	"headers":            (*parser).headers,
	"forward_headers":    func(_ *parser, e *Endpoint, _ string, n *yaml.Node) error { return decodeBool(n, &e.ForwardHeaders) },
	"include_subpath":    func(_ *parser, e *Endpoint, _ string, n *yaml.Node) error { return decodeBool(n, &e.IncludeSubpath) },
	"merge_query_params": func(_ *parser, e *Endpoint, _ string, n *yaml.Node) error { return decodeBool(n, &e.MergeQueryParams) },
	"methods":            func(_ *parser, e *Endpoint, _ string, n *yaml.Node) error { return decodeMethods(n, &e.Methods) },
	"auth":               (*parser).auth,
	"custom_auth_parser": func(_ *parser, e *Endpoint, _ string, n *yaml.Node) error {
		return decodeString(n, &e.CustomAuthParser)
	},
	"timeout": func(_ *parser, e *Endpoint, _ string, n *yaml.Node) error { return decodeSeconds(n, &e.Timeout) },
	"default_query_params": func(_ *parser, e *Endpoint, _ string, n *yaml.Node) error {
		return decodeParams(n, &e.DefaultQueryParams)
	},
	"cost_per_request": func(_ *parser, e *Endpoint, _ string, n *yaml.Node) error { return decodeCost(n, &e.CostPerRequest) },
	"guardrails":       func(_ *parser, e *Endpoint, _ string, n *yaml.Node) error { return decodeGuardrails(n, &e.Guardrails) },
	"guardrail_streaming": func(_ *parser, e *Endpoint, _ string, n *yaml.Node) error {
		return decodeBool(n, &e.GuardrailStreaming)
	},
	"tags": func(_ *parser, e *Endpoint, _ string, n *yaml.Node) error { return decodeTags(n, &e.Tags) },
	"include_cost_in_streaming_usage": func(_ *parser, e *Endpoint, _ string, n *yaml.Node) error {
		return decodeBool(n, &e.IncludeCostInStreamingUsage)
	},
	"provider": func(_ *parser, e *Endpoint, _ string, n *yaml.Node) error { return decodeProvider(n, &e.Provider) },
	"adapter":  func(_ *parser, e *Endpoint, _ string, n *yaml.Node) error { return decodeString(n, &e.Adapter) },
	"models":   func(_ *parser, e *Endpoint, _ string, n *yaml.Node) error { return decodeParams(n, &e.Models) },
}

func (p *parser) endpoint(n *yaml.Node, index int) Endpoint {
	e := Endpoint{Index: index}
	if n.Kind != yaml.MappingNode {
		p.errorf("%s: must be a mapping with path and target (line %d)", e.Name(), n.Line)
		return e
	}
	// Read path first so every later message can name the endpoint by it.
	if v := mappingValue(n, "path"); v != nil {
		_ = decodeString(v, &e.Path)
	}
	seen := map[string]bool{}  // every key, to catch duplicates
	given := map[string]bool{} // keys with a non-null value
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i].Value, n.Content[i+1]
		if seen[key] {
			p.errorf("%s: field %q appears twice (line %d)", e.Name(), key, n.Content[i].Line)
			continue
		}
		seen[key] = true
		decode, ok := fieldDecoders[key]
		if !ok {
			p.warnf("%s: unknown field %q is ignored (line %d)", e.Name(), key, n.Content[i].Line)
			continue
		}
		if isNull(val) {
			continue // LiteLLM reads a null like a missing key
		}
		given[key] = true
		if err := decode(p, &e, key, val); err != nil {
			p.errorf("%s: %s: %v (line %d)", e.Name(), key, err, val.Line)
		}
	}
	if e.Methods == nil {
		e.Methods = slices.Clone(DefaultMethods)
	}
	p.validate(&e, given)
	return e
}

func (p *parser) validate(e *Endpoint, given map[string]bool) {
	name := e.Name()
	switch {
	case e.Path == "":
		p.errorf("%s: path: is required", name)
	default:
		if err := checkPath(e.Path); err != nil {
			p.errorf("%s: path: %v", name, err)
		}
	}
	p.validateAdapter(e, given)
	if e.Target == "" {
		p.errorf("%s: target: is required", name)
	} else if e.Target == AnthropicAdapterTarget {
		// the built-in adapter (adapter.go); its backends come from model_list
	} else if err := CheckTarget(e.Target); err != nil {
		p.errorf("%s: target: %v", name, err)
	}
	for _, err := range endpointRefErrors(e) {
		p.errorf("%s: %v", name, err)
	}
	if e.CustomAuthParser != "" && e.CustomAuthParser != "langfuse" {
		p.errorf("%s: custom_auth_parser: %q is not supported (the only parser is \"langfuse\")", name, e.CustomAuthParser)
	}
	if (e.LangfusePublicKey == "") != (e.LangfuseSecretKey == "") {
		p.errorf("%s: headers: LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY must be set together", name)
	}
	if e.Auth == AuthAnyKey && !given["auth"] {
		p.warnf("%s sets no `auth`: any valid gateway key may call it. Set `auth: true` to restrict it to keys granted this route, or `auth: false` to serve it without a key", name)
	}
	if e.Auth == AuthPublic && e.KeyHeader != "" {
		p.warnf("%s: headers.litellm_user_api_key has no effect on an `auth: false` endpoint", name)
	}
}

var (
	pathPattern    = regexp.MustCompile(`^/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$`)
	adapterPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$`)
)

func checkPath(p string) error {
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("%q must start with /", p)
	}
	if !pathPattern.MatchString(p) {
		return fmt.Errorf("%q holds characters not allowed in a URL path (query strings and fragments belong in target)", p)
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "." || seg == ".." {
			return fmt.Errorf("%q must not contain . or .. segments", p)
		}
	}
	if strings.Contains(p, "//") {
		return fmt.Errorf("%q must not contain an empty segment (//)", p)
	}
	return nil
}

// CheckTarget accepts an absolute http(s) URL with a host and no fragment, whose os.environ/
// references (if any) are in query parameter values.
func CheckTarget(t string) error {
	if adapterPattern.MatchString(t) {
		return fmt.Errorf("%q names a Python adapter (module.instance), which the gateway cannot load: its built-in adapter is target %s (or adapter: %s on an OpenAI-compatible URL target); otherwise use an absolute http(s) URL", t, AnthropicAdapterTarget, AdapterAnthropic)
	}
	u, err := url.Parse(t)
	if err != nil {
		// url.Error quotes the whole input, query included: say what is wrong without it.
		return fmt.Errorf("%q is not a valid URL: %v", redact.String(t), errors.Unwrap(err))
	}
	// Messages below never show a credential-like query value; the rest is quoted as written.
	shown := t
	if before, query, ok := strings.Cut(t, "?"); ok {
		query, fragment, hasFragment := strings.Cut(query, "#")
		shown = before + "?" + redact.Query(query)
		if hasFragment {
			shown += "#" + fragment
		}
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q must be an absolute http:// or https:// URL", shown)
	}
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("%q has no host", shown)
	}
	if u.Fragment != "" || strings.Contains(t, "#") {
		return fmt.Errorf("%q must not have a #fragment", shown)
	}
	if u.User != nil {
		c := *u
		c.RawQuery = redact.Query(u.RawQuery)
		return fmt.Errorf("%s must not carry credentials (user:password@); put them in headers, e.g. Authorization: \"Basic os.environ/NAME\"", c.Redacted())
	}
	return checkTargetRefs(u, t)
}
