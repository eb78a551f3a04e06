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

	mu    sync.Mutex
	cache map[string]entry // by secret id
	calls singleflight.Group
}

type entry struct {
	value   string
	missing bool
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
	r := &Resolver{api: api, ttl: DefaultTTL, now: time.Now, cache: map[string]entry{}}
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
		if e, ok := r.stale(id); ok {
			// Secrets Manager is down: the last value beats an outage, and is served a while
			// before asking again rather than on every request.
			r.store(id, entry{value: e.value}, retryAfter)
			return e.value, nil
		}
		return "", fmt.Errorf("read secret %q: %w", id, err)
	}
	value := aws.ToString(out.SecretString)
	r.store(id, entry{value: value}, r.ttl)
	return value, nil
}

func (r *Resolver) store(id string, e entry, ttl time.Duration) {
	e.expires = r.now().Add(ttl)
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
// so a route's credentials cost one round trip, not one per header. Errors are left for Resolve
// to report per secret.
func (r *Resolver) Prefetch(ctx context.Context, refs []string) {
	var ids []string // nil on the warm path: it allocates nothing
	for _, ref := range refs {
		name, _ := secrets.SplitRef(ref)
		id := r.prefix + name
		if _, fresh := r.cached(id); !fresh && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	for len(ids) > 0 {
		n := min(batchLimit, len(ids))
		r.batch(ctx, ids[:n])
		ids = ids[n:]
	}
}

func (r *Resolver) batch(ctx context.Context, ids []string) {
	out, err := r.api.BatchGetSecretValue(ctx, &secretsmanager.BatchGetSecretValueInput{SecretIdList: ids})
	if err != nil {
		return // Resolve fetches them one by one and reports
	}
	for _, v := range out.SecretValues {
		r.store(aws.ToString(v.Name), entry{value: aws.ToString(v.SecretString)}, r.ttl)
	}
	for _, e := range out.Errors {
		if aws.ToString(e.ErrorCode) == "ResourceNotFoundException" {
			r.store(aws.ToString(e.SecretId), entry{missing: true}, retryAfter)
		}
	}
}

// Invalidate drops the secrets behind refs from the cache, so their next use fetches them
// again: the proxy calls it when an upstream answers 401 or 403, which is how a rotated key
// shows.
func (r *Resolver) Invalidate(refs ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ref := range refs {
		name, _ := secrets.SplitRef(ref)
		delete(r.cache, r.prefix+name)
	}
}
