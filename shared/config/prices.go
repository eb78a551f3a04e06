package config

// The top-level `model_prices` section: per-model price overrides.

import (
	"go.yaml.in/yaml/v3"
)

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
