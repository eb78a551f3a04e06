package keys_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"reflect"
	"regexp"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passthru/gateway/shared/auth"
	"github.com/passthru/gateway/shared/keys"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// clock is a settable clock that counts its readings.
type clock struct {
	mu    sync.Mutex
	t     time.Time
	reads atomic.Int64
}

func newClock() *clock { return &clock{t: t0} }

func (c *clock) Now() time.Time {
	c.reads.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// countingStore wraps a Memory store, counts Gets, and can fail them or hold them.
type countingStore struct {
	*keys.Memory
	gets    atomic.Int64
	mu      sync.Mutex
	err     error
	release chan struct{} // non-nil: Get waits for it
	hang    bool          // with release: Get also ends when its context does, as the SDK does
}

func (s *countingStore) Get(ctx context.Context, hash string) (keys.Key, bool, error) {
	s.gets.Add(1)
	s.mu.Lock()
	err, release, hang := s.err, s.release, s.hang
	s.mu.Unlock()
	switch {
	case release != nil && hang:
		select {
		case <-release:
		case <-ctx.Done():
		}
	case release != nil:
		<-release
	}
	if ctx.Err() != nil { // like the SDK: a cancelled read fails
		return keys.Key{}, false, ctx.Err()
	}
	if err != nil {
		return keys.Key{}, false, err
	}
	return s.Memory.Get(ctx, hash)
}

func (s *countingStore) setErr(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

const (
	masterKey  = "sk-master-1234"
	virtualKey = "sk-gw-virtualKEY0123456789abcdefghijkl" // the generated shape
)

func rerankKey() keys.Key {
	return keys.Key{
		Hash: auth.Hash(virtualKey), Alias: "rerank-team", Created: t0,
		Routes: []string{"/v1/rerank"}, RPM: 10, Tags: []string{"team:search"},
		Metadata: map[string]string{"owner": "ana"},
	}
}

func setup(t testing.TB, ks ...keys.Key) (*keys.Verifier, *countingStore, *clock) {
	t.Helper()
	s := &countingStore{Memory: keys.NewMemory(ks...)}
	c := newClock()
	return keys.NewVerifier(auth.NewMasterKey(masterKey), s, keys.WithClock(c.Now)), s, c
}

func TestGenerate(t *testing.T) {
	format := regexp.MustCompile(`^sk-gw-[0-9A-Za-z]{32}$`)
	seen := map[string]bool{}
	before := time.Now().UTC().Truncate(time.Second)
	for i := 0; i < 1000; i++ {
		clear, k, err := keys.Generate("a")
		if err != nil {
			t.Fatal(err)
		}
		if !format.MatchString(clear) || !auth.IsVirtualKeyShape(clear) {
			t.Fatalf("key %q does not match %s", clear, format)
		}
		if seen[clear] {
			t.Fatalf("key %q generated twice", clear)
		}
		seen[clear] = true
		if k.Hash != auth.Hash(clear) || len(k.Hash) != 64 {
			t.Fatalf("hash %q, want auth.Hash(key) %q", k.Hash, auth.Hash(clear))
		}
		if k.Alias != "a" || k.Disabled || k.Expires != nil || k.Routes != nil || k.RPM != 0 {
			t.Fatalf("key %+v: want only Hash, Alias, Created set", k)
		}
		if k.Created.Before(before) || k.Created.After(time.Now()) || k.Created.Nanosecond() != 0 || k.Created.Location() != time.UTC {
			t.Fatalf("created %v: want now in UTC, whole seconds", k.Created)
		}
	}
	if _, _, err := keys.Generate(""); err == nil {
		t.Fatal("Generate(\"\"): want an error, a key needs an alias")
	}
}

func TestMemoryStore(t *testing.T) {
	ctx := context.Background()
	b := keys.Key{Hash: auth.Hash("b"), Alias: "bravo", Created: t0, Tags: []string{"x"}}
	a := keys.Key{Hash: auth.Hash("a"), Alias: "alpha", Created: t0}
	m := keys.NewMemory(b)
	if err := m.Put(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := m.Put(ctx, keys.Key{Hash: a.Hash, Alias: "other"}); !errors.Is(err, keys.ErrExists) {
		t.Fatalf("Put of an existing hash: %v, want ErrExists", err)
	}
	got, ok, err := m.Get(ctx, b.Hash)
	if err != nil || !ok || !reflect.DeepEqual(got, b) {
		t.Fatalf("Get = %+v, %v, %v; want %+v", got, ok, err, b)
	}
	got.Tags[0] = "mutated"
	if again, _, _ := m.Get(ctx, b.Hash); again.Tags[0] != "x" {
		t.Fatal("a caller's change to a returned key reached the store")
	}
	if _, ok, err := m.Get(ctx, auth.Hash("nope")); ok || err != nil {
		t.Fatalf("Get of an unknown hash: found %v, err %v", ok, err)
	}
	list, err := m.List(ctx)
	if err != nil || len(list) != 2 || list[0].Alias != "alpha" || list[1].Alias != "bravo" {
		t.Fatalf("List = %+v, %v; want alpha, bravo", list, err)
	}
	r, err := m.Revoke(ctx, "alpha")
	if err != nil || !r.Disabled || r.Hash != a.Hash {
		t.Fatalf("Revoke by alias = %+v, %v", r, err)
	}
	if r, err = m.Revoke(ctx, b.Hash); err != nil || !r.Disabled || r.Alias != "bravo" {
		t.Fatalf("Revoke by hash = %+v, %v", r, err)
	}
	if got, _, _ := m.Get(ctx, b.Hash); !got.Disabled {
		t.Fatal("revoked key not disabled in the store")
	}
	if _, err := m.Revoke(ctx, "nobody"); !errors.Is(err, keys.ErrNotFound) {
		t.Fatalf("Revoke of an unknown alias: %v, want ErrNotFound", err)
	}
	_ = m.Put(ctx, keys.Key{Hash: auth.Hash("c"), Alias: "alpha"})
	if _, err := m.Revoke(ctx, "alpha"); !errors.Is(err, keys.ErrAmbiguous) {
		t.Fatalf("Revoke of an alias two keys share: %v, want ErrAmbiguous", err)
	}
	if k, err := keys.Find(ctx, m, "bravo"); err != nil || k.Hash != b.Hash {
		t.Fatalf("Find by alias = %+v, %v", k, err)
	}
	if k, err := keys.Find(ctx, m, b.Hash); err != nil || k.Alias != "bravo" {
		t.Fatalf("Find by hash = %+v, %v", k, err)
	}
}

func TestVerifierMasterKey(t *testing.T) {
	v, s, _ := setup(t, rerankKey())
	p, err := v.Verify(context.Background(), masterKey)
	if err != nil {
		t.Fatal(err)
	}
	if want := (auth.Principal{Alias: "master_key", Master: true}); !reflect.DeepEqual(p, want) {
		t.Fatalf("principal %+v, want %+v", p, want)
	}
	if n := s.gets.Load(); n != 0 {
		t.Fatalf("the master key cost %d store reads, want 0", n)
	}
}

func TestVerifierVirtualKey(t *testing.T) {
	v, _, _ := setup(t, rerankKey())
	p, err := v.Verify(context.Background(), virtualKey)
	if err != nil {
		t.Fatal(err)
	}
	want := auth.Principal{Alias: "rerank-team", Routes: []string{"/v1/rerank"}, KeyHash: auth.Hash(virtualKey), RPM: 10, Tags: []string{"team:search"}, Metadata: map[string]string{"owner": "ana"}}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("principal %+v, want %+v", p, want)
	}
	if !p.CanCall("/v1/rerank") || p.CanCall("/api/public/ingestion") {
		t.Fatal("route grants not carried into the principal")
	}
}

func TestVerifierNoMasterKeyFallsThroughToStore(t *testing.T) {
	s := keys.NewMemory(rerankKey())
	v := keys.NewVerifier(auth.NewMasterKey(""), s)
	if p, err := v.Verify(context.Background(), virtualKey); err != nil || p.Alias != "rerank-team" {
		t.Fatalf("Verify = %+v, %v", p, err)
	}
	if _, err := v.Verify(context.Background(), "sk-unknown"); !errors.Is(err, auth.ErrInvalidKey) {
		t.Fatalf("unknown key without a master key: %v, want ErrInvalidKey", err)
	}
}

func TestVerifierRefuses(t *testing.T) {
	unknownKey, disabledKey, expiredKey := shaped(1), shaped(2), shaped(3)
	disabled := rerankKey()
	disabled.Hash, disabled.Alias, disabled.Disabled = auth.Hash(disabledKey), "gone", true
	expired := rerankKey()
	exp := t0.Add(time.Minute)
	expired.Hash, expired.Alias, expired.Expires = auth.Hash(expiredKey), "old", &exp
	v, _, c := setup(t, disabled, expired)
	c.Advance(time.Minute) // exactly at expiry: expired
	for _, key := range []string{unknownKey, disabledKey, expiredKey, "", "sk-junk"} {
		p, err := v.Verify(context.Background(), key)
		if !errors.Is(err, auth.ErrInvalidKey) || err.Error() != auth.ErrInvalidKey.Error() {
			t.Errorf("key %q: %v, want exactly ErrInvalidKey", key, err)
		}
		if !reflect.DeepEqual(p, auth.Principal{}) {
			t.Errorf("key %q: principal %+v, want none", key, p)
		}
		// Revoked and expired keys are still known to be the gateway's (never forwarded).
		if inactive := key == disabledKey || key == expiredKey; errors.Is(err, auth.ErrInactiveKey) != inactive {
			t.Errorf("key %q: ErrInactiveKey %v, want %v", key, errors.Is(err, auth.ErrInactiveKey), inactive)
		}
	}
}

// TestVerifierLookupOutlivesItsCaller: the shared store read is not cancelled with the request
// that started it, since other callers may be waiting on it.
func TestVerifierLookupOutlivesItsCaller(t *testing.T) {
	v, s, _ := setup(t, rerankKey())
	release := make(chan struct{})
	s.release = release
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := v.Verify(ctx, virtualKey)
		done <- err
	}()
	for s.gets.Load() < 1 {
		runtime.Gosched()
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("leader whose request went away: %v, want its context's error", err)
	}
	close(release)
	if _, err := v.Verify(context.Background(), virtualKey); err != nil || s.gets.Load() != 1 {
		t.Fatalf("after: %v, %d reads, want the cached answer", err, s.gets.Load())
	}
}

func TestVerifierExpiresWhileCached(t *testing.T) {
	k := rerankKey()
	exp := t0.Add(10 * time.Second)
	k.Expires = &exp
	v, s, c := setup(t, k)
	if _, err := v.Verify(context.Background(), virtualKey); err != nil {
		t.Fatal(err)
	}
	c.Advance(10 * time.Second)
	if _, err := v.Verify(context.Background(), virtualKey); !errors.Is(err, auth.ErrInvalidKey) {
		t.Fatalf("expired (cached) key: %v, want ErrInvalidKey", err)
	}
	if n := s.gets.Load(); n != 1 {
		t.Fatalf("%d store reads, want 1", n)
	}
}

func TestVerifierHotKeyOneRead(t *testing.T) {
	v, s, c := setup(t, rerankKey())
	for i := 0; i < 100; i++ {
		if _, err := v.Verify(context.Background(), virtualKey); err != nil {
			t.Fatal(err)
		}
		c.Advance(290 * time.Millisecond) // 99 * 0.29 s < 30 s
	}
	if n := s.gets.Load(); n != 1 {
		t.Fatalf("100 verifies of a hot key made %d store reads, want 1", n)
	}
}

func TestVerifierNegativeCache(t *testing.T) {
	v, s, c := setup(t)
	ctx := context.Background()
	verify := func(wantGets int64, wantOK bool) {
		t.Helper()
		_, err := v.Verify(ctx, virtualKey)
		if wantOK && err != nil || !wantOK && !errors.Is(err, auth.ErrInvalidKey) {
			t.Fatalf("at +%v: err %v, want ok=%v", c.Now().Sub(t0), err, wantOK)
		}
		if n := s.gets.Load(); n != wantGets {
			t.Fatalf("at +%v: %d store reads, want %d", c.Now().Sub(t0), n, wantGets)
		}
	}
	verify(1, false)
	verify(1, false)
	if err := s.Put(ctx, rerankKey()); err != nil { // created while the miss is cached
		t.Fatal(err)
	}
	c.Advance(5*time.Second - time.Nanosecond)
	verify(1, false)
	c.Advance(time.Nanosecond) // the negative TTL (5 s) is over: refused once more, read again
	verify(1, false)
	v.WaitRefresh()
	verify(2, true)
}

func TestVerifierRevokedWithinPositiveTTL(t *testing.T) {
	v, s, c := setup(t, rerankKey())
	ctx := context.Background()
	if _, err := v.Verify(ctx, virtualKey); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Revoke(ctx, "rerank-team"); err != nil {
		t.Fatal(err)
	}
	c.Advance(30*time.Second - time.Nanosecond)
	if _, err := v.Verify(ctx, virtualKey); err != nil {
		t.Fatalf("revoked key within the positive TTL: %v, want still accepted (cached)", err)
	}
	c.Advance(time.Nanosecond)
	// Stale-while-revalidate: the first request after the TTL is answered from the cache while
	// the key is read again; the requests after that read see the revocation.
	if _, err := v.Verify(ctx, virtualKey); err != nil {
		t.Fatalf("revoked key, first request after the positive TTL: %v, want the cached answer", err)
	}
	v.WaitRefresh()
	if _, err := v.Verify(ctx, virtualKey); !errors.Is(err, auth.ErrInvalidKey) {
		t.Fatalf("revoked key after the refresh: %v, want ErrInvalidKey", err)
	}
	if n := s.gets.Load(); n != 2 {
		t.Fatalf("%d store reads, want 2", n)
	}
}

func TestVerifierStoreErrorNotCached(t *testing.T) {
	v, s, _ := setup(t, rerankKey())
	down := errors.New("dynamodb unreachable")
	s.setErr(down)
	for i := 1; i <= 2; i++ {
		_, err := v.Verify(context.Background(), virtualKey)
		if !errors.Is(err, down) {
			t.Fatalf("store error: %v, want it passed on", err)
		}
		for _, authErr := range []error{auth.ErrInvalidKey, auth.ErrNoKey, auth.ErrMalformedKey, auth.ErrNoMasterKey} {
			if errors.Is(err, authErr) {
				t.Fatalf("store error %v is an auth error (%v): the proxy would answer 401, not 503", err, authErr)
			}
		}
		if n := s.gets.Load(); n != int64(i) {
			t.Fatalf("%d store reads after %d verifies, want %d: a store error was cached", n, i, i)
		}
	}
	s.setErr(nil)
	if p, err := v.Verify(context.Background(), virtualKey); err != nil || p.Alias != "rerank-team" {
		t.Fatalf("after the store recovers: %+v, %v", p, err)
	}
}

// While the store cannot be read, a cached key keeps working without waiting: one background
// read per key, retried after 10 s (not per request), for up to the grace past its TTL; the
// outage and its end are logged once.
func TestVerifierServesStaleDuringAnOutage(t *testing.T) {
	var logs bytes.Buffer
	s := &countingStore{Memory: keys.NewMemory(rerankKey())}
	c := newClock()
	v := keys.NewVerifier(nil, s, keys.WithClock(c.Now), keys.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))))
	ctx := context.Background()
	verify := func(step string, wantOK bool) {
		t.Helper()
		p, err := v.Verify(ctx, virtualKey)
		if wantOK && (err != nil || p.Alias != "rerank-team") || !wantOK && err == nil {
			t.Fatalf("%s: %+v, %v; want ok=%v", step, p, err, wantOK)
		}
		v.WaitRefresh()
	}
	verify("first", true)
	s.setErr(errors.New("dynamodb unreachable"))
	c.Advance(30 * time.Second)
	for range 5 {
		verify("during the outage", true)
	}
	if n := s.gets.Load(); n != 2 {
		t.Errorf("%d store reads, want 2 (one background read, then none for 10 s)", n)
	}
	c.Advance(10 * time.Second)
	verify("10 s later", true)
	if n := s.gets.Load(); n != 3 {
		t.Errorf("%d store reads, want 3", n)
	}
	c.Advance(time.Hour) // past the grace (30 s TTL + 1 h): the request waits for the store
	if _, err := v.Verify(ctx, virtualKey); err == nil || err.Error() != "dynamodb unreachable" {
		t.Fatalf("past the grace: %v, want the store's error", err)
	}
	s.setErr(nil)
	c.Advance(time.Second)
	verify("after the outage", true) // read on the request path (nothing usable cached)
	c.Advance(30 * time.Second)
	verify("a background read succeeds", true)
	want := "level=ERROR msg=\"cannot refresh gateway keys: serving the cached keys\" error=\"dynamodb unreachable\"\nlevel=INFO msg=\"gateway keys refreshed after an outage\"\n"
	if logs.String() != want {
		t.Errorf("logs:\n%s\nwant\n%s", logs.String(), want)
	}
}

