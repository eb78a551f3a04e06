// Package pricing turns the tokens of one call into US dollars.
//
// The price table is embedded in the binary (prices.json, with the source and the date of its
// figures written next to them) and can be overridden per model from config with Table.With.
// A model the table does not know, or a call whose usage lacks the counts its price needs, has
// no cost: Cost returns ok=false and the caller records cost null and cost_unknown, never 0.
package pricing

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/passthru/gateway/shared/usage"
)

// Price is what one model costs, in USD per token (LiteLLM's model_prices field names in JSON).
type Price struct {
	InputPerToken      float64 `json:"input_cost_per_token"`
	OutputPerToken     float64 `json:"output_cost_per_token"`
	CacheReadPerToken  float64 `json:"cache_read_input_token_cost,omitempty"`     // 0: billed as input
	CacheWritePerToken float64 `json:"cache_creation_input_token_cost,omitempty"` // 0: billed as input
	PerSearchUnit      float64 `json:"search_unit_cost,omitempty"`                // Cohere rerank
	Provider           string  `json:"litellm_provider,omitempty"`
}

// Table is a read-only set of prices keyed by lower-case model id. A price that only applies
// through one provider is keyed "<provider>/<model>", provider being one of openai, anthropic,
// cohere, gemini (Gemini API), vertex_ai or bedrock; the usual aliases ("vertex", "google",
// "aws", "bedrock_converse", ...) are folded onto those. Safe for concurrent use.
type Table struct {
	source string
	date   string
	models map[string]Price
}

//go:embed prices.json
var embedded []byte

// priceFile is the shape of prices.json.
type priceFile struct {
	Source string           `json:"source"`
	Date   string           `json:"date"`
	Note   string           `json:"note"`
	Models map[string]Price `json:"models"`
}

var defaultTable = sync.OnceValue(func() *Table {
	t, err := parse(embedded)
	if err != nil {
		panic("pricing: embedded prices.json: " + err.Error())
	}
	return t
})

// Default is the table embedded in the binary (prices.json via go:embed), with its source and date.
func Default() *Table { return defaultTable() }

// parse reads a price file strictly: unknown fields, a missing source or date, a bad date, a
// key that normalizes onto another one, and a price that is negative, not finite or all zero
// are errors.
func parse(b []byte) (*Table, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f priceFile
	if err := dec.Decode(&f); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing data after the price object")
	}
	if strings.TrimSpace(f.Source) == "" {
		return nil, errors.New(`"source" is empty`)
	}
	if _, err := time.Parse(time.DateOnly, f.Date); err != nil {
		return nil, fmt.Errorf(`"date" %q is not YYYY-MM-DD`, f.Date)
	}
	if len(f.Models) == 0 {
		return nil, errors.New(`"models" is empty`)
	}
	t := &Table{source: f.Source, date: f.Date, models: make(map[string]Price, len(f.Models))}
	for k, p := range f.Models {
		key := normalizeKey(k)
		if key == "" {
			return nil, fmt.Errorf("model %q: empty name", k)
		}
		if _, dup := t.models[key]; dup {
			return nil, fmt.Errorf("model %q: listed twice once normalized (%q)", k, key)
		}
		if err := checkPrice(p); err != nil {
			return nil, fmt.Errorf("model %q: %w", k, err)
		}
		t.models[key] = p
	}
	return t, nil
}

func checkPrice(p Price) error {
	priced := false
	for _, v := range []float64{p.InputPerToken, p.OutputPerToken, p.CacheReadPerToken, p.CacheWritePerToken, p.PerSearchUnit} {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return fmt.Errorf("price %v is not a finite non-negative number", v)
		}
		priced = priced || v > 0
	}
	if !priced {
		return errors.New("every price is 0")
	}
	return nil
}

// Source says where the prices come from.
func (t *Table) Source() string {
	if t == nil {
		return ""
	}
	return t.source
}

// Date says when the prices were recorded (YYYY-MM-DD).
func (t *Table) Date() string {
	if t == nil {
		return ""
	}
	return t.date
}

// With returns a copy with per-model overrides (from config) that win over the embedded prices.
// Keys are model ids as Lookup finds them (case-insensitive), optionally "<provider>/<model>"
// for a price that only applies to one provider. The receiver is not modified. Values are used
// as given: config validation should refuse negative or non-finite prices (Cost reports a
// non-finite or negative result as unknown rather than recording it).
func (t *Table) With(overrides map[string]Price) *Table {
	c := &Table{models: map[string]Price{}}
	if t != nil {
		c.source, c.date = t.source, t.date
		c.models = maps.Clone(t.models)
		if c.models == nil {
			c.models = map[string]Price{}
		}
	}
	for k, p := range overrides {
		if key := normalizeKey(k); key != "" {
			c.models[key] = p
		}
	}
	return c
}

