package config

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/passthru/gateway/shared/redact"
	"github.com/passthru/gateway/shared/secrets"
)

// Result is what loading a file yields: the configuration, or every problem found in it.
// Warnings never stop a load; Err lists all errors, one per line, each naming its endpoint
// and field.
type Result struct {
	Config   *Config
	Warnings []string
	Err      error
}

// LoadFile reads and parses a LiteLLM config file.
func LoadFile(path string) Result {
	data, err := os.ReadFile(path)
	if err != nil {
		return Result{Err: fmt.Errorf("read config: %w", err)}
	}
	return Parse(data)
}

// Parse parses a LiteLLM config document. Keys other than general_settings (model_list,
// litellm_settings, ...) belong to LiteLLM features this gateway does not serve and are ignored.
func Parse(data []byte) Result {
	root, err := parseYAML(data)
	if err != nil {
		return Result{Err: fmt.Errorf("config is not valid YAML: %w", err)}
	}
	p := &parser{}
	cfg := &Config{}
	if root != nil {
		if root.Kind != yaml.MappingNode {
			p.errorf("config: the top level must be a mapping, found %s", kindName(root))
		} else if gs := mappingValue(root, "general_settings"); gs != nil {
			p.general(gs, cfg)
		}
		if root.Kind == yaml.MappingNode {
			p.litellmSettings(mappingValue(root, "litellm_settings"), cfg)
			p.modelPrices(mappingValue(root, "model_prices"), cfg)
			p.keys(mappingValue(root, "keys"), cfg)
		}
	}
	if len(cfg.Endpoints) == 0 && len(p.errs) == 0 {
		p.warnf("config: general_settings.pass_through_endpoints is empty: every request will get 404")
	}
	if len(p.errs) > 0 {
		return Result{Warnings: p.warns, Err: errors.Join(p.errs...)}
	}
	return Result{Config: cfg, Warnings: p.warns}
}

// ParseEndpoint parses one endpoint entry (YAML or JSON), as stored one per route elsewhere.
func ParseEndpoint(data []byte) (Endpoint, []string, error) {
	root, err := parseYAML(data)
	if err != nil {
		return Endpoint{}, nil, fmt.Errorf("endpoint is not valid JSON or YAML: %w", err)
	}
	p := &parser{}
	var e Endpoint
	if root == nil {
		p.errorf("endpoint: empty document")
	} else {
		e = p.endpoint(root, 0)
	}
	return e, p.warns, errors.Join(p.errs...)
}

type parser struct {
	errs  []error
	warns []string
}

func (p *parser) errorf(format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf(format, args...))
}

func (p *parser) warnf(format string, args ...any) {
	p.warns = append(p.warns, fmt.Sprintf(format, args...))
}

func (p *parser) general(gs *yaml.Node, cfg *Config) {
	if gs.Kind != yaml.MappingNode {
		p.errorf("general_settings: must be a mapping (line %d)", gs.Line)
		return
	}
	if n := mappingValue(gs, "master_key"); n != nil && !isNull(n) {
		if s, ok := scalarString(n); !ok {
			p.errorf("general_settings.master_key: must be a string (line %d)", n.Line)
		} else if err := checkSecretRef(s); err != nil {
			p.errorf("general_settings.master_key: %v (line %d)", err, n.Line)
		} else {
			cfg.MasterKey = s
		}
	}
	if n := mappingValue(gs, "pass_through_request_timeout"); n != nil && !isNull(n) {
		if d, err := seconds(n); err != nil {
			p.errorf("general_settings.pass_through_request_timeout: %v (line %d)", err, n.Line)
		} else {
			cfg.RequestTimeout = d
		}
	}
	p.cors(gs, cfg)
	p.passThroughTypos(gs)
	n := mappingValue(gs, "pass_through_endpoints")
	if n == nil || isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf("general_settings.pass_through_endpoints: must be a list (line %d)", n.Line)
		return
	}
	for i, item := range n.Content {
		cfg.Endpoints = append(cfg.Endpoints, p.endpoint(item, i))
	}
	p.duplicates(cfg.Endpoints)
}

// litellmSettings reads the one litellm_settings key the gateway uses.
func (p *parser) litellmSettings(n *yaml.Node, cfg *Config) {
	if n == nil || n.Kind != yaml.MappingNode {
		return
	}
	if v := mappingValue(n, "include_cost_in_streaming_usage"); v != nil && !isNull(v) {
		if err := decodeBool(v, &cfg.IncludeCostInStreamingUsage); err != nil {
			p.errorf("litellm_settings.include_cost_in_streaming_usage: %v (line %d)", err, v.Line)
		}
	}
}

