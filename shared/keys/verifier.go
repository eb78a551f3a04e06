package keys

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/passthru/gateway/shared/auth"
	"github.com/passthru/gateway/shared/inflight"
)

// MasterVerifier checks the master key (auth.MasterKey, keys.TableMaster).
type MasterVerifier interface {
	Verify(ctx context.Context, key string) (auth.Principal, error)
}

// Verifier checks a presented key: the master key first, then the store, through a cache
// (see the package doc for the TTLs and what they mean for revocation). It is safe for
// concurrent use.
type Verifier struct {
	master    MasterVerifier
	store     Store
	posTTL    time.Duration
	negTTL    time.Duration
	maxStale  time.Duration
	timeout   time.Duration
	now       func() time.Time
	max       int
	maxMisses int
	shape     func(string) bool // nil: any string may be a key
	log       *slog.Logger

	mu         sync.RWMutex
	cache      map[[sha256.Size]byte]entry // keys found in the store
	misses     map[[sha256.Size]byte]entry // keys not in the store: bounded apart, so a flood of them never evicts a found key
	refreshing map[[sha256.Size]byte]bool  // keys with a background read in flight
	group      singleflight.Group
	background inflight.Group // background reads in flight
	failing    atomic.Bool    // a background read failed and none succeeded since (logged once)
}

type entry struct {
	key     Key // its Hash is empty when the key is not in the store
	found   bool
	fetched time.Time // when the store was read
	until   time.Time // fresh until
}

// Defaults of the stale-while-revalidate cache (see WithMaxStale and WithTimeout).
const (
	DefaultMaxStale = time.Hour
	DefaultTimeout  = 3 * time.Second
	// retryAfter spaces out background reads of a key while the store cannot be read.
	retryAfter = 10 * time.Second
)

// Option configures a Verifier.
type Option func(*Verifier)

// WithPositiveTTL sets how long a key found in the store is cached (default 30 s): the longest
// a revoked key keeps working on an instance. 0 disables the positive cache.
func WithPositiveTTL(d time.Duration) Option { return func(v *Verifier) { v.posTTL = d } }

// WithNegativeTTL sets how long a key missing from the store is cached (default 5 s). 0
// disables the negative cache.
func WithNegativeTTL(d time.Duration) Option { return func(v *Verifier) { v.negTTL = d } }

// WithMaxStale sets how long past its TTL a cached answer is still served, at once, while a
// background read refreshes it (default 1 h): the store being unreachable then costs nothing
// to requests whose key is cached. Past it, a request waits for the store.
func WithMaxStale(d time.Duration) Option { return func(v *Verifier) { v.maxStale = d } }

// WithTimeout bounds each store read, retries included (default 3 s; ignored if <= 0).
func WithTimeout(d time.Duration) Option {
	return func(v *Verifier) {
		if d > 0 {
			v.timeout = d
		}
	}
}

// WithLogger sets where the start and end of a store outage seen by background reads are logged.
func WithLogger(l *slog.Logger) Option { return func(v *Verifier) { v.log = l } }

// WithClock sets the clock, for tests.
func WithClock(now func() time.Time) Option { return func(v *Verifier) { v.now = now } }

// WithMaxEntries bounds the cache of keys found in the store (default 10000 keys): when it is
// full, expired entries are dropped, and if none are, all of them.
func WithMaxEntries(n int) Option { return func(v *Verifier) { v.max = n } }

// WithMaxMisses bounds the cache of keys not in the store (default 10000), the same way but
// apart from found keys: a flood of made-up keys can only evict other made-up keys.
func WithMaxMisses(n int) Option { return func(v *Verifier) { v.maxMisses = n } }

// WithKeyShape sets which strings can be a virtual key at all (default auth.IsVirtualKeyShape,
// the shape keys.Generate makes); any other is refused as an invalid key before the cache and
// the store are consulted, so junk costs no store read and no cache entry. nil accepts any
// string: for keys declared in the config file, which may be any literal.
func WithKeyShape(f func(string) bool) Option { return func(v *Verifier) { v.shape = f } }