// Lookup finds a model's price, tolerating the usual spellings: the exact id; lower case;
// provider prefixes ("openai/", "anthropic/", "bedrock/", "vertex_ai/", "gemini/", "cohere/");
// Bedrock cross-region prefixes ("us.", "eu.", "apac.", "global.", ...) and ARNs; Vertex and
// Gemini resource names ("models/...", ".../publishers/google/models/..."); Vertex "@version"
// suffixes; and dated or numbered versions falling back to the undated base when only the base
// is priced ("gpt-4o-mini-2024-07-18", "claude-sonnet-4-5-20250929", "gemini-2.0-flash-001",
// "gemini-2.5-pro-preview-06-05"). A price keyed "<provider>/<model>" wins over the plain one
// when provider (or the model's own prefix) names that provider. Provider may be empty.
func (t *Table) Lookup(provider, model string) (Price, bool) {
	_, pr, ok := t.find(provider, model)
	return pr, ok
}

// Name is the table's own name for a priced model: the key Lookup matched ("gpt-4o-mini",
// "bedrock/anthropic.claude-x", an override's key lower-cased), whatever the spelling the caller
// sent (case, provider prefixes, dates of a base-priced model, ARNs with any account). ok is
// false when the model is not priced. Its values are bounded by the table, so they can serve as
// a metric dimension that callers cannot multiply.
func (t *Table) Name(provider, model string) (name string, ok bool) {
	name, _, ok = t.find(provider, model)
	return name, ok
}

// find is Lookup, with the key that matched.
func (t *Table) find(provider, model string) (string, Price, bool) {
	if t == nil || len(t.models) == 0 {
		return "", Price{}, false
	}
	p := canonicalProvider(provider)
	// Fast path for the common case, an id sent exactly as it is keyed. Only a '/'-free key can
	// match here, and the only providers candidates can infer from such a spelling are bedrock
	// and vertex_ai, so checking those keys keeps the result identical to the full search
	// (TestLookupFastPath compares both for every key).
	if pr, ok := t.models[model]; ok && !strings.Contains(model, "/") {
		var shadowed bool
		if p != "" {
			shadowed = t.hasProviderKey(p, model)
		} else {
			shadowed = t.hasProviderKey("bedrock", model) || t.hasProviderKey("vertex_ai", model)
		}
		if !shadowed {
			return model, pr, true
		}
	}
	return t.lookup(p, model)
}

// lookup is find without the fast path; p is already canonical.
func (t *Table) lookup(p, model string) (string, Price, bool) {
	names, inferred := candidates(model)
	if p == "" {
		p = inferred
	}
	for _, name := range names {
		if p != "" {
			if pr, ok := t.models[p+"/"+name]; ok {
				return p + "/" + name, pr, true
			}
		}
		if pr, ok := t.models[name]; ok {
			return name, pr, true
		}
	}
	return "", Price{}, false
}

func (t *Table) hasProviderKey(provider, model string) bool {
	_, ok := t.models[provider+"/"+model]
	return ok
}

// Cost prices one call. ok is false when the model is unknown or the tokens it needs are missing (then the caller records cost null + cost_unknown, never 0).
//
// Input includes cached and cache-write tokens, Output includes reasoning tokens (usage.Tokens):
// uncached input = Input - Cached - CacheWrite (never below 0), and
// cost = uncached×input + Cached×cache-read + CacheWrite×cache-write + Output×output +
// SearchUnits×search-unit, where a cache price of 0 means the input price. A nil count is 0 as
// long as something the model is priced by was reported: a model priced per token needs Input
// or Output, a model priced per search unit (rerank) needs SearchUnits. Nothing is rounded.
func (t *Table) Cost(u usage.Tokens) (usd float64, ok bool) {
	p, found := t.Lookup(u.Provider, u.Model)
	if !found {
		return 0, false
	}
	byTokens := p.InputPerToken > 0 || p.OutputPerToken > 0 || p.CacheReadPerToken > 0 || p.CacheWritePerToken > 0
	bySearch := p.PerSearchUnit > 0
	haveTokens := u.Input != nil || u.Output != nil
	haveSearch := u.SearchUnits != nil
	switch {
	case byTokens && bySearch:
		if !haveTokens && !haveSearch {
			return 0, false
		}
	case byTokens:
		if !haveTokens {
			return 0, false
		}
	case bySearch:
		if !haveSearch {
			return 0, false
		}
	default: // a free model (an override of all zeros): any reported usage prices it at 0
		if !haveTokens && !haveSearch {
			return 0, false
		}
	}
	in, out := count(u.Input), count(u.Output)
	cached, written, units := count(u.Cached), count(u.CacheWrite), count(u.SearchUnits)
	uncached := max(in-cached-written, 0)
	readPrice, writePrice := p.CacheReadPerToken, p.CacheWritePerToken
	if readPrice == 0 {
		readPrice = p.InputPerToken
	}
	if writePrice == 0 {
		writePrice = p.InputPerToken
	}
	usd = float64(uncached)*p.InputPerToken +
		float64(cached)*readPrice +
		float64(written)*writePrice +
		float64(out)*p.OutputPerToken +
		float64(units)*p.PerSearchUnit
	if math.IsNaN(usd) || math.IsInf(usd, 0) || usd < 0 {
		return 0, false
	}
	return usd, true
}

// count is a reported count, 0 when not reported; a negative count (a parser bug) counts as 0.
func count(n *int64) int64 {
	if n == nil || *n < 0 {
		return 0
	}
	return *n
}
