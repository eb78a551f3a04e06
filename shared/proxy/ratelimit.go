package proxy

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/passthru/gateway/shared/apierror"
	"github.com/passthru/gateway/shared/ratelimit"
)

// RateLimiter admits a key's requests per minute; the key is the gateway key's hash. The proxy
// declares only the method it calls; ratelimit's limiters satisfy it as they are, and the
// decision type is ratelimit's own so that no adapter has to copy one struct into a twin.
type RateLimiter interface {
	Allow(ctx context.Context, key string, rpm int) (ratelimit.Decision, error)
}

// WithRateLimiter enforces each key's RPM limit. failOpen admits requests while the limiter's
// store cannot be reached; by default (false) limited keys get a 503 then.
func WithRateLimiter(l RateLimiter, failOpen bool) Option {
	return func(h *Handler) {
		if l != nil { // a nil interface, not a typed nil: no limiter
			h.limiter, h.limiterFailOpen = l, failOpen
		}
	}
}

// admit applies the caller's rate limit, answering 429 (or 503) itself when it refuses.
func (h *Handler) admit(w http.ResponseWriter, r *http.Request, c *call) bool {
	p := c.principal
	if h.limiter == nil || p.RPM <= 0 || p.KeyHash == "" {
		return true
	}
	d, err := h.limiter.Allow(r.Context(), p.KeyHash, p.RPM)
	if err != nil && r.Context().Err() != nil {
		c.fail(w, http.StatusServiceUnavailable, apierror.TypeUnavailable, "Rate limiting is unavailable; try again shortly.", endedClass(r))
		return false // the caller left or time ran out: not an outage
	}
	if err != nil {
		if h.limiterDown.CompareAndSwap(false, true) {
			c.logger().Error("rate limiting is unavailable", "call_id", c.id, "fail_open", h.limiterFailOpen, "error", err)
		}
		if h.limiterFailOpen {
			return true
		}
		c.fail(w, http.StatusServiceUnavailable, apierror.TypeUnavailable, "Rate limiting is unavailable; try again shortly.", "rate_limit_unavailable")
		return false
	}
	if h.limiterDown.CompareAndSwap(true, false) {
		c.logger().Info("rate limiting is available again")
	}
	c.rate = &d
	wait := setRateHeaders(w.Header(), d)
	if !d.Allowed {
		w.Header().Set("Retry-After", strconv.Itoa(wait))
		c.fail(w, http.StatusTooManyRequests, apierror.TypeRateLimit,
			fmt.Sprintf("Rate limit exceeded for key %s: %d requests per minute. Retry after %ds.", p.Alias, d.Limit, wait), "rate_limit")
		return false
	}
	return true
}

// setRateHeaders writes the OpenAI-style limit headers LiteLLM clients read, and returns the
// seconds until the window resets that it wrote, so a refusal's Retry-After and message agree.
func setRateHeaders(h http.Header, d ratelimit.Decision) (wait int) {
	wait = secondsUntil(d.Reset)
	h.Set("X-Ratelimit-Limit-Requests", strconv.Itoa(d.Limit))
	h.Set("X-Ratelimit-Remaining-Requests", strconv.Itoa(max(d.Remaining, 0)))
	h.Set("X-Ratelimit-Reset-Requests", strconv.Itoa(wait)+"s")
	return wait
}

func secondsUntil(t time.Time) int {
	return max(1, int(math.Ceil(time.Until(t).Seconds())))
}
