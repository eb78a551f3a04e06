package keys_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/passthru/gateway/shared/auth"
	"github.com/passthru/gateway/shared/keys"
)

// shaped returns the i-th virtual key of the generated shape that is in no store.
func shaped(i int) string {
	return fmt.Sprintf("sk-gw-%032d", i)
}

// TestVerifierJunkKeysNoStoreRead: a string that cannot be a generated virtual key is refused
// before the cache and the store, as an unknown key is; the master key (any shape) is checked first.
func TestVerifierJunkKeysNoStoreRead(t *testing.T) {
	v, s, _ := setup(t, rerankKey())
	ctx := context.Background()
	for _, junk := range []string{
		"sk-unknown", "Bearer x", "sk-gw-", "sk-gw-short", shaped(1) + "x", strings.ToUpper(shaped(1)),
		"sk-gw-" + strings.Repeat("-", 32), strings.Repeat("a", 100000), "\x00",
	} {
		if _, err := v.Verify(ctx, junk); !errors.Is(err, auth.ErrInvalidKey) {
			t.Errorf("Verify(%.20q): err %v, want auth.ErrInvalidKey", junk, err)
		}
	}
	if n := s.gets.Load(); n != 0 {
		t.Fatalf("junk keys made %d store reads, want 0", n)
	}
	if p, err := v.Verify(ctx, masterKey); err != nil || !p.Master {
		t.Fatalf("master key %q (not virtual-key shaped): %+v, %v; want the master principal", masterKey, p, err)
	}
	if _, err := v.Verify(ctx, shaped(2)); !errors.Is(err, auth.ErrInvalidKey) {
		t.Fatalf("unknown shaped key: err %v, want auth.ErrInvalidKey", err)
	}
	if n := s.gets.Load(); n != 1 {
		t.Fatalf("an unknown key of the generated shape made %d store reads, want 1", n)
	}
}

// A junk key while the master key cannot be checked gets the master verifier's error, not 401:
// it may be the master key.
func TestVerifierJunkKeyWhileMasterDown(t *testing.T) {
	down := errors.New("secret store down")
	s := &countingStore{Memory: keys.NewMemory(rerankKey())}
	v := keys.NewVerifier(masterDown{down}, s)
	if _, err := v.Verify(context.Background(), "sk-maybe-master"); !errors.Is(err, down) {
		t.Fatalf("err %v, want the master verifier's error", err)
	}
	if n := s.gets.Load(); n != 0 {
		t.Fatalf("%d store reads, want 0", n)
	}
}

// With WithKeyShape(nil) any string is looked up (keys declared in the config file may be any literal).
func TestVerifierAnyKeyShape(t *testing.T) {
	literal := keys.Key{Hash: auth.Hash("my-own-literal-key"), Alias: "literal"}
	s := &countingStore{Memory: keys.NewMemory(literal)}
	v := keys.NewVerifier(nil, s, keys.WithKeyShape(nil))
	if p, err := v.Verify(context.Background(), "my-own-literal-key"); err != nil || p.Alias != "literal" {
		t.Fatalf("%+v, %v; want the literal key's principal", p, err)
	}
}

// TestVerifierMissFloodKeepsHotKey: a flood of unknown keys of the right shape fills only the
// negative cache; the hot key's entry survives it and costs no store read.
func TestVerifierMissFloodKeepsHotKey(t *testing.T) {
	s := &countingStore{Memory: keys.NewMemory(rerankKey())}
	c := newClock()
	v := keys.NewVerifier(nil, s, keys.WithClock(c.Now), keys.WithMaxEntries(10), keys.WithMaxMisses(10))
	ctx := context.Background()
	if _, err := v.Verify(ctx, virtualKey); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 1000; i++ {
		if _, err := v.Verify(ctx, shaped(i)); !errors.Is(err, auth.ErrInvalidKey) {
			t.Fatalf("unknown key %d: err %v", i, err)
		}
	}
	if n := s.gets.Load(); n != 1001 {
		t.Fatalf("%d store reads, want 1001 (the hot key, then one per unknown key)", n)
	}
	if _, err := v.Verify(ctx, virtualKey); err != nil {
		t.Fatal(err)
	}
	if n := s.gets.Load(); n != 1001 {
		t.Fatalf("the hot key was read again after the flood (%d reads): its entry was evicted", n)
	}
	// The negative cache still works, bounded: the last misses are cached.
	if _, err := v.Verify(ctx, shaped(999)); !errors.Is(err, auth.ErrInvalidKey) {
		t.Fatal(err)
	}
	if n := s.gets.Load(); n != 1001 {
		t.Fatalf("a just-cached miss was read again (%d reads)", n)
	}
}

// BenchmarkVerifyJunkFlood verifies a hot key between junk keys (not virtual-key shaped) and
// unknown keys of the right shape, and reports the store reads each kind cost per operation:
// junk-reads/op and hot-reads/op must be 0; miss-reads/op is 1 (each key is new).
func BenchmarkVerifyJunkFlood(b *testing.B) {
	s := &countingStore{Memory: keys.NewMemory(rerankKey())}
	v := keys.NewVerifier(auth.NewMasterKey(masterKey), s, keys.WithMaxEntries(100), keys.WithMaxMisses(100))
	ctx := context.Background()
	if _, err := v.Verify(ctx, virtualKey); err != nil {
		b.Fatal(err)
	}
	var junkReads, missReads, hotReads int64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := s.gets.Load()
		_, _ = v.Verify(ctx, fmt.Sprintf("sk-junk-%d", i))
		junkReads += s.gets.Load() - n
		n = s.gets.Load()
		_, _ = v.Verify(ctx, shaped(i))
		missReads += s.gets.Load() - n
		n = s.gets.Load()
		if _, err := v.Verify(ctx, virtualKey); err != nil {
			b.Fatal(err)
		}
		hotReads += s.gets.Load() - n
	}
	b.ReportMetric(float64(junkReads)/float64(b.N), "junk-reads/op")
	b.ReportMetric(float64(missReads)/float64(b.N), "miss-reads/op")
	b.ReportMetric(float64(hotReads)/float64(b.N), "hot-reads/op")
	if junkReads != 0 || hotReads != 0 {
		b.Fatalf("junk keys made %d store reads and the hot key %d, want 0 and 0", junkReads, hotReads)
	}
}
