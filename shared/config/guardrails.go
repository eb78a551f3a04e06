package config

// The top-level `guardrails:` list (LiteLLM's shape), general_settings.provider_route_guardrails,
// and the check that every guardrail an endpoint names is defined. The checkers themselves live
// in package guardrail, which this package does not import (it pulls in the AWS SDK).

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// GuardrailKinds are the litellm_params.guardrail values the gateway runs.
var GuardrailKinds = []string{"litellm_content_filter", "bedrock", "generic_guardrail_api"}

// GuardrailModes are the litellm_params.mode values the gateway runs.
var GuardrailModes = []string{"pre_call", "during_call", "post_call"}

// GuardrailDef is one entry of the top-level `guardrails:` list.
type GuardrailDef struct {
	Name      string
	Kind      string   // litellm_params.guardrail
	Modes     []string // litellm_params.mode, one or a list
	DefaultOn bool     // parsed; pass-through routes run only the guardrails they name (as LiteLLM)
	// Params holds every litellm_params key as decoded (strings, numbers, bools, lists, maps).
	Params map[string]any
}

// NewGuardrailDef validates one definition from its name and litellm_params, as stored in the
// config file or the SSM settings parameter.
func NewGuardrailDef(name string, params map[string]any) (GuardrailDef, error) {
	d := GuardrailDef{Name: name, Params: params}
	if strings.TrimSpace(name) == "" {
		return d, fmt.Errorf("guardrail_name: is required")
	}
	kind, _ := params["guardrail"].(string)
	if kind == "" {
		return d, fmt.Errorf("%s: litellm_params.guardrail: is required (one of %s)", name, strings.Join(GuardrailKinds, ", "))
	}
	if !slices.Contains(GuardrailKinds, kind) {
		return d, fmt.Errorf("%s: litellm_params.guardrail: %q is not supported (supported: %s)", name, kind, strings.Join(GuardrailKinds, ", "))
	}
	d.Kind = kind
	switch m := params["mode"].(type) {
	case nil:
		d.Modes = []string{"pre_call"} // LiteLLM's default event hook for these kinds
	case string:
		d.Modes = []string{m}
	case []any:
		for _, v := range m {
			s, _ := v.(string)
			d.Modes = append(d.Modes, s)
		}
	default:
		return d, fmt.Errorf("%s: litellm_params.mode: must be a mode or a list of modes", name)
	}
	for _, m := range d.Modes {
		if !slices.Contains(GuardrailModes, m) {
			return d, fmt.Errorf("%s: litellm_params.mode: %q is not supported on pass-through routes (supported: %s)", name, m, strings.Join(GuardrailModes, ", "))
		}
	}
	if v, ok := params["default_on"]; ok && v != nil {
		b, ok := v.(bool)
		if !ok {
			return d, fmt.Errorf("%s: litellm_params.default_on: must be true or false", name)
		}
		d.DefaultOn = b
	}
	return d, nil
}

// guardrails reads the top-level `guardrails:` list.
func (p *parser) guardrails(n *yaml.Node, cfg *Config) {
	if n == nil || isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf("guardrails: must be a list (line %d)", n.Line)
		return
	}
	seen := map[string]bool{}
	for i, item := range n.Content {
		var raw struct {
			Name   string         `yaml:"guardrail_name"`
			Params map[string]any `yaml:"litellm_params"`
		}
		if err := item.Decode(&raw); err != nil {
			p.errorf("guardrails[%d]: must be a mapping with guardrail_name and litellm_params (line %d)", i, item.Line)
			continue
		}
		d, err := NewGuardrailDef(raw.Name, raw.Params)
		if err != nil {
			p.errorf("guardrails[%d]: %v (line %d)", i, err, item.Line)
			continue
		}
		if seen[d.Name] {
			p.errorf("guardrails[%d]: guardrail_name %q is defined twice (line %d)", i, d.Name, item.Line)
			continue
		}
		seen[d.Name] = true
		cfg.Guardrails = append(cfg.Guardrails, d)
	}
}

