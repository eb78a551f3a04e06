// Package awssecrets resolves os.environ/ references from AWS Secrets Manager, with an
// in-process cache: a secret is fetched once per TTL, a route's secrets in one batch call, and
// a secret can be dropped from the cache when the upstream rejects it (rotation).
package awssecrets

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"golang.org/x/sync/singleflight"

	"github.com/passthru/gateway/shared/secrets"
)

// DefaultTTL is how long a fetched secret is used before it is fetched again.
const DefaultTTL = 5 * time.Minute

// retryAfter is how long a secret found missing stays missing (short, so a secret created after
// a 503 is picked up quickly), and how long a stale value is served during an outage before
// Secrets Manager is asked again.
const retryAfter = 10 * time.Second

// batchLimit is BatchGetSecretValue's maximum number of ids per call.
const batchLimit = 20

// maxStale bounds how long a value is served past its TTL while Secrets Manager cannot be read.
const maxStale = time.Hour

// invalidateEvery limits how often an upstream's 401/403 can drop a secret from the cache: a key
// that is simply wrong must not turn every request into a Secrets Manager call.
const invalidateEvery = 10 * time.Second

// callTimeout bounds one Secrets Manager call made on behalf of waiting requests.
const callTimeout = 5 * time.Second

// API is the part of the Secrets Manager client the resolver uses.
type API interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	BatchGetSecretValue(ctx context.Context, in *secretsmanager.BatchGetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.BatchGetSecretValueOutput, error)
}

// Resolver resolves references NAME and NAME:field to the secret prefix+NAME (a JSON secret's
// field with the second form). It is safe for concurrent use; concurrent misses for one secret
// make one call.
type Resolver struct {
	api    API
	prefix string
	ttl    time.Duration
	now    func() time.Time

	mu          sync.Mutex
	batchMu     sync.Mutex           // one batch call at a time
	cache       map[string]entry     // by secret id
	invalidated map[string]time.Time // when a secret was last dropped after a 401/403
	calls       singleflight.Group
}

type entry struct {
	value   string
	missing bool
	fetched time.Time
	expires time.Time
}

// Option configures a Resolver.
type Option func(*Resolver)

// WithPrefix puts every name under prefix (e.g. "llm-gateway/").
func WithPrefix(p string) Option { return func(r *Resolver) { r.prefix = p } }

// WithTTL sets how long fetched secrets are cached (default 5 min).
func WithTTL(d time.Duration) Option { return func(r *Resolver) { r.ttl = d } }

// WithClock sets the clock (tests).
func WithClock(now func() time.Time) Option { return func(r *Resolver) { r.now = now } }

