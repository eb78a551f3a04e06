//go:build !noawsbackends

package wiring_test

// Virtual keys and per-key rate limits through the whole gateway: keys from the config file,
// limits in memory (make run). The DynamoDB variants are in keys_moto_test.go.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passthru/gateway/shared/usage/usagetest"
	"github.com/passthru/gateway/shared/wiring"
)

const (
	// Shaped as keys.Generate makes them: the DynamoDB-backed verifier refuses any other shape
	// without reading the table.
	rerankKey   = "sk-gw-rerank4b1e0c9d000000000000000000"
	anyRouteKey = "sk-gw-anyroute77a0f2000000000000000000"
	expiredKey  = "sk-gw-expired9d3c510000000000000000000"
)

// keysConfig declares three virtual keys beside the master key, and one route of each auth tier.
func keysConfig(upstream string) string {
	return fmt.Sprintf(`keys:
  - {alias: rerank-only, key: %s, rpm: 10, routes: [/v1/rerank], tags: [team:search], metadata: {owner: ana}}
  - {alias: any-route, key: %s}
  - {alias: expired, key: %s, expires: 2020-01-01, routes: [/v1/rerank]}
general_settings:
  master_key: %s
  pass_through_endpoints:
    - {path: /v1/rerank, target: "%[5]s/v1/rerank", auth: true}
    - {path: /api/public/ingestion, target: "%[5]s/api/public/ingestion", auth: true}
    - {path: /any-key, target: "%[5]s/any-key"}
    - {path: /public, target: "%[5]s/public", auth: false}
    - {path: /public-fwd, target: "%[5]s/public-fwd", auth: false, forward_headers: true}
`, rerankKey, anyRouteKey, expiredKey, masterKey, upstream)
}

