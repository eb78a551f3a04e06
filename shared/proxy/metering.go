package proxy

import (
	"math"
	"net/http"
	"net/url"
	"strconv"
	"sync"

	"github.com/passthru/gateway/shared/usage"
)

// Meter reads the response bytes of one call as they go to the client and reports the tokens
// the provider said it used. Write never fails and never holds a byte back.
type Meter interface {
	Write(p []byte) (int, error)
	Tokens() usage.Tokens
}

// MeterFunc starts a meter for a call: the URL it went to, a prefix of its request body, and
// the upstream's status and headers.
type MeterFunc func(upstream *url.URL, request []byte, status int, header http.Header) Meter

// Pricer prices tokens; ok is false when it cannot (unknown model, missing counts).
type Pricer interface {
	Cost(t usage.Tokens) (usd float64, ok bool)
}

// WithMetering sets how calls are metered (default: none; records carry no tokens).
func WithMetering(f MeterFunc) Option { return func(h *Handler) { h.meter = f } }

// WithPricing sets the price table for computed costs (default: none).
func WithPricing(p Pricer) Option { return func(h *Handler) { h.pricer = p } }

// requestPrefixLimit bounds the request bytes kept for metering (the model name and stream flag
// sit near the start of a JSON body).
const requestPrefixLimit = 64 << 10

// prefix keeps the first bytes of a body that another goroutine (the transport) reads.
type prefix struct {
	mu  sync.Mutex
	buf []byte
}

func (p *prefix) add(b []byte) {
	p.mu.Lock()
	if room := requestPrefixLimit - len(p.buf); room > 0 {
		p.buf = append(p.buf, b[:min(room, len(b))]...)
	}
	p.mu.Unlock()
}

func (p *prefix) bytes() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]byte(nil), p.buf...)
}

// costHeader is how an upstream (another LiteLLM, an internal service) reports what a call
// cost; it wins over every other source, as in LiteLLM.
const costHeader = "X-Litellm-Response-Cost"

// settleCost fills the record's cost from the most authoritative source there is.
func (c *call) settleCost(rec *usage.Record, pricer Pricer) {
	switch {
	case c.upstreamCost != nil:
		rec.CostUSD, rec.CostSource = c.upstreamCost, usage.CostFromUpstream
	case c.upstream == "" || c.noCall:
		// Never reached an upstream (auth, routing, secrets; refused, DNS, TLS): nothing spent.
		zero := 0.0
		rec.CostUSD, rec.CostSource = &zero, usage.CostNoUpstreamCall
	case c.unanswered:
		// Received but never answered (timed out, caller gone, connection closed): the
		// provider may have run and billed it, so the cost is unknown, not 0.
		rec.CostUnknown = true
	case c.route.CostPerRequest != nil && c.status > 0 && c.status < 400:
		rec.CostUSD, rec.CostSource = c.route.CostPerRequest, usage.CostFromCostPerRequest
	case pricer != nil && hasTokens(rec.Tokens):
		if usd, ok := pricer.Cost(rec.Tokens); ok {
			rec.CostUSD, rec.CostSource = &usd, usage.CostComputed
			return
		}
		rec.CostUnknown = true
	case c.status >= 400 && !hasTokens(rec.Tokens):
		// Rejected by the upstream: providers do not bill a request they refused.
		zero := 0.0
		rec.CostUSD, rec.CostSource = &zero, usage.CostUpstreamError
	default:
		rec.CostUnknown = true // a successful call with no usage we could read or price
	}
}

func hasTokens(t usage.Tokens) bool {
	return t.Input != nil || t.Output != nil || t.SearchUnits != nil
}

// parseCost reads x-litellm-response-cost: a finite, non-negative decimal, else nothing.
func parseCost(h http.Header) *float64 {
	v := h.Get(costHeader)
	if v == "" {
		return nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return &f
}