// A store read that hangs never holds a request whose key is cached, and ends at the timeout.
// A cold lookup waits no longer than its caller's context allows (a request stopped for the
// function's deadline), even while the shared store read goes on.
func TestVerifierColdLookupEndsWithItsCaller(t *testing.T) {
	s := &countingStore{Memory: keys.NewMemory(rerankKey())}
	s.release, s.hang = make(chan struct{}), true // never closed: the store never answers
	v := keys.NewVerifier(nil, s, keys.WithTimeout(5*time.Second), keys.WithLogger(slog.New(slog.DiscardHandler)))
	ctx, cancel := context.WithTimeoutCause(context.Background(), 100*time.Millisecond, errors.New("time is up"))
	defer cancel()
	start := time.Now()
	_, err := v.Verify(ctx, virtualKey)
	if took := time.Since(start); err == nil || err.Error() != "verify key: time is up" || took > 2*time.Second {
		t.Errorf("Verify = %v after %v, want the caller's cause after about 100 ms", err, took)
	}
}

func TestVerifierHangingStoreDoesNotHoldRequests(t *testing.T) {
	s := &countingStore{Memory: keys.NewMemory(rerankKey())}
	c := newClock()
	v := keys.NewVerifier(nil, s, keys.WithClock(c.Now), keys.WithTimeout(50*time.Millisecond), keys.WithLogger(slog.New(slog.DiscardHandler)))
	if _, err := v.Verify(context.Background(), virtualKey); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.release = make(chan struct{}) // never closed: the store accepts and never answers
	s.hang = true
	s.mu.Unlock()
	c.Advance(30 * time.Second)
	start := time.Now()
	for range 100 {
		if p, err := v.Verify(context.Background(), virtualKey); err != nil || p.Alias != "rerank-team" {
			t.Fatalf("during a hanging read: %+v, %v", p, err)
		}
	}
	if took := time.Since(start); took > time.Second { // generous: 100 cache reads
		t.Errorf("100 verifies during a hanging read took %v", took)
	}
	v.WaitRefresh()
	if took := time.Since(start); took < 50*time.Millisecond || took > 3*time.Second {
		t.Errorf("the hanging read ended after %v, want about the 50 ms timeout", took)
	}
	if n := s.gets.Load(); n != 2 {
		t.Errorf("%d store reads, want 2 (one background read in flight at a time)", n)
	}
}