// upstreamCounter answers 200 "ok" and counts the requests that reached it, failing the test if
// a gateway key ever arrives.
func upstreamCounter(t *testing.T, hits *atomic.Int64) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		for name, vs := range r.Header {
			for _, v := range vs {
				for _, k := range []string{rerankKey, anyRouteKey, expiredKey, masterKey} {
					if strings.Contains(v, k) {
						t.Errorf("gateway key reached the upstream in %s", name)
					}
				}
			}
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// keysGateway serves keysConfig from memory and returns its URL and the usage records.
func keysGateway(t *testing.T, upstream string) (string, *usagetest.Sink) {
	t.Helper()
	src, err := wiring.OpenSources(context.Background(), wiring.SourceOptions{ConfigYAML: keysConfig(upstream), Secrets: "inline", SecretsInline: "{}"}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	sink := usagetest.NewSink()
	srv := httptest.NewServer(wiring.NewHandler(src, sink, quiet, false))
	t.Cleanup(srv.Close)
	return srv.URL, sink
}

func keyCall(t *testing.T, url, key string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"query":"q"}`))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

const (
	forbiddenIngestion = `{"error":{"message":"Virtual key is not allowed to call this route. Route=/api/public/ingestion.","type":"permission_error","param":"None","code":"403"}}`
	forbiddenRerank    = `{"error":{"message":"Virtual key is not allowed to call this route. Route=/v1/rerank.","type":"permission_error","param":"None","code":"403"}}`
	noKeyBody          = `{"error":{"message":"Authentication Error, No api key passed in.","type":"auth_error","param":"None","code":"401"}}`
)

// TestKeyTiers is the access matrix: auth:true needs a grant (or the master key), a route
// without auth takes any valid key, auth:false takes anyone; expired and unknown keys are 401.
func TestKeyTiers(t *testing.T) {
	var hits atomic.Int64
	gw, _ := keysGateway(t, upstreamCounter(t, &hits))
	cases := []struct {
		path, key string
		status    int
		body      string
	}{
		{"/v1/rerank", rerankKey, 200, "ok"},
		{"/api/public/ingestion", rerankKey, 403, forbiddenIngestion},
		{"/v1/rerank", anyRouteKey, 403, forbiddenRerank},
		{"/any-key", anyRouteKey, 200, "ok"},
		{"/any-key", rerankKey, 200, "ok"},
		{"/api/public/ingestion", masterKey, 200, "ok"},
		{"/v1/rerank", expiredKey, 401, invalidKeyBody},
		{"/any-key", expiredKey, 401, invalidKeyBody},
		{"/v1/rerank", "sk-never-issued", 401, invalidKeyBody},
		{"/any-key", "", 401, noKeyBody},
		{"/public", "", 200, "ok"},
		{"/public", expiredKey, 200, "ok"},
	}
	want := int64(0)
	for _, c := range cases {
		status, _, body := keyCall(t, gw+c.path, c.key)
		if status != c.status || body != c.body {
			t.Errorf("%s with %q: %d %s, want %d %s", c.path, c.key, status, body, c.status, c.body)
		}
		if c.status == 200 {
			want++
		}
	}
	if hits.Load() != want {
		t.Errorf("upstream got %d requests, want %d (refused calls must not reach it)", hits.Load(), want)
	}
}

// awayFromMinuteBoundary waits, if needed, so that a burst started now stays in one fixed
// one-minute window (the limiters count UTC wall-clock minutes).
func awayFromMinuteBoundary(t *testing.T) {
	if s := time.Now().UTC().Second(); s >= 50 {
		time.Sleep(time.Duration(61-s) * time.Second)
	}
}

// burst sends n parallel requests to each gateway in turn and tallies the statuses.
func burst(t *testing.T, n int, key string, gateways ...string) map[int]int {
	t.Helper()
	var mu sync.Mutex
	got := map[int]int{}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			status, h, body := keyCall(t, gateways[i%len(gateways)]+"/v1/rerank", key)
			mu.Lock()
			defer mu.Unlock()
			got[status]++
			if h.Get("x-ratelimit-limit-requests") != "10" {
				t.Errorf("x-ratelimit-limit-requests %q, want 10", h.Get("x-ratelimit-limit-requests"))
			}
			if status == http.StatusTooManyRequests {
				checkRefusal(t, h, body)
			}
		})
	}
	wg.Wait()
	return got
}

// checkRefusal asserts the 429's LiteLLM body and headers.
func checkRefusal(t *testing.T, h http.Header, body string) {
	t.Helper()
	retry := h.Get("Retry-After")
	want := `{"error":{"message":"Rate limit exceeded for key rerank-only: 10 requests per minute. Retry after ` + retry +
		`s.","type":"rate_limit_error","param":"None","code":"429"}}`
	if body != want {
		t.Errorf("429 body %s, want %s", body, want)
	}
	if retry == "" || retry == "0" || len(retry) > 2 || h.Get("x-ratelimit-remaining-requests") != "0" || h.Get("x-ratelimit-reset-requests") != retry+"s" {
		t.Errorf("429 headers: Retry-After %q remaining %q reset %q", retry, h.Get("x-ratelimit-remaining-requests"), h.Get("x-ratelimit-reset-requests"))
	}
}

// TestMemoryLimitIsExactUnderConcurrency: 50 parallel requests, rpm 10, one process.
func TestMemoryLimitIsExactUnderConcurrency(t *testing.T) {
	var hits atomic.Int64
	gw, _ := keysGateway(t, upstreamCounter(t, &hits))
	awayFromMinuteBoundary(t)
	got := burst(t, 50, rerankKey, gw)
	if got[200] != 10 || got[429] != 40 || len(got) != 2 {
		t.Fatalf("statuses %v, want exactly 10×200 and 40×429", got)
	}
	if hits.Load() != 10 {
		t.Errorf("upstream got %d requests, want 10", hits.Load())
	}
	// The master key and unlimited keys are never limited.
	if status, h, _ := keyCall(t, gw+"/v1/rerank", masterKey); status != 200 || h.Get("x-ratelimit-limit-requests") != "" {
		t.Errorf("master key: %d, x-ratelimit-limit-requests %q", status, h.Get("x-ratelimit-limit-requests"))
	}
}

// TestSuccessCarriesRemaining: every admitted response says how many requests are left.
func TestSuccessCarriesRemaining(t *testing.T) {
	var hits atomic.Int64
	gw, sink := keysGateway(t, upstreamCounter(t, &hits))
	awayFromMinuteBoundary(t)
	for i := range 3 {
		status, h, _ := keyCall(t, gw+"/v1/rerank", rerankKey)
		if status != 200 || h.Get("x-ratelimit-remaining-requests") != fmt.Sprint(9-i) || h.Get("x-ratelimit-limit-requests") != "10" {
			t.Fatalf("call %d: %d remaining %q limit %q", i, status, h.Get("x-ratelimit-remaining-requests"), h.Get("x-ratelimit-limit-requests"))
		}
		rec := sink.Next(t)
		if rec.KeyAlias != "rerank-only" || strings.Join(rec.Tags, ",") != "team:search" || len(rec.KeyMetadata) != 1 || rec.KeyMetadata["owner"] != "ana" {
			t.Errorf("usage record key %q tags %v metadata %v, want rerank-only [team:search] map[owner:ana]", rec.KeyAlias, rec.Tags, rec.KeyMetadata)
		}
	}
}

// TestPublicRouteKeepsGatewayKeys: on a public route that forwards headers, only a credential
// the gateway positively does not know passes; its own keys, valid or not, never do.
func TestPublicRouteKeepsGatewayKeys(t *testing.T) {
	got := make(chan string, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("Authorization")
		io.WriteString(w, "ok")
	}))
	t.Cleanup(up.Close)
	gw, _ := keysGateway(t, up.URL)
	for _, c := range []struct{ key, upstreamSees string }{
		{rerankKey, ""},                   // a valid virtual key
		{masterKey, ""},                   // the master key
		{expiredKey, ""},                  // expired, but still the gateway's
		{"sk-gw-revokedOrUnknown123", ""}, // shaped like a virtual key: never forwarded
		{"sk-openai-callers-own", "Bearer sk-openai-callers-own"},
	} {
		if status, _, body := keyCall(t, gw+"/public-fwd", c.key); status != 200 || body != "ok" {
			t.Fatalf("%s: %d %s", c.key, status, body)
		}
		if a := <-got; a != c.upstreamSees {
			t.Errorf("key %q: upstream saw Authorization %q, want %q", c.key, a, c.upstreamSees)
		}
	}
}
