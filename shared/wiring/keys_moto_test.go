//go:build !noawsbackends

package wiring_test

// Virtual keys in DynamoDB and rate limits shared by several gateway instances, on moto.

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/passthru/gateway/shared/auth"
	"github.com/passthru/gateway/shared/keys"
	"github.com/passthru/gateway/shared/motoserver"
	"github.com/passthru/gateway/shared/ratelimit"
	"github.com/passthru/gateway/shared/usage/usagetest"
	"github.com/passthru/gateway/shared/wiring"
)

const (
	keysTable      = "gw-test-keys"
	rateLimitTable = "gw-test-ratelimit"
)

// dynamoKeys resets moto, creates both tables and stores the given keys (clear key → key).
func dynamoKeys(t *testing.T, stored map[string]keys.Key) *keys.DynamoDB {
	t.Helper()
	motoserver.Require(t)
	ctx := bounded(t)
	db := dynamodb.NewFromConfig(motoserver.Config(t))
	if err := keys.CreateTable(ctx, db, keysTable); err != nil {
		t.Fatal(err)
	}
	if err := ratelimit.CreateTable(ctx, db, rateLimitTable); err != nil {
		t.Fatal(err)
	}
	store := keys.NewDynamoDB(db, keysTable)
	for clear, k := range stored {
		k.Hash = auth.Hash(clear)
		if err := store.Put(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	return store
}

// dynamoGateway is one gateway instance: its own SDK clients, key cache and limiter, on the
// shared tables (routes from the config file, without its keys).
func dynamoGateway(t *testing.T, upstream string) string {
	t.Helper()
	cfg := keysConfig(upstream)
	cfg = cfg[strings.Index(cfg, "general_settings:"):]
	aws := motoserver.AtomicConfig(t)
	src, err := wiring.OpenSources(context.Background(), wiring.SourceOptions{
		ConfigYAML: cfg, Secrets: "inline", SecretsInline: "{}",
		KeysTable: keysTable, RateLimitTable: rateLimitTable, AWS: &aws,
	}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(wiring.NewHandler(src, usagetest.NewSink(), quiet, false))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestDynamoDBKeysGrantsExpiryAndRevocation(t *testing.T) {
	past := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	store := dynamoKeys(t, map[string]keys.Key{
		rerankKey:  {Alias: "rerank-only", Routes: []string{"/v1/rerank"}, RPM: 10},
		expiredKey: {Alias: "expired", Routes: []string{"/v1/rerank"}, Expires: &past},
	})
	var hits atomic.Int64
	gw := dynamoGateway(t, upstreamCounter(t, &hits))
	for _, c := range []struct {
		path, key string
		status    int
		body      string
	}{
		{"/v1/rerank", rerankKey, 200, "ok"},
		{"/api/public/ingestion", rerankKey, 403, forbiddenIngestion},
		{"/v1/rerank", expiredKey, 401, invalidKeyBody},
		{"/v1/rerank", "sk-never-issued", 401, invalidKeyBody},
		{"/api/public/ingestion", masterKey, 200, "ok"},
	} {
		if status, _, body := keyCall(t, gw+c.path, c.key); status != c.status || body != c.body {
			t.Errorf("%s with %q: %d %s, want %d %s", c.path, c.key, status, body, c.status, c.body)
		}
	}

	if _, err := store.Revoke(bounded(t), "rerank-only"); err != nil {
		t.Fatal(err)
	}
	// An instance whose cache has not seen the key refuses it at once; warm instances within
	// the key cache TTL (30 s, documented).
	if status, _, body := keyCall(t, dynamoGateway(t, upstreamCounter(t, &hits))+"/v1/rerank", rerankKey); status != 401 || body != invalidKeyBody {
		t.Errorf("revoked key: %d %s, want 401", status, body)
	}
}

// TestDynamoDBLimitIsExactAcrossInstances: 50 parallel requests, rpm 10, spread over two
// gateway instances that share only the DynamoDB tables.
func TestDynamoDBLimitIsExactAcrossInstances(t *testing.T) {
	dynamoKeys(t, map[string]keys.Key{rerankKey: {Alias: "rerank-only", Routes: []string{"/v1/rerank"}, RPM: 10}})
	var hits atomic.Int64
	up := upstreamCounter(t, &hits)
	a, b := dynamoGateway(t, up), dynamoGateway(t, up)
	awayFromMinuteBoundary(t)
	got := burst(t, 50, rerankKey, a, b)
	if got[200] != 10 || got[429] != 40 || len(got) != 2 {
		t.Fatalf("statuses %v, want exactly 10×200 and 40×429", got)
	}
	if hits.Load() != 10 {
		t.Errorf("upstream got %d requests, want 10", hits.Load())
	}
}

// TestDynamoDBLimiterUnreachable: a limited key with no counter table is refused with a clear
// 503 by default, and admitted uncounted with RateLimitFailOpen.
func TestDynamoDBLimiterUnreachable(t *testing.T) {
	dynamoKeys(t, map[string]keys.Key{rerankKey: {Alias: "rerank-only", Routes: []string{"/v1/rerank"}, RPM: 10}})
	var hits atomic.Int64
	up := upstreamCounter(t, &hits)
	for _, failOpen := range []bool{false, true} {
		cfg := keysConfig(up)
		aws := motoserver.Config(t)
		src, err := wiring.OpenSources(context.Background(), wiring.SourceOptions{
			ConfigYAML: cfg[strings.Index(cfg, "general_settings:"):], Secrets: "inline", SecretsInline: "{}",
			KeysTable: keysTable, RateLimitTable: "no-such-table", RateLimitFailOpen: failOpen, AWS: &aws,
		}, quiet)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(wiring.NewHandler(src, usagetest.NewSink(), quiet, false))
		status, _, body := keyCall(t, srv.URL+"/v1/rerank", rerankKey)
		srv.Close()
		want, wantBody := 503, `{"error":{"message":"Rate limiting is unavailable; try again shortly.","type":"service_unavailable","param":"None","code":"503"}}`
		if failOpen {
			want, wantBody = 200, "ok"
		}
		if status != want || body != wantBody {
			t.Errorf("fail open %v: %d %s, want %d %s", failOpen, status, body, want, wantBody)
		}
	}
	if hits.Load() != 1 {
		t.Errorf("upstream got %d requests, want 1 (the fail-open one)", hits.Load())
	}
}