// masterDown is a master verifier whose secret cannot be read.
type masterDown struct{ err error }

func (m masterDown) Verify(context.Context, string) (auth.Principal, error) {
	return auth.Principal{}, m.err
}

func TestVerifierMasterErrorKeepsVirtualKeys(t *testing.T) {
	down := errors.New("secret unreadable")
	v := keys.NewVerifier(masterDown{down}, keys.NewMemory(rerankKey()))
	if p, err := v.Verify(context.Background(), virtualKey); err != nil || p.Alias != "rerank-team" {
		t.Fatalf("virtual key while the master key is unreadable: %+v, %v", p, err)
	}
	if _, err := v.Verify(context.Background(), "sk-maybe-master"); !errors.Is(err, down) || errors.Is(err, auth.ErrInvalidKey) {
		t.Fatalf("other key while the master key is unreadable: %v, want the master's error", err)
	}
}

func TestVerifierSingleflight(t *testing.T) {
	v, s, c := setup(t, rerankKey())
	release := make(chan struct{})
	s.release = release
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := v.Verify(context.Background(), virtualKey)
			errs <- err
		}()
	}
	// Hold the store read until every goroutine has read the clock (and so is past the master
	// check, on its way to the cache and the flight) and the leader is in Get.
	for c.reads.Load() < n+1 || s.gets.Load() < 1 {
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := s.gets.Load(); got != 1 {
		t.Fatalf("%d concurrent misses made %d store reads, want 1", n, got)
	}
}

