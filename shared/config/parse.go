package config

// Parse and LoadFile: the entry points, the parser that collects every error and warning, and
// the general_settings and litellm_settings sections. Each other section has its own file.

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
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

// Parse parses a LiteLLM config document: general_settings, the one litellm_settings key the
// gateway uses, model_prices, keys, and model_list when an adapter endpoint takes its backends
// from it. Other keys belong to LiteLLM features this gateway does not serve and are ignored.
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
			p.defaultVertexConfig(mappingValue(root, "default_vertex_config"), cfg)
			p.modelList(mappingValue(root, "model_list"), cfg)
			p.guardrails(mappingValue(root, "guardrails"), cfg)
			p.checkGuardrailRefs(cfg)
		}
	}
	if len(cfg.Endpoints) == 0 && len(p.errs) == 0 && slices.Contains(cfg.DisabledProviderRoutes, "*") {
		p.warnf("config: general_settings.pass_through_endpoints is empty and the built-in provider routes are off: every request will get 404")
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
	p.nameList(gs, "disabled_provider_routes", &cfg.DisabledProviderRoutes)
	p.providerRouteGuardrails(gs, cfg)
	p.nameList(gs, "provider_route_guardrail_streaming", &cfg.ProviderRouteGuardrailStreaming)
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

// nameList reads general_settings.key, a list of non-empty strings, into dst.
func (p *parser) nameList(gs *yaml.Node, key string, dst *[]string) {
	if n := mappingValue(gs, key); n != nil && !isNull(n) {
		if err := decodeTags(n, dst); err != nil {
			p.errorf("general_settings.%s: %v (line %d)", key, err, n.Line)
		}
	}
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
