package proxy_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passthru/gateway/shared/auth"
	"github.com/passthru/gateway/shared/proxy"
	"github.com/passthru/gateway/shared/ratelimit"
)

// teamKey is a virtual key limited to 2 requests per minute.
type teamKey struct{}

func (teamKey) Verify(_ context.Context, key string) (auth.Principal, error) {
	if key != "sk-team" {
		return auth.Principal{}, auth.ErrInvalidKey
	}
	return auth.Principal{Alias: "team-a", KeyHash: auth.Hash(key), RPM: 2, Tags: []string{"key-tag"}, Routes: []string{"/x"}}, nil
}

// countingLimiter admits rpm requests, then refuses; err, when set, is returned instead.
type countingLimiter struct {
	mu    sync.Mutex
	hits  int
	err   error
	reset time.Time
}

func (l *countingLimiter) Allow(_ context.Context, key string, rpm int) (ratelimit.Decision, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return ratelimit.Decision{}, l.err
	}
	if key != auth.Hash("sk-team") {
		return ratelimit.Decision{}, errors.New("the limiter got something other than the key's hash")
	}
	l.hits++
	return ratelimit.Decision{Allowed: l.hits <= rpm, Limit: rpm, Remaining: max(rpm-l.hits, 0), Reset: l.reset}, nil
}

const limitedConfig = `
general_settings:
  master_key: sk-1234
  pass_through_endpoints:
    - {path: /x, target: "{{UP}}/x", auth: true}
`

func TestRateLimit(t *testing.T) {
	up := startUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Ratelimit-Remaining-Requests", "999") // the provider's own: the gateway's wins
		jsonReply(200, `{}`)(w, r)
	})
	lim := &countingLimiter{reset: time.Now().Add(30 * time.Second)}
	g := startGateway(t, limitedConfig, up.URL, proxy.WithKeys(teamKey{}), proxy.WithRateLimiter(lim, false))
	h := map[string]string{"Authorization": "Bearer sk-team"}
	for i, remaining := range []string{"1", "0"} {
		resp, body := do(t, "POST", g.URL+"/x", strings.NewReader(`{}`), h)
		wantStatus(t, resp, body, 200)
		if got := resp.Header.Get("X-Ratelimit-Remaining-Requests"); got != remaining || resp.Header.Get("X-Ratelimit-Limit-Requests") != "2" {
			t.Errorf("request %d: remaining %q limit %q", i, got, resp.Header.Get("X-Ratelimit-Limit-Requests"))
		}
		if rec := g.usage.Next(t); rec.KeyAlias != "team-a" || strings.Join(rec.Tags, ",") != "key-tag" {
			t.Errorf("record %+v", rec)
		}
	}
	resp, body := do(t, "POST", g.URL+"/x", strings.NewReader(`{}`), h)
	wantStatus(t, resp, body, 429)
	wantBody(t, body, errorJSON("429", "rate_limit_error", "Rate limit exceeded for key team-a: 2 requests per minute. Retry after 30s."))
	if resp.Header.Get("Retry-After") != "30" || resp.Header.Get("X-Ratelimit-Remaining-Requests") != "0" || resp.Header.Get("X-Ratelimit-Reset-Requests") != "30s" {
		t.Errorf("429 headers %v", resp.Header)
	}
	if up.count() != 2 {
		t.Errorf("upstream got %d calls, want 2", up.count())
	}
}

// A limiter that cannot be reached refuses limited keys with a 503 by default (logged once per
// outage), or lets them through when configured to fail open.
func TestRateLimiterUnavailable(t *testing.T) {
	up := startUpstream(t, jsonReply(200, `{}`))
	lim := &countingLimiter{err: errors.New("dynamodb: connection refused")}
	closed := startGateway(t, limitedConfig, up.URL, proxy.WithKeys(teamKey{}), proxy.WithRateLimiter(lim, false))
	h := map[string]string{"Authorization": "Bearer sk-team"}
	for range 3 {
		resp, body := do(t, "POST", closed.URL+"/x", strings.NewReader(`{}`), h)
		wantStatus(t, resp, body, 503)
		wantBody(t, body, errorJSON("503", "service_unavailable", "Rate limiting is unavailable; try again shortly."))
	}
	if n := strings.Count(closed.logs.String(), "rate limiting is unavailable"); n != 1 {
		t.Errorf("outage logged %d times, want once", n)
	}
	open := startGateway(t, limitedConfig, up.URL, proxy.WithKeys(teamKey{}), proxy.WithRateLimiter(lim, true))
	resp, body := do(t, "POST", open.URL+"/x", strings.NewReader(`{}`), h)
	wantStatus(t, resp, body, 200)
}
