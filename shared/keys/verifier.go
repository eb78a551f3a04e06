package keys

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/passthru/gateway/shared/auth"
)

// MasterVerifier checks the master key (auth.MasterKey, gateway.TableMasterKey).
type MasterVerifier interface {
	Verify(ctx context.Context, key string) (auth.Principal, error)
}

// Verifier checks a presented key: the master key first, then the store, through a cache
// (see the package doc for the TTLs and what they mean for revocation). It is safe for
// concurrent use.
type Verifier struct {
	master MasterVerifier
	store  Store
	posTTL time.Duration
	negTTL time.Duration
	now    func() time.Time
	max    int

	mu    sync.RWMutex
	cache map[[sha256.Size]byte]entry
	group singleflight.Group
}

type entry struct {
	key   Key // its Hash is empty when the key is not in the store
	found bool
	until time.Time
}

// Option configures a Verifier.
type Option func(*Verifier)

// WithPositiveTTL sets how long a key found in the store is cached (default 30 s): the longest
// a revoked key keeps working on an instance. 0 disables the positive cache.
func WithPositiveTTL(d time.Duration) Option { return func(v *Verifier) { v.posTTL = d } }

// WithNegativeTTL sets how long a key missing from the store is cached (default 5 s). 0
// disables the negative cache.
func WithNegativeTTL(d time.Duration) Option { return func(v *Verifier) { v.negTTL = d } }

// WithClock sets the clock, for tests.
func WithClock(now func() time.Time) Option { return func(v *Verifier) { v.now = now } }

// WithMaxEntries bounds the cache (default 10000 keys): when it is full, expired entries are
// dropped, and if none are, the whole cache, so a flood of random keys cannot grow it unbounded.
func WithMaxEntries(n int) Option { return func(v *Verifier) { v.max = n } }

// NewVerifier returns a verifier of master (may be nil: no master key) and the keys in store.
func NewVerifier(master MasterVerifier, store Store, opts ...Option) *Verifier {
	v := &Verifier{
		master: master, store: store,
		posTTL: 30 * time.Second, negTTL: 5 * time.Second, now: time.Now, max: 10000,
		cache: make(map[[sha256.Size]byte]entry),
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
	if key == "" {
		return v.invalid(masterErr)
	}
	digest := sha256.Sum256([]byte(key))
	now := v.now()
	v.mu.RLock()
	e, ok := v.cache[digest]
	v.mu.RUnlock()
	if !ok || !now.Before(e.until) {
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

// lookupTimeout bounds one shared store read (the SDK retries within it).
const lookupTimeout = 5 * time.Second

// lookup reads the store once for all concurrent callers of one key, and caches the answer.
func (v *Verifier) lookup(ctx context.Context, digest [sha256.Size]byte) (entry, error) {
	hash := hex.EncodeToString(digest[:])
	r, err, _ := v.group.Do(hash, func() (any, error) {
		// A caller that queued behind a finished flight finds its answer cached.
		now := v.now()
		v.mu.RLock()
		e, ok := v.cache[digest]
		v.mu.RUnlock()
		if ok && now.Before(e.until) {
			return e, nil
		}
		// The read serves every caller waiting on it, so it must not die with the first
		// caller's request: it keeps the context's values, not its cancellation.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lookupTimeout)
		defer cancel()
		k, found, err := v.store.Get(ctx, hash)
		if err != nil {
			return entry{}, err
		}
		e = entry{key: k, found: found}
		ttl := v.negTTL
		if found {
			ttl = v.posTTL
		}
		if ttl > 0 {
			e.until = v.now().Add(ttl)
			v.put(digest, e)
		}
		return e, nil
	})
	if err != nil {
		return entry{}, err
	}
	return r.(entry), nil
}

func (v *Verifier) put(digest [sha256.Size]byte, e entry) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, ok := v.cache[digest]; !ok && len(v.cache) >= v.max {
		now := v.now()
		for d, old := range v.cache {
			if !now.Before(old.until) {
				delete(v.cache, d)
			}
		}
		if len(v.cache) >= v.max {
			clear(v.cache)
		}
	}
	v.cache[digest] = e
}