// New returns a resolver reading from api.
func New(api API, opts ...Option) *Resolver {
	r := &Resolver{api: api, ttl: DefaultTTL, now: time.Now, cache: map[string]entry{}, invalidated: map[string]time.Time{}}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Resolve implements secrets.Resolver. Errors name the stored secret (prefix included).
func (r *Resolver) Resolve(ctx context.Context, ref string) (string, error) {
	name, field := secrets.SplitRef(ref)
	value, err := r.secret(ctx, name)
	if err != nil {
		return "", err
	}
	return secrets.Field(value, field, r.prefix+ref)
}

func (r *Resolver) secret(ctx context.Context, name string) (string, error) {
	id := r.prefix + name
	if e, ok := r.cached(id); ok {
		if e.missing {
			return "", &secrets.NotFoundError{Name: id}
		}
		return e.value, nil
	}
	v, err, _ := r.calls.Do(id, func() (any, error) {
		if e, ok := r.cached(id); ok && !e.missing { // fetched by a call that just finished
			return e.value, nil
		}
		// The call serves every request waiting on it: one of them going away must not fail
		// the others.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), callTimeout)
		defer cancel()
		return r.fetch(ctx, id)
	})
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

// cached returns a fresh cache entry.
func (r *Resolver) cached(id string) (entry, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.cache[id]
	return e, ok && r.now().Before(e.expires)
}

func (r *Resolver) fetch(ctx context.Context, id string) (string, error) {
	out, err := r.api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	var nf *types.ResourceNotFoundException
	switch {
	case errors.As(err, &nf):
		r.store(id, entry{missing: true}, retryAfter)
		return "", &secrets.NotFoundError{Name: id}
	case err != nil:
		if e, ok := r.stale(id); ok && r.now().Sub(e.fetched) < r.ttl+maxStale {
			// Secrets Manager is down: the last value beats an outage for a while, and is
			// served some seconds before asking again rather than on every request.
			e.expires = r.now().Add(retryAfter)
			r.put(id, e)
			return e.value, nil
		}
		return "", fmt.Errorf("read secret %q: %w", id, err)
	}
	if out.SecretString == nil || *out.SecretString == "" {
		// An empty (or binary-only) secret would go upstream as an empty credential.
		r.store(id, entry{missing: true}, retryAfter)
		return "", &secrets.NotFoundError{Name: id}
	}
	value := aws.ToString(out.SecretString)
	r.store(id, entry{value: value}, r.ttl)
	return value, nil
}

func (r *Resolver) store(id string, e entry, ttl time.Duration) {
	e.fetched = r.now()
	e.expires = e.fetched.Add(ttl)
	r.put(id, e)
}

func (r *Resolver) put(id string, e entry) {
	r.mu.Lock()
	r.cache[id] = e
	r.mu.Unlock()
}

func (r *Resolver) stale(id string) (entry, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.cache[id]
	return e, ok && !e.missing
}

// Prefetch loads the secrets behind refs that are not cached, 20 per BatchGetSecretValue call,
// so a route's credentials cost one round trip, not one per header. Batches run one at a time
// and look at the cache again first, so concurrent requests for the same secrets make one call.
// Errors are left for Resolve to report per secret.
func (r *Resolver) Prefetch(ctx context.Context, refs []string) {
	if len(r.staleIDs(refs)) == 0 {
		return // the warm path: no lock, no allocation beyond the ids
	}
	r.batchMu.Lock()
	defer r.batchMu.Unlock()
	ids := r.staleIDs(refs) // what the batch that held the lock did not fetch
	if len(ids) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), callTimeout)
	defer cancel()
	for len(ids) > 0 {
		n := min(batchLimit, len(ids))
		r.batch(ctx, ids[:n])
		ids = ids[n:]
	}
}

// staleIDs lists the secret ids behind refs that are not freshly cached.
func (r *Resolver) staleIDs(refs []string) []string {
	var ids []string // nil on the warm path: it allocates nothing
	for _, ref := range refs {
		name, _ := secrets.SplitRef(ref)
		id := r.prefix + name
		if _, fresh := r.cached(id); !fresh && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids
}

func (r *Resolver) batch(ctx context.Context, ids []string) {
	out, err := r.api.BatchGetSecretValue(ctx, &secretsmanager.BatchGetSecretValueInput{SecretIdList: ids})
	if err != nil {
		return // Resolve fetches them one by one and reports
	}
	for _, v := range out.SecretValues {
		if v.SecretString != nil && *v.SecretString != "" {
			r.store(aws.ToString(v.Name), entry{value: aws.ToString(v.SecretString)}, r.ttl)
		}
	}
	for _, e := range out.Errors {
		if aws.ToString(e.ErrorCode) == "ResourceNotFoundException" {
			r.store(aws.ToString(e.SecretId), entry{missing: true}, retryAfter)
		}
	}
}

// Invalidate drops the secrets behind refs from the cache, so their next use fetches them
// again: the proxy calls it when an upstream answers 401 or 403, which is how a rotated key
// shows. A secret is dropped at most once per 10 s, so a key that is simply wrong costs one
// Secrets Manager call per 10 s, not one per request. It reports whether anything was dropped.
func (r *Resolver) Invalidate(refs ...string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	dropped := false
	now := r.now()
	for _, ref := range refs {
		name, _ := secrets.SplitRef(ref)
		id := r.prefix + name
		if last, ok := r.invalidated[id]; ok && now.Sub(last) < invalidateEvery {
			continue
		}
		r.invalidated[id] = now
		delete(r.cache, id)
		dropped = true
	}
	return dropped
}