// keys reads the top-level `keys` list of local virtual keys.
func (p *parser) keys(n *yaml.Node, cfg *Config) {
	if n == nil || isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf("keys: must be a list (line %d)", n.Line)
		return
	}
	aliases := map[string]bool{}
	for i, item := range n.Content {
		var raw struct {
			Alias    string            `yaml:"alias"`
			Key      string            `yaml:"key"`
			RPM      int               `yaml:"rpm"`
			Routes   []string          `yaml:"routes"`
			Expires  string            `yaml:"expires"`
			Tags     []string          `yaml:"tags"`
			Metadata map[string]string `yaml:"metadata"`
		}
		if err := item.Decode(&raw); err != nil {
			p.errorf("keys[%d]: %v (line %d)", i, err, item.Line)
			continue
		}
		k := KeySpec{Alias: raw.Alias, Key: raw.Key, RPM: raw.RPM, Routes: raw.Routes, Tags: raw.Tags, Metadata: raw.Metadata}
		if err := checkKey(&k, raw.Expires, aliases); err != nil {
			p.errorf("keys[%d] (%s): %v (line %d)", i, raw.Alias, err, item.Line)
			continue
		}
		cfg.Keys = append(cfg.Keys, k)
	}
}

func checkKey(k *KeySpec, expires string, aliases map[string]bool) error {
	switch {
	case k.Alias == "":
		return fmt.Errorf("alias: is required")
	case aliases[k.Alias]:
		return fmt.Errorf("alias: %q is used twice", k.Alias)
	case k.Key == "":
		return fmt.Errorf("key: is required (a literal or os.environ/NAME)")
	case k.RPM < 0:
		return fmt.Errorf("rpm: must not be negative")
	}
	aliases[k.Alias] = true
	if err := checkSecretRef(k.Key); err != nil {
		return fmt.Errorf("key: %v", err)
	}
	if err := keyRefError(k); err != nil {
		return err
	}
	for _, r := range k.Routes {
		if !strings.HasPrefix(r, "/") {
			return fmt.Errorf("routes: %q must start with /", r)
		}
	}
	if expires != "" {
		t, err := time.Parse(time.RFC3339, expires)
		if err != nil {
			if t, err = time.Parse(time.DateOnly, expires); err != nil {
				return fmt.Errorf("expires: %q is neither a date (2027-01-31) nor an RFC 3339 time", expires)
			}
		}
		k.Expires = &t
	}
	return nil
}

// modelPrices reads the top-level model_prices overrides.
func (p *parser) modelPrices(n *yaml.Node, cfg *Config) {
	if n == nil || isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		p.errorf("model_prices: must be a mapping of model name to prices (line %d)", n.Line)
		return
	}
	cfg.ModelPrices = map[string]ModelPrice{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		model, val := n.Content[i].Value, n.Content[i+1]
		var mp ModelPrice
		dec := val.Decode(&mp)
		switch {
		case dec != nil || val.Kind != yaml.MappingNode:
			p.errorf("model_prices.%s: must be a mapping of numbers such as input_cost_per_token (line %d)", model, val.Line)
		case mp.InputCostPerToken < 0 || mp.OutputCostPerToken < 0 || mp.CacheReadCostPerToken < 0 || mp.CacheWriteCostPerTok < 0 || mp.SearchUnitCost < 0:
			p.errorf("model_prices.%s: prices must not be negative (line %d)", model, val.Line)
		default:
			cfg.ModelPrices[model] = mp
		}
	}
}

// knownPassThroughSettings are LiteLLM's general_settings about pass-through.
var knownPassThroughSettings = []string{
	"pass_through_endpoints", "pass_through_request_timeout",
	"passthrough_managed_object_ids", "passthrough_require_cost_tracking", "passthrough_capabilities",
}

// passThroughTypos warns about general_settings keys that look like pass-through settings but
// are none: general_settings holds many other LiteLLM keys, so only these are worth a word.
func (p *parser) passThroughTypos(gs *yaml.Node) {
	for i := 0; i+1 < len(gs.Content); i += 2 {
		key := gs.Content[i].Value
		norm := strings.ReplaceAll(strings.ToLower(key), "_", "")
		if strings.Contains(norm, "passthrough") && !slices.Contains(knownPassThroughSettings, key) {
			p.warnf("general_settings.%s is not a LiteLLM setting and is ignored (did you mean pass_through_endpoints?) (line %d)", key, gs.Content[i].Line)
		}
	}
}

