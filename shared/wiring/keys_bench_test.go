//go:build !noawsbackends

package wiring_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/passthru/gateway/shared/auth"
	"github.com/passthru/gateway/shared/keys"
	"github.com/passthru/gateway/shared/motoserver"
	"github.com/passthru/gateway/shared/ratelimit"
	"github.com/passthru/gateway/shared/wiring"
)

// benchAuthAndLimit measures what the proxy does per request for a virtual key: verify it,
// then count it against its RPM limit.
func benchAuthAndLimit(b *testing.B, o wiring.SourceOptions) {
	ctx := context.Background()
	o.ConfigYAML = `keys:
  - {alias: bench, key: ` + rerankKey + `, rpm: 1000000000, routes: [/v1/rerank]}
general_settings:
  master_key: ` + masterKey + `
  pass_through_endpoints:
    - {path: /v1/rerank, target: "http://127.0.0.1:1/v1/rerank", auth: true}
`
	o.Secrets, o.SecretsInline = "inline", "{}"
	src, err := wiring.OpenSources(ctx, o, quiet)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		p, err := src.Keys.Verify(ctx, rerankKey)
		if err != nil {
			b.Fatal(err)
		}
		if d, err := src.Limiter.Allow(ctx, p.KeyHash, p.RPM); err != nil || !d.Allowed {
			b.Fatal(d, err)
		}
	}
}

// BenchmarkAuthAndLimitWarm: key from the warm cache, limit counted in memory (no I/O).
func BenchmarkAuthAndLimitWarm(b *testing.B) { benchAuthAndLimit(b, wiring.SourceOptions{}) }

// BenchmarkAuthAndLimitDynamoDB: key from the warm cache, limit counted in DynamoDB on moto:
// one conditional UpdateItem round trip per request, as in production.
func BenchmarkAuthAndLimitDynamoDB(b *testing.B) {
	motoserver.Require(b)
	cfg := motoserver.Config(b)
	db := dynamodb.NewFromConfig(cfg)
	if err := keys.CreateTable(context.Background(), db, keysTable); err != nil {
		b.Fatal(err)
	}
	if err := ratelimit.CreateTable(context.Background(), db, rateLimitTable); err != nil {
		b.Fatal(err)
	}
	if err := keys.NewDynamoDB(db, keysTable).Put(context.Background(), keys.Key{Hash: auth.Hash(rerankKey), Alias: "bench", RPM: 1000000000, Routes: []string{"/v1/rerank"}}); err != nil {
		b.Fatal(err)
	}
	benchAuthAndLimit(b, wiring.SourceOptions{KeysTable: keysTable, RateLimitTable: rateLimitTable, AWS: &cfg})
}
