package gateway

import (
	"context"
	"sync"

	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/pricing"
	"github.com/passthru/gateway/shared/proxy"
	"github.com/passthru/gateway/shared/route"
	"github.com/passthru/gateway/shared/usage"
)

// TablePricer prices calls with the embedded price table and the model_prices overrides of the
// current route table, so an override pushed to SSM applies without a restart. The merged table
// is built once per route table, not per call.
type TablePricer struct {
	Routes proxy.RouteSource // nil: Base alone
	Base   *pricing.Table

	mu     sync.Mutex
	seen   *route.Table
	merged *pricing.Table
}

// Cost implements the proxy's Pricer.
func (p *TablePricer) Cost(t usage.Tokens) (float64, bool) {
	return p.current().Cost(t)
}

// ModelName is the price table's name for a priced model (pricing.Table.Name), for the EMF
// Model dimension (usage.EMF.PricedModels): an override pushed with the routes counts at once.
func (p *TablePricer) ModelName(provider, model string) (string, bool) {
	return p.current().Name(provider, model)
}

func (p *TablePricer) current() *pricing.Table {
	if p.Routes == nil {
		return p.Base
	}
	table, err := p.Routes.Table(context.Background()) // cached by the source: no AWS call here
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case err != nil || table == nil:
		if p.merged != nil {
			return p.merged
		}
		return p.Base
	case table != p.seen:
		p.seen, p.merged = table, p.Base.With(prices(table.ModelPrices))
	}
	return p.merged
}

func prices(over map[string]config.ModelPrice) map[string]pricing.Price {
	out := make(map[string]pricing.Price, len(over))
	for model, mp := range over {
		out[model] = pricing.Price{
			InputPerToken: mp.InputCostPerToken, OutputPerToken: mp.OutputCostPerToken,
			CacheReadPerToken: mp.CacheReadCostPerToken, CacheWritePerToken: mp.CacheWriteCostPerTok,
			PerSearchUnit: mp.SearchUnitCost,
		}
	}
	return out
}