// providerRouteGuardrails reads general_settings.provider_route_guardrails: provider name →
// guardrails, in the endpoint's two forms.
func (p *parser) providerRouteGuardrails(gs *yaml.Node, cfg *Config) {
	n := mappingValue(gs, "provider_route_guardrails")
	if n == nil || isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		p.errorf("general_settings.provider_route_guardrails: must be a mapping of provider name to guardrails (line %d)", n.Line)
		return
	}
	cfg.ProviderRouteGuardrails = map[string][]Guardrail{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		name, val := n.Content[i].Value, n.Content[i+1]
		var gs []Guardrail
		if err := decodeGuardrails(val, &gs); err != nil {
			p.errorf("general_settings.provider_route_guardrails.%s: %v (line %d)", name, err, val.Line)
			continue
		}
		cfg.ProviderRouteGuardrails[name] = gs
	}
}

// Guardrail returns the definition with the given name.
func (c *Config) Guardrail(name string) (GuardrailDef, bool) {
	for _, d := range c.Guardrails {
		if d.Name == name {
			return d, true
		}
	}
	return GuardrailDef{}, false
}

// UndefinedGuardrails lists the names in gs that the configuration does not define.
func (c *Config) UndefinedGuardrails(gs []Guardrail) []string {
	var out []string
	for _, g := range gs {
		if _, ok := c.Guardrail(g.Name); !ok && !slices.Contains(out, g.Name) {
			out = append(out, g.Name)
		}
	}
	return out
}

// checkGuardrailRefs reports every guardrail an endpoint or a provider route names that the
// top-level `guardrails:` list does not define.
func (p *parser) checkGuardrailRefs(cfg *Config) {
	for i := range cfg.Endpoints {
		e := &cfg.Endpoints[i]
		for _, name := range cfg.UndefinedGuardrails(e.Guardrails) {
			p.errorf("%s: guardrails: %q is not defined in the top-level guardrails list", e.Name(), name)
		}
		if e.GuardrailStreaming && len(e.Guardrails) == 0 {
			p.warnf("%s: guardrail_streaming has no effect without guardrails", e.Name())
		}
	}
	for _, provider := range cfg.ProviderRouteGuardrailStreaming {
		if len(cfg.ProviderRouteGuardrails[provider]) == 0 {
			p.warnf("general_settings.provider_route_guardrail_streaming: %s has no effect without provider_route_guardrails.%s", provider, provider)
		}
	}
	for _, provider := range sortedKeys(cfg.ProviderRouteGuardrails) {
		for _, name := range cfg.UndefinedGuardrails(cfg.ProviderRouteGuardrails[provider]) {
			p.errorf("general_settings.provider_route_guardrails.%s: %q is not defined in the top-level guardrails list", provider, name)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// KeyGuardrailsMetadata is the virtual-key metadata entry that names guardrails every call
// with the key runs (LiteLLM keeps a list in metadata.guardrails). Names are separated by commas,
// semicolons, '|' or spaces: `gatewayctl keys create --metadata` already splits its pairs on
// commas, so `guardrails=a;b` is how two are given there.
const KeyGuardrailsMetadata = "guardrails"

// KeyGuardrails reads the guardrail names from a key's metadata.
func KeyGuardrails(metadata map[string]string) []string {
	var out []string
	sep := func(r rune) bool { return r == ',' || r == ';' || r == '|' || r == ' ' || r == '\t' }
	for _, s := range strings.FieldsFunc(metadata[KeyGuardrailsMetadata], sep) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// guardrailHeaders lists a guardrail's `headers` parameter (the webhook's), sorted by name.
func guardrailHeaders(d GuardrailDef) []Header {
	m, _ := d.Params["headers"].(map[string]any)
	var out []Header
	for _, name := range sortedKeys(m) {
		if v, ok := m[name].(string); ok {
			out = append(out, Header{Name: name, Value: v})
		}
	}
	return out
}
