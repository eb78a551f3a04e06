package pricing

import (
	"context"
	"sync"

	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/route"
	"github.com/passthru/gateway/shared/usage"
)

// RouteTables is the current route table (a file, or SSM with its cache); proxy.RouteSource
// satisfies it.
type RouteTables interface {
	Table(ctx context.Context) (*route.Table, error)
}

// Live prices calls with a base table and the model_prices overrides of the current route
// table, so an override pushed to SSM applies without a restart. The merged table is built once
// per route table, not per call.
type Live struct {
	Routes RouteTables // nil: Base alone
	Base   *Table

	mu     sync.Mutex
	seen   *route.Table
	merged *Table
}

// Cost implements the proxy's Pricer.
func (p *Live) Cost(t usage.Tokens) (float64, bool) {
	return p.current().Cost(t)
}

// ModelName is the price table's name for a priced model (Table.Name), for the EMF Model
// dimension (usage.EMF.PricedModels): an override pushed with the routes counts at once.
func (p *Live) ModelName(provider, model string) (string, bool) {
	return p.current().Name(provider, model)
}

func (p *Live) current() *Table {
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
		p.seen, p.merged = table, p.Base.With(overrides(table.ModelPrices))
	}
	return p.merged
}

// overrides converts the config's model_prices into price-table entries.
func overrides(over map[string]config.ModelPrice) map[string]Price {
	out := make(map[string]Price, len(over))
	for model, mp := range over {
		out[model] = Price{
			InputPerToken: mp.InputCostPerToken, OutputPerToken: mp.OutputCostPerToken,
			CacheReadPerToken: mp.CacheReadCostPerToken, CacheWritePerToken: mp.CacheWriteCostPerTok,
			PerSearchUnit: mp.SearchUnitCost,
		}
	}
	return out
}
