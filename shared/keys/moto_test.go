//go:build !noawsbackends

package keys_test

import (
	"context"
	"errors"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/passthru/gateway/shared/auth"
	"github.com/passthru/gateway/shared/keys"
	"github.com/passthru/gateway/shared/motoserver"
)

func TestMain(m *testing.M) { os.Exit(motoserver.Main(m)) }

const table = "gateway-keys"

// motoTable creates the keys table on a freshly reset moto and returns its client.
func motoTable(t testing.TB) *dynamodb.Client {
	t.Helper()
	motoserver.Require(t)
	c := dynamodb.NewFromConfig(motoserver.Config(t))
	if err := keys.CreateTable(context.Background(), c, table); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDynamoDBRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := keys.NewDynamoDB(motoTable(t), table)
	exp := t0.Add(30 * 24 * time.Hour)
	full := keys.Key{
		Hash: auth.Hash("sk-full"), Alias: "zulu-full", Created: t0, Expires: &exp,
		Routes: []string{"/v1/rerank", "/api/public/"}, RPM: 600, Tags: []string{"team:search", "env:prod"},
		Metadata: map[string]string{"owner": "ana", "ticket": "OPS-7"},
	}
	bare := keys.Key{Hash: auth.Hash("sk-bare"), Alias: "alpha-bare", Created: t0}
	for _, k := range []keys.Key{full, bare} {
		if err := s.Put(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []keys.Key{full, bare} {
		got, ok, err := s.Get(ctx, want.Hash)
		if err != nil || !ok || !reflect.DeepEqual(got, want) {
			t.Fatalf("Get = %+v, %v, %v\nwant %+v", got, ok, err, want)
		}
	}
	if _, ok, err := s.Get(ctx, auth.Hash("sk-none")); ok || err != nil {
		t.Fatalf("Get of an unknown hash: found %v, err %v", ok, err)
	}
	list, err := s.List(ctx)
	if err != nil || !reflect.DeepEqual(list, []keys.Key{bare, full}) {
		t.Fatalf("List = %+v, %v\nwant [bare full]", list, err)
	}
	r, err := s.Revoke(ctx, "zulu-full")
	want := full
	want.Disabled = true
	if err != nil || !reflect.DeepEqual(r, want) {
		t.Fatalf("Revoke by alias = %+v, %v\nwant %+v", r, err, want)
	}
	if got, _, _ := s.Get(ctx, full.Hash); !got.Disabled {
		t.Fatal("revoked key not disabled in the table")
	}
	if r, err := s.Revoke(ctx, bare.Hash); err != nil || !r.Disabled || r.Alias != "alpha-bare" {
		t.Fatalf("Revoke by hash = %+v, %v", r, err)
	}
	if _, err := s.Revoke(ctx, "nobody"); !errors.Is(err, keys.ErrNotFound) {
		t.Fatalf("Revoke of an unknown alias: %v, want ErrNotFound", err)
	}
	if _, err := s.Revoke(ctx, auth.Hash("sk-none")); !errors.Is(err, keys.ErrNotFound) {
		t.Fatalf("Revoke of an unknown hash: %v, want ErrNotFound", err)
	}
}

func TestDynamoDBPutExistingFails(t *testing.T) {
	ctx := context.Background()
	s := keys.NewDynamoDB(motoTable(t), table)
	k := keys.Key{Hash: auth.Hash("sk-dup"), Alias: "first", Created: t0}
	if err := s.Put(ctx, k); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, keys.Key{Hash: k.Hash, Alias: "second", Created: t0}); !errors.Is(err, keys.ErrExists) {
		t.Fatalf("Put of an existing hash: %v, want ErrExists", err)
	}
	if got, _, _ := s.Get(ctx, k.Hash); got.Alias != "first" {
		t.Fatalf("the existing key was overwritten: alias %q", got.Alias)
	}
}

func TestDynamoDBRevokedRefusedAfterTTL(t *testing.T) {
	ctx := context.Background()
	s := keys.NewDynamoDB(motoTable(t), table)
	clear, k, err := keys.Generate("ci")
	if err != nil {
		t.Fatal(err)
	}
	k.Routes = []string{"/v1/rerank"}
	if err := s.Put(ctx, k); err != nil {
		t.Fatal(err)
	}
	c := newClock()
	v := keys.NewVerifier(auth.NewMasterKey(masterKey), s, keys.WithClock(c.Now))
	p, err := v.Verify(ctx, clear)
	if err != nil || p.Alias != "ci" || p.KeyHash != k.Hash || !reflect.DeepEqual(p.Routes, []string{"/v1/rerank"}) {
		t.Fatalf("Verify = %+v, %v", p, err)
	}
	if _, err := s.Revoke(ctx, "ci"); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, clear); err != nil {
		t.Fatalf("revoked key within the TTL (cached): %v, want accepted", err)
	}
	c.Advance(30 * time.Second)
	// The first request after the TTL is answered from the cache while the key is read again.
	if _, err := v.Verify(ctx, clear); err != nil {
		t.Fatalf("revoked key, first request after the TTL: %v, want the cached answer", err)
	}
	v.WaitRefresh()
	if _, err := v.Verify(ctx, clear); !errors.Is(err, auth.ErrInvalidKey) {
		t.Fatalf("revoked key after the TTL: %v, want ErrInvalidKey", err)
	}
	if _, err := keys.NewVerifier(nil, s).Verify(ctx, clear); !errors.Is(err, auth.ErrInvalidKey) {
		t.Fatalf("revoked key, fresh verifier: %v, want ErrInvalidKey", err)
	}
}

// BenchmarkVerifyMoto is a virtual key's verification with one DynamoDB GetItem on moto per
// call (the positive cache off): the cost of a cache miss.
func BenchmarkVerifyMoto(b *testing.B) {
	ctx := context.Background()
	s := keys.NewDynamoDB(motoTable(b), table)
	if err := s.Put(ctx, rerankKey()); err != nil {
		b.Fatal(err)
	}
	v := keys.NewVerifier(auth.NewMasterKey(masterKey), s, keys.WithPositiveTTL(0))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := v.Verify(ctx, virtualKey); err != nil {
			b.Fatal(err)
		}
	}
}
