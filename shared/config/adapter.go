package config

// Adapter endpoints: `target: custom_callbacks.anthropic_adapter` (LiteLLM's spelling, its
// backends in the top-level model_list) and `adapter: anthropic` on an OpenAI-compatible
// target URL (the gateway's own spelling, with an optional `models` map). Both serve
// Anthropic's Messages API from an OpenAI-format chat backend (package adapter/anthropic).

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/passthru/gateway/shared/secrets"
)

const (
	// AdapterAnthropic is the one built-in adapter: Anthropic's Messages API in front of an
	// OpenAI-format chat backend.
	AdapterAnthropic = "anthropic"
	// AnthropicAdapterTarget is the target LiteLLM's docs give the adapter (a Python
	// module.instance next to config.yaml); the gateway serves it with its built-in adapter.
	AnthropicAdapterTarget = "custom_callbacks.anthropic_adapter"
)

// Model is one model_list entry as the adapter reads it: the name clients ask for, and the
// backend behind it (litellm_params.model, api_base, api_key).
type Model struct {
	Name string
	// Model is litellm_params.model as written: a backend model, with an optional LiteLLM
	// provider prefix (openai/gpt-4o).
	Model   string
	APIBase string // "" : the provider's default
	// APIKey is a literal or an os.environ/ reference; when not written it is the provider's
	// LiteLLM variable (os.environ/OPENAI_API_KEY), or none for a self-hosted server.
	APIKey string
}

// openAIFormat are the LiteLLM provider prefixes whose servers speak OpenAI's chat
// completions, with their default base URL and key variable (LiteLLM's names).
var openAIFormat = map[string]struct{ base, keyEnv string }{
	"openai":       {"https://api.openai.com/v1", "OPENAI_API_KEY"},
	"hosted_vllm":  {"", ""},
	"groq":         {"https://api.groq.com/openai/v1", "GROQ_API_KEY"},
	"deepseek":     {"https://api.deepseek.com/v1", "DEEPSEEK_API_KEY"},
	"mistral":      {"https://api.mistral.ai/v1", "MISTRAL_API_KEY"},
	"together_ai":  {"https://api.together.xyz/v1", "TOGETHERAI_API_KEY"},
	"fireworks_ai": {"https://api.fireworks.ai/inference/v1", "FIREWORKS_AI_API_KEY"},
	"xai":          {"https://api.x.ai/v1", "XAI_API_KEY"},
	"openrouter":   {"https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"},
}

// Backend splits litellm_params.model into its provider and backend model name and returns
// the base URL the adapter calls (api_base, else the provider's).
func (m *Model) Backend() (base, model string, err error) {
	provider, name, ok := strings.Cut(m.Model, "/")
	if !ok {
		provider, name = "openai", m.Model // LiteLLM reads a bare name as an OpenAI model
	}
	p, known := openAIFormat[provider]
	if !known {
		names := slices.Sorted(func(yield func(string) bool) {
			for k := range openAIFormat {
				if !yield(k + "/") {
					return
				}
			}
		})
		return "", "", fmt.Errorf("provider %q is not one the adapter can call: it speaks OpenAI's chat completions only (no prefix, %s; an OpenAI-compatible server is openai/<model> with api_base)", provider, strings.Join(names, ", "))
	}
	base = m.APIBase
	if base == "" {
		base = p.base
	}
	if base == "" {
		return "", "", fmt.Errorf("api_base: is required for %s/ models", provider)
	}
	return base, name, nil
}

// defaultKey is the key reference a model without api_key uses.
func (m *Model) defaultKey() string {
	provider, _, ok := strings.Cut(m.Model, "/")
	if !ok {
		provider = "openai"
	}
	if env := openAIFormat[provider].keyEnv; env != "" {
		return secrets.RefPrefix + env
	}
	return ""
}

// validateAdapter checks an endpoint's adapter fields (after its other fields are read):
// which adapter, the methods it serves (POST unless listed), and the fields that do not go
// with it.
func (p *parser) validateAdapter(e *Endpoint, given map[string]bool) {
	name := e.Name()
	if e.Target == AnthropicAdapterTarget && e.Adapter == "" {
		e.Adapter = AdapterAnthropic
	}
	if e.Adapter == "" {
		if len(e.Models) > 0 {
			p.errorf("%s: models: maps model names for an adapter endpoint only (set adapter: anthropic)", name)
		}
		return
	}
	if e.Adapter != AdapterAnthropic {
		p.errorf("%s: adapter: %q is not a built-in adapter (there is one: %s)", name, e.Adapter, AdapterAnthropic)
	}
	if e.IncludeSubpath {
		p.errorf("%s: include_subpath: an adapter endpoint serves its one path (Anthropic's /v1/messages), not the paths below it", name)
	}
	if !given["methods"] {
		e.Methods = []string{"POST"}
	} else if !slices.Equal(e.Methods, []string{"POST"}) {
		p.errorf("%s: methods: an adapter endpoint serves POST only", name)
	}
	if e.Target == AnthropicAdapterTarget && len(e.Models) > 0 {
		p.errorf("%s: models: with target %s the models come from model_list; models is for adapter: %s on a URL target", name, AnthropicAdapterTarget, AdapterAnthropic)
	}
	for _, m := range e.Models {
		if m.Value == "" {
			p.errorf("%s: models.%s: must name the backend's model", name, m.Name)
		}
		if err := refuseRef("models."+m.Name, m.Value); err != nil {
			p.errorf("%s: %v", name, err)
		}
	}
}