func TestVerifierCacheBounded(t *testing.T) {
	s := &countingStore{Memory: keys.NewMemory(rerankKey())}
	v := keys.NewVerifier(nil, s, keys.WithMaxEntries(10))
	for i := 0; i < 100; i++ {
		_, _ = v.Verify(context.Background(), shaped(i))
	}
	if _, err := v.Verify(context.Background(), virtualKey); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), virtualKey); err != nil {
		t.Fatal(err)
	}
	if n := s.gets.Load(); n != 101 {
		t.Fatalf("%d store reads, want 101 (100 misses, then one read of the hot key)", n)
	}
}

func BenchmarkVerifyWarm(b *testing.B) {
	v := keys.NewVerifier(auth.NewMasterKey(masterKey), keys.NewMemory(rerankKey()))
	ctx := context.Background()
	if _, err := v.Verify(ctx, virtualKey); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := v.Verify(ctx, virtualKey); err != nil {
			b.Fatal(err)
		}
	}
}

// vanishing is a store whose one key can be deleted.
type vanishing struct {
	*keys.Memory
	gone atomic.Bool
}

func (s *vanishing) Get(ctx context.Context, hash string) (keys.Key, bool, error) {
	if s.gone.Load() {
		return keys.Key{}, false, nil
	}
	return s.Memory.Get(ctx, hash)
}