// NewVerifier returns a verifier of master (may be nil: no master key) and the keys in store.
func NewVerifier(master MasterVerifier, store Store, opts ...Option) *Verifier {
	v := &Verifier{
		master: master, store: store,
		posTTL: 30 * time.Second, negTTL: 5 * time.Second, maxStale: DefaultMaxStale, timeout: DefaultTimeout,
		now: time.Now, max: 10000, maxMisses: 10000, shape: auth.IsVirtualKeyShape, log: slog.Default(),
		cache: make(map[[sha256.Size]byte]entry), misses: make(map[[sha256.Size]byte]entry),
		refreshing: make(map[[sha256.Size]byte]bool),
	}
	for _, o := range opts {
		o(v)
	}
	return v
}

// Verify implements the proxy's key verifier. The master key yields the master's principal; a
// valid virtual key yields its principal. An unknown, revoked or expired key is
// auth.ErrInvalidKey (errors.Is), all alike to the caller. A store failure is a non-auth error
// and is not cached. If the master verifier fails otherwise than auth.ErrNoMasterKey or
// auth.ErrInvalidKey (say, its secret cannot be read), a valid virtual key is still accepted;
// any other key gets the master verifier's error rather than a 401, since it may be the master key.
func (v *Verifier) Verify(ctx context.Context, key string) (auth.Principal, error) {
	var masterErr error
	if v.master != nil {
		p, err := v.master.Verify(ctx, key)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, auth.ErrInvalidKey) && !errors.Is(err, auth.ErrNoMasterKey) {
			masterErr = err
		}
	}
	if key == "" || v.shape != nil && !v.shape(key) {
		return v.invalid(masterErr)
	}
	digest := sha256.Sum256([]byte(key))
	now := v.now()
	e, ok := v.cached(digest)
	switch {
	case ok && now.Before(e.until): // fresh
	case ok && now.Sub(e.fetched) < v.ttl(e)+v.maxStale:
		v.refresh(ctx, digest) // stale: served at once, read again in the background
	default:
		var err error
		if e, err = v.lookup(ctx, digest); err != nil {
			return auth.Principal{}, err
		}
	}
	if !e.found {
		return v.invalid(masterErr)
	}
	if e.key.Disabled || e.key.Expired(now) {
		return auth.Principal{}, auth.ErrInactiveKey
	}
	return e.key.Principal(), nil
}

func (v *Verifier) invalid(masterErr error) (auth.Principal, error) {
	if masterErr != nil {
		return auth.Principal{}, masterErr
	}
	return auth.Principal{}, fmt.Errorf("%w", auth.ErrInvalidKey)
}

// lookup reads the store once for all concurrent callers of one key, and caches the answer.
// Each caller waits only as long as its own context allows (a request stopped for the function's
// deadline must not wait out the read); the read itself goes on for the others.
func (v *Verifier) lookup(ctx context.Context, digest [sha256.Size]byte) (entry, error) {
	hash := hex.EncodeToString(digest[:])
	flight := v.group.DoChan(hash, func() (any, error) {
		// A caller that queued behind a finished flight finds its answer cached.
		now := v.now()
		if e, ok := v.cached(digest); ok && now.Before(e.until) {
			return e, nil
		}
		// The read serves every caller waiting on it, so it must not die with the first
		// caller's request: it keeps the context's values, not its cancellation.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), v.timeout)
		defer cancel()
		return v.read(ctx, digest)
	})
	select {
	case r := <-flight:
		if r.Err != nil {
			return entry{}, r.Err
		}
		return r.Val.(entry), nil
	case <-ctx.Done():
		return entry{}, fmt.Errorf("verify key: %w", context.Cause(ctx))
	}
}

