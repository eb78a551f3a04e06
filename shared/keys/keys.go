// Package keys holds the gateway's virtual keys: keys besides the master key, each with an
// alias, an optional expiry, a disabled (revoked) flag, route grants, an RPM limit, tags and
// metadata. Keys are stored by their hex SHA-256 hash (auth.Hash), never in clear: Generate
// returns the clear key once, for the operator to hand out.
//
// # Stores
//
// A Store reads and writes keys. NewMemory holds the keys declared in a local config file;
// NewDynamoDB keeps them in a DynamoDB table, shared by every Lambda instance. The table layout:
//
//	key_hash  S     partition key (the only key attribute; no sort key, no GSI needed)
//	alias     S     the key's alias
//	created   S     RFC 3339 UTC creation time
//	expires   S     RFC 3339 UTC expiry; absent: never expires
//	disabled  BOOL  true once revoked
//	routes    L     of S (SS accepted on read): granted routes, exact path or prefix on a "/" boundary
//	rpm       N     requests-per-minute limit; absent or 0: unlimited
//	tags      L     of S (SS accepted on read)
//	metadata  M     of S
//
// List scans the table (paginated); Revoke by alias scans for the alias and then updates the
// item by key_hash. Get is a strongly consistent GetItem.
//
// # Verification and caching
//
// A Verifier checks a presented key: the master key first, then the store, through an
// in-process cache. A key found in the store is cached for the positive TTL (30 s by default)
// and a missing one for the negative TTL (5 s by default), so a hot key costs no store read per
// request. The cache is stale-while-revalidate: past its TTL an answer is served once more, at
// once, while one background read (bounded, 3 s by default) refreshes it, so a request whose key
// is cached never waits for the store; only a key with nothing usable cached is read on the
// request path. While the store cannot be read, cached answers keep serving for up to an hour
// past their TTL (WithMaxStale), the store being asked again every 10 s. The price is that a
// revoked key keeps working on an instance that has it cached for up to the positive TTL after
// Revoke (plus one background read; during a store outage, up to the grace), and a newly
// created key may be refused for up to the negative TTL on an instance that was just shown it.
// Expiry is checked on every request, so an expired key is refused at once. Concurrent misses
// for one key make a single store read.
package keys

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/passthru/gateway/shared/auth"
)

// Key is a virtual gateway key as stored: by SHA-256 hash, never in clear.
type Key struct {
	Hash     string     // hex SHA-256 of the key (auth.Hash)
	Alias    string     // names the key in logs, usage records and the CLI
	Created  time.Time  // creation time
	Expires  *time.Time // nil: never
	Disabled bool       // revoked
	// Routes are the granted routes: exact path or prefix on a "/" boundary. Empty grants
	// none: auth:true routes then refuse the key, routes without an auth setting accept it.
	Routes   []string
	RPM      int // requests per minute; 0: unlimited
	Tags     []string
	Metadata map[string]string
}

// Store reads and writes keys.
type Store interface {
	// Get returns the key with this hash; found is false (and err nil) when there is none.
	Get(ctx context.Context, hash string) (k Key, found bool, err error)
	// Put creates a key; it fails with ErrExists if the hash is already stored.
	Put(ctx context.Context, k Key) error
	// List returns every key, sorted by alias (then hash).
	List(ctx context.Context) ([]Key, error)
	// Revoke disables the key whose hash or alias is aliasOrHash and returns it. It fails with
	// ErrNotFound if none matches and ErrAmbiguous if the alias names several keys.
	Revoke(ctx context.Context, aliasOrHash string) (Key, error)
}

// Errors of the stores.
var (
	ErrExists    = errors.New("keys: a key with this hash already exists")
	ErrNotFound  = errors.New("keys: no key has this alias or hash")
	ErrAmbiguous = errors.New("keys: several keys have this alias; name the key by its hash")
)

const (
	base62    = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	randChars = auth.VirtualKeyChars // the verifier refuses any other shape (auth.IsVirtualKeyShape)
)

// Generate makes a new random key, auth.VirtualKeyPrefix followed by 32 base62 characters from crypto/rand
// (about 190 bits), and its Key with Hash, Alias and Created (UTC, whole seconds) set. The
// clear key is returned only here: store k, hand out clear.
func Generate(alias string) (clear string, k Key, err error) {
	if alias == "" {
		return "", Key{}, errors.New("keys: a key needs an alias")
	}
	b := make([]byte, 0, len(auth.VirtualKeyPrefix)+randChars)
	b = append(b, auth.VirtualKeyPrefix...)
	var buf [64]byte
	for len(b) < cap(b) {
		if _, err := rand.Read(buf[:]); err != nil {
			return "", Key{}, fmt.Errorf("keys: random: %w", err)
		}
		for _, c := range buf {
			if c >= 248 { // 248 = 4*62: reject to keep the characters uniform
				continue
			}
			b = append(b, base62[c%62])
			if len(b) == cap(b) {
				break
			}
		}
	}
	clear = string(b)
	return clear, Key{Hash: auth.Hash(clear), Alias: alias, Created: time.Now().UTC().Truncate(time.Second)}, nil
}

// Find returns the key whose hash or alias is aliasOrHash: by hash first, then by alias (a List).
func Find(ctx context.Context, s Store, aliasOrHash string) (Key, error) {
	if isHash(aliasOrHash) {
		k, ok, err := s.Get(ctx, aliasOrHash)
		if err != nil {
			return Key{}, err
		}
		if ok {
			return k, nil
		}
	}
	all, err := s.List(ctx)
	if err != nil {
		return Key{}, err
	}
	return byAlias(all, aliasOrHash)
}

func byAlias(all []Key, alias string) (Key, error) {
	var found []Key
	for _, k := range all {
		if k.Alias == alias {
			found = append(found, k)
		}
	}
	switch len(found) {
	case 0:
		return Key{}, fmt.Errorf("%w: %q", ErrNotFound, alias)
	case 1:
		return found[0], nil
	default:
		return Key{}, fmt.Errorf("%w: %q (%d keys)", ErrAmbiguous, alias, len(found))
	}
}

// isHash reports whether s looks like a hex SHA-256 (64 lowercase hex digits).
func isHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Principal is who the key belongs to, for the proxy. Its slices are the key's own: read-only.
func (k Key) Principal() auth.Principal {
	return auth.Principal{Alias: k.Alias, Routes: k.Routes, KeyHash: k.Hash, RPM: k.RPM, Tags: k.Tags, Metadata: k.Metadata}
}

// Expired reports whether the key has expired at now.
func (k Key) Expired(now time.Time) bool {
	return k.Expires != nil && !now.Before(*k.Expires)
}

// clone copies k's slices and map, so a store's keys and its callers' never share memory.
func (k Key) clone() Key {
	if k.Expires != nil {
		e := *k.Expires
		k.Expires = &e
	}
	if k.Routes != nil {
		k.Routes = append([]string(nil), k.Routes...)
	}
	if k.Tags != nil {
		k.Tags = append([]string(nil), k.Tags...)
	}
	if k.Metadata != nil {
		m := make(map[string]string, len(k.Metadata))
		for a, b := range k.Metadata {
			m[a] = b
		}
		k.Metadata = m
	}
	return k
}