// duplicates rejects two endpoints that serve the same (path, method): which one would answer
// is otherwise an accident of file order.
func (p *parser) duplicates(eps []Endpoint) {
	for _, c := range Conflicts(eps) {
		e := &eps[c.Index]
		p.errorf("%s: path %s method %s is already served by %s", e.Name(), e.Path, c.Method, eps[c.Other].Name())
	}
}

// Conflict is an endpoint serving a (path, method) an earlier endpoint already serves.
type Conflict struct {
	Index, Other int // positions in the list: the later endpoint and the one it collides with
	Method       string
}

// Conflicts lists every endpoint that repeats an earlier one's (path, method), once each;
// include_subpath endpoints also collide on their prefix (/x and /x/ serve the same subpaths).
func Conflicts(eps []Endpoint) []Conflict {
	var out []Conflict
	owner := map[string]int{}
	for i := range eps {
		e := &eps[i]
		if e.Path == "" {
			continue
		}
		// Check every method before claiming any: an endpoint that is left out must not keep
		// a later one out through the methods it would have served.
		if c, ok := conflict(owner, claims(e), i); ok {
			out = append(out, c)
			continue
		}
		for _, cl := range claims(e) {
			owner[cl.key] = i
		}
	}
	return out
}

type claim struct{ key, method string }

// claims are the (method, path) keys an endpoint serves; include_subpath endpoints also claim
// their prefix, so /x and /x/ collide.
func claims(e *Endpoint) []claim {
	var out []claim
	for _, m := range e.Methods {
		out = append(out, claim{m + " " + e.Path, m})
		if e.IncludeSubpath {
			out = append(out, claim{m + " " + strings.TrimSuffix(e.Path, "/") + "/**", m})
		}
	}
	return out
}

func conflict(owner map[string]int, cs []claim, i int) (Conflict, bool) {
	for _, c := range cs {
		if j, ok := owner[c.key]; ok {
			return Conflict{Index: i, Other: j, Method: c.method}, true
		}
	}
	return Conflict{}, false
}

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
	"tags":             func(_ *parser, e *Endpoint, _ string, n *yaml.Node) error { return decodeTags(n, &e.Tags) },
	"include_cost_in_streaming_usage": func(_ *parser, e *Endpoint, _ string, n *yaml.Node) error {
		return decodeBool(n, &e.IncludeCostInStreamingUsage)
	},
	"provider": func(_ *parser, e *Endpoint, _ string, n *yaml.Node) error { return decodeProvider(n, &e.Provider) },
}