// read reads the store and caches the answer (for its TTL; not at all with a TTL of 0).
func (v *Verifier) read(ctx context.Context, digest [sha256.Size]byte) (entry, error) {
	k, found, err := v.store.Get(ctx, hex.EncodeToString(digest[:]))
	if err != nil {
		return entry{}, err
	}
	e := entry{key: k, found: found, fetched: v.now()}
	if ttl := v.ttl(e); ttl > 0 {
		e.until = e.fetched.Add(ttl)
		v.put(digest, e)
	} else {
		// Not cached, so no older answer may outlive it either: a key deleted from the store
		// must not keep serving from a stale positive entry when negative answers are not kept.
		v.mu.Lock()
		delete(v.cache, digest)
		delete(v.misses, digest)
		v.mu.Unlock()
	}
	return e, nil
}

func (v *Verifier) ttl(e entry) time.Duration {
	if e.found {
		return v.posTTL
	}
	return v.negTTL
}

// WaitBackground waits, at most until ctx ends, for the background refreshes in flight. On
// Lambda it runs before each invocation ends (gateway.AfterResponse), so a refresh is not frozen
// with the sandbox mid-call.
func (v *Verifier) WaitBackground(ctx context.Context) { v.background.Wait(ctx) }

// refresh reads a stale key again in the background, unless a read of it is in flight. The read
// is bounded by the timeout. If it fails, the cached answer keeps serving and the store is asked
// again after retryAfter (never past the grace); the outage is logged once. Lambda may freeze
// the sandbox during the read (between invocations: https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html): on thaw its deadline has passed and it fails at once, which is
// not an outage: nothing is logged and the next request reads again.
func (v *Verifier) refresh(ctx context.Context, digest [sha256.Size]byte) {
	v.mu.Lock()
	if v.refreshing[digest] {
		v.mu.Unlock()
		return
	}
	v.refreshing[digest] = true
	v.mu.Unlock()
	v.background.Go(func() {
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), v.timeout)
		defer cancel()
		_, err := v.read(ctx, digest)
		frozen := err != nil && time.Since(start) > 2*v.timeout
		v.mu.Lock()
		delete(v.refreshing, digest)
		if e, ok := v.cachedLocked(digest); ok && err != nil && !frozen {
			e.until = v.now().Add(retryAfter)
			if grace := e.fetched.Add(v.ttl(e) + v.maxStale); grace.Before(e.until) {
				e.until = grace
			}
			v.mapOf(e)[digest] = e
		}
		v.mu.Unlock()
		switch {
		case frozen:
		case err != nil && v.failing.CompareAndSwap(false, true):
			v.log.Error("cannot refresh gateway keys: serving the cached keys", "error", err)
		case err == nil && v.failing.CompareAndSwap(true, false):
			v.log.Info("gateway keys refreshed after an outage")
		}
	})
}

// cached returns the cached answer for digest, found or not.
func (v *Verifier) cached(digest [sha256.Size]byte) (entry, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.cachedLocked(digest)
}

func (v *Verifier) cachedLocked(digest [sha256.Size]byte) (entry, bool) {
	if e, ok := v.cache[digest]; ok {
		return e, true
	}
	e, ok := v.misses[digest]
	return e, ok
}

// mapOf is the cache e belongs in: found keys and misses are bounded apart.
func (v *Verifier) mapOf(e entry) map[[sha256.Size]byte]entry {
	if e.found {
		return v.cache
	}
	return v.misses
}

// put caches e in its own map (and drops any older answer from the other one). A full map
// loses its expired entries, or if none are, all of them: only entries of its own kind.
func (v *Verifier) put(digest [sha256.Size]byte, e entry) {
	v.mu.Lock()
	defer v.mu.Unlock()
	m, other, limit := v.cache, v.misses, v.max
	if !e.found {
		m, other, limit = v.misses, v.cache, v.maxMisses
	}
	delete(other, digest)
	if _, ok := m[digest]; !ok && len(m) >= limit {
		now := v.now()
		for d, old := range m {
			if !now.Before(old.until) {
				delete(m, d)
			}
		}
		if len(m) >= limit {
			clear(m)
		}
	}
	m[digest] = e
}