// usesModelList reports whether an endpoint takes its backends from model_list.
func (e *Endpoint) usesModelList() bool { return e.Target == AnthropicAdapterTarget }

// modelList reads the top-level model_list, when an endpoint uses it (otherwise it belongs to
// LiteLLM features the gateway does not serve and is ignored, as before).
func (p *parser) modelList(n *yaml.Node, cfg *Config) {
	var users []string
	for i := range cfg.Endpoints {
		if cfg.Endpoints[i].usesModelList() {
			users = append(users, cfg.Endpoints[i].Name())
		}
	}
	if len(users) == 0 {
		return
	}
	if n != nil && !isNull(n) && n.Kind != yaml.SequenceNode {
		p.errorf("model_list: must be a list (line %d)", n.Line)
		return
	}
	if n == nil || isNull(n) || len(n.Content) == 0 {
		p.errorf("%s: target %s serves the models of model_list, which is empty: add model_name and litellm_params (model, api_base, api_key) entries", strings.Join(users, ", "), AnthropicAdapterTarget)
		return
	}
	seen := map[string]bool{}
	for i, item := range n.Content {
		m, ok := p.model(item, i)
		if !ok {
			continue
		}
		if seen[m.Name] {
			p.warnf("model_list[%d] (%s): the name is listed before; the adapter sends every call for it to the first entry (no load balancing)", i, m.Name)
			continue
		}
		seen[m.Name] = true
		cfg.Models = append(cfg.Models, m)
	}
}

// model reads one model_list entry.
func (p *parser) model(n *yaml.Node, i int) (Model, bool) {
	var raw struct {
		Name   string               `yaml:"model_name"`
		Params map[string]yaml.Node `yaml:"litellm_params"`
	}
	if err := n.Decode(&raw); err != nil || n.Kind != yaml.MappingNode {
		p.errorf("model_list[%d]: must be a mapping with model_name and litellm_params (line %d)", i, n.Line)
		return Model{}, false
	}
	where := fmt.Sprintf("model_list[%d] (%s)", i, raw.Name)
	m := Model{Name: strings.TrimSpace(raw.Name)}
	ok := true
	for key, v := range raw.Params {
		var dst *string
		switch key {
		case "model":
			dst = &m.Model
		case "api_base":
			dst = &m.APIBase
		case "api_key":
			dst = &m.APIKey
		default:
			p.warnf("%s: litellm_params.%s is ignored by the gateway's adapter (line %d)", where, key, v.Line)
			continue
		}
		if err := decodeString(&v, dst); err != nil {
			p.errorf("%s: litellm_params.%s: %v (line %d)", where, key, err, v.Line)
			ok = false
		}
	}
	if !ok {
		return m, false
	}
	if err := checkModel(&m); err != nil {
		p.errorf("%s: %v (line %d)", where, err, n.Line)
		return m, false
	}
	return m, true
}

// checkModel validates an entry and fills in its default key reference.
func checkModel(m *Model) error {
	switch {
	case m.Name == "":
		return fmt.Errorf("model_name: is required")
	case m.Model == "":
		return fmt.Errorf("litellm_params.model: is required")
	}
	if err := refuseRef("model_name", m.Name); err != nil {
		return err
	}
	if err := refuseRef("litellm_params.model", m.Model); err != nil {
		return err
	}
	if err := refuseRef("litellm_params.api_base", m.APIBase); err != nil {
		return fmt.Errorf("%w (write the URL itself: it is not a secret)", err)
	}
	if err := checkSecretRef(m.APIKey); err != nil {
		return fmt.Errorf("litellm_params.api_key: %w", err)
	}
	base, _, err := m.Backend()
	if err != nil {
		return fmt.Errorf("litellm_params.model: %w", err)
	}
	if err := CheckTarget(base); err != nil {
		return fmt.Errorf("litellm_params.api_base: %w", err)
	}
	if m.APIKey == "" {
		m.APIKey = m.defaultKey()
	}
	return nil
}

// CheckModels validates model_list entries read from elsewhere (the stored settings).
func CheckModels(models []Model) error {
	for i := range models {
		if err := checkModel(&models[i]); err != nil {
			return fmt.Errorf("model_list[%d] (%s): %w", i, models[i].Name, err)
		}
	}
	return nil
}