// With negative answers not cached, a key deleted from the store is refused once a read has
// seen it gone: the stale positive entry does not outlive that read.
func TestVerifierDeletedKeyWithoutNegativeCache(t *testing.T) {
	s := &vanishing{Memory: keys.NewMemory(rerankKey())}
	c := newClock()
	v := keys.NewVerifier(nil, s, keys.WithClock(c.Now), keys.WithNegativeTTL(0), keys.WithLogger(slog.New(slog.DiscardHandler)))
	if _, err := v.Verify(context.Background(), virtualKey); err != nil {
		t.Fatal(err)
	}
	s.gone.Store(true)
	c.Advance(31 * time.Second)
	_, _ = v.Verify(context.Background(), virtualKey) // stale: served, and read again in the background
	v.WaitRefresh()
	if _, err := v.Verify(context.Background(), virtualKey); !errors.Is(err, auth.ErrInvalidKey) {
		t.Errorf("after a read found the key gone: %v, want ErrInvalidKey", err)
	}
}

// WaitBackground waits for a background read in flight, but no longer than its context allows.
func TestVerifierWaitBackground(t *testing.T) {
	s := &countingStore{Memory: keys.NewMemory(rerankKey())}
	c := newClock()
	v := keys.NewVerifier(nil, s, keys.WithClock(c.Now), keys.WithTimeout(5*time.Second), keys.WithLogger(slog.New(slog.DiscardHandler)))
	if _, err := v.Verify(context.Background(), virtualKey); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	s.mu.Lock()
	s.release, s.hang = release, true
	s.mu.Unlock()
	c.Advance(31 * time.Second)
	if _, err := v.Verify(context.Background(), virtualKey); err != nil { // stale: starts the read
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	v.WaitBackground(ctx)
	if took := time.Since(start); took < 40*time.Millisecond || took > 2*time.Second {
		t.Errorf("WaitBackground returned after %v, want its context's 50 ms", took)
	}
	time.AfterFunc(20*time.Millisecond, func() { close(release) })
	v.WaitBackground(context.Background())
	if n := s.gets.Load(); n != 2 {
		t.Errorf("%d store reads, want the first and the finished background read", n)
	}
}