// decodeProvider reads a provider name. It becomes a metric dimension and an Athena value, so
// it is kept to a short, plain token.
func decodeProvider(n *yaml.Node, dst *string) error {
	var s string
	if err := decodeString(n, &s); err != nil {
		return err
	}
	ok := s != "" && len(s) <= 64
	for _, r := range s {
		ok = ok && (r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.')
	}
	if !ok {
		return fmt.Errorf("must be a provider name such as openai, anthropic, cohere, gemini, vertex_ai or bedrock (lowercase letters, digits, _ - . and at most 64 characters), found %q", s)
	}
	*dst = s
	return nil
}

func decodeTags(n *yaml.Node, dst *[]string) error {
	if n.Kind != yaml.SequenceNode {
		return fmt.Errorf("must be a list of strings")
	}
	var out []string
	for _, item := range n.Content {
		s, ok := scalarString(item)
		if !ok || strings.TrimSpace(s) == "" {
			return fmt.Errorf("must be a list of non-empty strings")
		}
		out = append(out, strings.TrimSpace(s))
	}
	*dst = out
	return nil
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
	if e.Target == "" {
		p.errorf("%s: target: is required", name)
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
	if len(e.Guardrails) > 0 {
		p.warnf("%s: guardrails are parsed but not enforced yet: requests pass unchecked", name)
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
		return fmt.Errorf("%q names an adapter (module.instance); adapter targets are not supported yet, use an absolute http(s) URL", t)
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

func (p *parser) headers(e *Endpoint, _ string, n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("must be a mapping of header name to value")
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		name, val := n.Content[i].Value, n.Content[i+1]
		var v string
		if s, ok := scalarString(val); ok && !isNull(val) {
			v = s
		} else {
			p.errorf("%s: headers.%s: must be a string (line %d)", e.Name(), name, val.Line)
			continue
		}
		if lower := strings.ToLower(name); seen[lower] {
			p.errorf("%s: headers.%s: set twice (header names are case-insensitive) (line %d)", e.Name(), name, val.Line)
			continue
		} else {
			seen[lower] = true
		}
		if err := checkSecretRef(v); err != nil {
			p.errorf("%s: headers.%s: %v (line %d)", e.Name(), name, err, val.Line)
			continue
		}
		switch name {
		case "LANGFUSE_PUBLIC_KEY":
			e.LangfusePublicKey = v
		case "LANGFUSE_SECRET_KEY":
			e.LangfuseSecretKey = v
		case "litellm_user_api_key":
			if !validHeaderName(v) {
				p.errorf("%s: headers.litellm_user_api_key: %q is not a valid header name (line %d)", e.Name(), v, val.Line)
				continue
			}
			e.KeyHeader = v
		default:
			if !validHeaderName(name) {
				p.errorf("%s: headers: %q is not a valid header name (line %d)", e.Name(), name, n.Content[i].Line)
				continue
			}
			if strings.ContainsAny(v, "\r\n\x00") {
				p.errorf("%s: headers.%s: value must not contain line breaks (line %d)", e.Name(), name, val.Line)
				continue
			}
			e.Headers = append(e.Headers, Header{Name: name, Value: v})
		}
	}
	return nil
}

func (p *parser) auth(e *Endpoint, _ string, n *yaml.Node) error {
	s, ok := scalarString(n)
	if !ok {
		return fmt.Errorf("must be true or false")
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true":
		e.Auth = AuthGranted
	case "false":
		e.Auth = AuthPublic
	default:
		// LiteLLM treats any other value as a missing `auth`; say so rather than guess.
		e.Auth = AuthAnyKey
		p.warnf("%s: auth: %q is neither true nor false and is treated as missing (any valid key) (line %d)", e.Name(), s, n.Line)
	}
	return nil
}

func checkSecretRef(v string) error {
	i := strings.Index(v, secrets.RefPrefix)
	if i < 0 {
		return nil
	}
	name := v[i+len(secrets.RefPrefix):]
	if name == "" {
		return fmt.Errorf("%s names no variable", secrets.RefPrefix)
	}
	if strings.ContainsAny(name, " \t\r\n") {
		return fmt.Errorf("secret name %q must not contain white space (the name runs to the end of the value)", name)
	}
	return nil
}

func refName(v string) string { return secrets.ParseTemplate(v).Name }

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

func decodeString(n *yaml.Node, dst *string) error {
	s, ok := scalarString(n)
	if !ok {
		return fmt.Errorf("must be a string, found %s", kindName(n))
	}
	*dst = strings.TrimSpace(s)
	return nil
}

// decodeBool accepts YAML booleans only: a quoted "true" is a typo worth reporting, and LiteLLM
// enables include_subpath only for a real boolean.
func decodeBool(n *yaml.Node, dst *bool) error {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		return fmt.Errorf("must be true or false, found %q", n.Value)
	}
	return n.Decode(dst)
}

var knownMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

func decodeMethods(n *yaml.Node, dst *[]string) error {
	if n.Kind != yaml.SequenceNode {
		return fmt.Errorf("must be a list such as [POST]")
	}
	if len(n.Content) == 0 {
		return fmt.Errorf("must list at least one method")
	}
	var out []string
	for _, item := range n.Content {
		s, ok := scalarString(item)
		m := strings.ToUpper(strings.TrimSpace(s))
		if !ok || !slices.Contains(knownMethods, m) {
			return fmt.Errorf("%q is not one of %s", item.Value, strings.Join(knownMethods, ", "))
		}
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	*dst = out
	return nil
}

func decodeSeconds(n *yaml.Node, dst *time.Duration) error {
	d, err := seconds(n)
	if err != nil {
		return err
	}
	*dst = d
	return nil
}

func seconds(n *yaml.Node) (time.Duration, error) {
	f, err := number(n)
	if err != nil {
		return 0, err
	}
	if f <= 0 || f > 86400 {
		return 0, fmt.Errorf("must be a number of seconds between 0 and 86400, found %s", n.Value)
	}
	return time.Duration(f * float64(time.Second)), nil
}

func decodeCost(n *yaml.Node, dst **float64) error {
	f, err := number(n)
	if err != nil {
		return err
	}
	if f < 0 {
		return fmt.Errorf("must not be negative, found %s", n.Value)
	}
	*dst = &f
	return nil
}

func number(n *yaml.Node) (float64, error) {
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
		return 0, fmt.Errorf("must be a number, found %q", n.Value)
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("must be a finite number, found %q", n.Value)
	}
	return f, nil
}

func decodeParams(n *yaml.Node, dst *[]Param) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("must be a mapping of parameter name to value")
	}
	var out []Param
	for i := 0; i+1 < len(n.Content); i += 2 {
		name, val := n.Content[i].Value, n.Content[i+1]
		s, ok := scalarString(val)
		if !ok || isNull(val) {
			return fmt.Errorf("%s: must be a string, number or boolean", name)
		}
		out = append(out, Param{Name: name, Value: s})
	}
	*dst = out
	return nil
}

var fieldPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_\-]*(\[\*\])?(\.[A-Za-z_][A-Za-z0-9_\-]*(\[\*\])?)*$`)

// decodeGuardrails accepts LiteLLM's two forms: a list of names, or a mapping of name to null
// or {request_fields, response_fields}.
func decodeGuardrails(n *yaml.Node, dst *[]Guardrail) error {
	var out []Guardrail
	switch n.Kind {
	case yaml.SequenceNode:
		for _, item := range n.Content {
			s, ok := scalarString(item)
			if !ok || strings.TrimSpace(s) == "" {
				return fmt.Errorf("list entries must be guardrail names")
			}
			out = append(out, Guardrail{Name: s})
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			g := Guardrail{Name: n.Content[i].Value}
			if err := decodeGuardrailFields(n.Content[i+1], &g); err != nil {
				return fmt.Errorf("%s: %w", g.Name, err)
			}
			out = append(out, g)
		}
	default:
		return fmt.Errorf("must be a list of names or a mapping of name to settings")
	}
	*dst = out
	return nil
}

func decodeGuardrailFields(n *yaml.Node, g *Guardrail) error {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("settings must be a mapping with request_fields/response_fields")
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i].Value, n.Content[i+1]
		var dst *[]string
		switch key {
		case "request_fields":
			dst = &g.RequestFields
		case "response_fields":
			dst = &g.ResponseFields
		default:
			return fmt.Errorf("unknown setting %q (expected request_fields or response_fields)", key)
		}
		if err := val.Decode(dst); err != nil {
			return fmt.Errorf("%s: must be a list of field expressions", key)
		}
		for _, f := range *dst {
			if !fieldPattern.MatchString(f) {
				return fmt.Errorf("%s: %q is not a field expression like a.b or items[*].text", key, f)
			}
		}
	}
	return nil
}

// parseYAML returns the document's root node (nil for an empty document) with anchors and
// merge keys resolved, since LiteLLM's loader (PyYAML) accepts configs that use them.
func parseYAML(data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, nil
	}
	return resolveAliases(doc.Content[0], 0)
}

// resolveAliases returns n with every alias replaced by its anchor's node and every `<<` merge
// key applied: keys written in the mapping win over merged ones, and earlier merged mappings
// over later ones, as in YAML 1.1.
func resolveAliases(n *yaml.Node, depth int) (*yaml.Node, error) {
	if depth > 100 {
		return nil, errors.New("aliases nest too deeply")
	}
	switch n.Kind {
	case yaml.AliasNode:
		return resolveAliases(n.Alias, depth+1)
	case yaml.SequenceNode:
		out := *n
		out.Content = make([]*yaml.Node, len(n.Content))
		for i, c := range n.Content {
			r, err := resolveAliases(c, depth+1)
			if err != nil {
				return nil, err
			}
			out.Content[i] = r
		}
		return &out, nil
	case yaml.MappingNode:
		return resolveMapping(n, depth)
	default:
		return n, nil
	}
}

func resolveMapping(n *yaml.Node, depth int) (*yaml.Node, error) {
	out := *n
	out.Content = nil
	var merged []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		v, err := resolveAliases(n.Content[i+1], depth+1)
		if err != nil {
			return nil, err
		}
		if k.Tag == "!!merge" {
			if v.Kind == yaml.SequenceNode {
				merged = append(merged, v.Content...)
			} else {
				merged = append(merged, v)
			}
			continue
		}
		out.Content = append(out.Content, k, v)
	}
	for _, m := range merged {
		if m.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("line %d: `<<` must merge a mapping", m.Line)
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			if mappingValue(&out, m.Content[i].Value) == nil {
				out.Content = append(out.Content, m.Content[i], m.Content[i+1])
			}
		}
	}
	return &out, nil
}

func mappingValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func scalarString(n *yaml.Node) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		return "", false
	}
	return n.Value, true
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return fmt.Sprintf("%q", n.Value)
	}
}
