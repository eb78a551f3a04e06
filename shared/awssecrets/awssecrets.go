// Package awssecrets resolves os.environ/ references from AWS Secrets Manager, with an
// in-process cache: a secret is fetched once per TTL, a route's secrets in one batch call, and
// a secret can be dropped from the cache when the upstream rejects it (rotation).
//
// The cache is stale-while-revalidate: after its TTL a secret is still served at once while one
// background refresh per secret reads it again, so no request waits for Secrets Manager unless
// nothing usable is cached (first use, a missing secret, an invalidated one, or a value past
// its grace of an hour while Secrets Manager cannot be read). Those waits and the background
// refreshes are bounded by a timeout, SDK retries included.
package awssecrets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"golang.org/x/sync/singleflight"

	"github.com/passthru/gateway/shared/inflight"
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

// DefaultTimeout bounds one fetch (a batch, or a secret read on its own), retries included.
const DefaultTimeout = 3 * time.Second

// API is the part of the Secrets Manager client the resolver uses.
type API interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	BatchGetSecretValue(ctx context.Context, in *secretsmanager.BatchGetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.BatchGetSecretValueOutput, error)
}

// Resolver resolves references NAME and NAME:field to the secret prefix+NAME (a JSON secret's
// field with the second form). It is safe for concurrent use; concurrent misses for one secret
// make one call.
type Resolver struct {
	api     API
	prefix  string
	ttl     time.Duration
	timeout time.Duration
	now     func() time.Time
	log     *slog.Logger

	mu          sync.Mutex
	cache       map[string]entry     // by secret id
	invalidated map[string]time.Time // when a secret was last dropped after a 401/403
	refreshing  map[string]bool      // secrets with a background refresh in flight
	calls       singleflight.Group   // waited-for fetches, by secret id or batch of ids
	background  inflight.Group       // background refreshes in flight
	failing     atomic.Bool          // a refresh failed and none succeeded since (logged once)
}

type entry struct {
	value   string
	missing bool
	err     error // a read of a secret with nothing cached timed out (remembered for coldRetry)
	fetched time.Time
	expires time.Time
}

// result is what a settled entry answers: its value, or why there is none. Never an empty value
// with a nil error for a secret that was not read.
func (e entry) result(id string) (string, error) {
	switch {
	case e.missing:
		return "", &secrets.NotFoundError{Name: id}
	case e.err != nil:
		return "", e.err
	default:
		return e.value, nil
	}
}

// coldRetry is how long a timed-out read of a secret with nothing cached is remembered: the
// route's other secrets, and the requests right behind, fail at once instead of each waiting out
// the timeout again.
const coldRetry = time.Second

// Option configures a Resolver.
type Option func(*Resolver)

// WithPrefix puts every name under prefix (e.g. "llm-gateway/").
func WithPrefix(p string) Option { return func(r *Resolver) { r.prefix = p } }

// WithTTL sets how long fetched secrets are cached (default 5 min).
func WithTTL(d time.Duration) Option { return func(r *Resolver) { r.ttl = d } }

// WithTimeout bounds each fetch, retries included (default 3 s; ignored if <= 0).
func WithTimeout(d time.Duration) Option {
	return func(r *Resolver) {
		if d > 0 {
			r.timeout = d
		}
	}
}

// WithLogger sets where the start and end of a Secrets Manager outage are logged (never a value).
func WithLogger(l *slog.Logger) Option { return func(r *Resolver) { r.log = l } }

// WithClock sets the clock (tests).
func WithClock(now func() time.Time) Option { return func(r *Resolver) { r.now = now } }

// New returns a resolver reading from api.
func New(api API, opts ...Option) *Resolver {
	r := &Resolver{api: api, ttl: DefaultTTL, timeout: DefaultTimeout, now: time.Now, log: slog.Default(),
		cache: map[string]entry{}, invalidated: map[string]time.Time{}, refreshing: map[string]bool{}}
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
	switch e, state := r.lookup(id); state {
	case fresh:
		return e.result(id)
	case stale:
		r.refresh(ctx, []string{id})
		return e.value, nil
	}
	v, err := r.wait(ctx, id, func(ctx context.Context) (any, error) {
		if e, state := r.lookup(id); state == fresh { // settled by a call that just finished
			return e.result(id)
		}
		return r.fetch(ctx, id)
	})
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

// wait runs fn once for every concurrent caller with the same key, bounded by the timeout and
// detached from the caller's cancellation (the call serves every caller waiting on it: one of
// them going away must not fail the others). Each caller waits at most until its own context
// ends.
func (r *Resolver) wait(ctx context.Context, key string, fn func(context.Context) (any, error)) (any, error) {
	ch := r.calls.DoChan(key, func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.timeout)
		defer cancel()
		return fn(ctx)
	})
	select {
	case res := <-ch:
		return res.Val, res.Err
	case <-ctx.Done():
		return nil, fmt.Errorf("read secret %q: %w", key, ctx.Err())
	}
}

// freshness is what a cache entry can do for a request.
type freshness int

const (
	absent freshness = iota // nothing usable: the request waits for a fetch
	fresh                   // within its TTL
	stale                   // past its TTL but within the grace: served while it is refreshed
)

// lookup returns the cache entry for id and what it is good for now.
func (r *Resolver) lookup(id string) (entry, freshness) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.cache[id]
	now := r.now()
	switch {
	case !ok:
		return e, absent
	case now.Before(e.expires):
		return e, fresh
	case !e.missing && e.err == nil && now.Sub(e.fetched) < r.ttl+maxStale:
		return e, stale
	}
	return e, absent
}

// fetch reads one secret and caches the outcome: its value, or that it is missing. Other errors
// are returned and leave the cache as it was.
func (r *Resolver) fetch(ctx context.Context, id string) (string, error) {
	out, err := r.api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	var nf *types.ResourceNotFoundException
	switch {
	case errors.As(err, &nf):
		r.store(id, entry{missing: true}, retryAfter)
		return "", &secrets.NotFoundError{Name: id}
	case err != nil:
		err = fmt.Errorf("read secret %q: %w", id, err)
		r.timedOut(err, id)
		return "", err
	}
	return r.settle(id, out.SecretString)
}

// settle caches what Secrets Manager answered for id, from GetSecretValue or a batch: its value,
// or missing when it has no text (empty, or binary-only: SecretString is then absent), which
// would go upstream as an empty credential.
func (r *Resolver) settle(id string, value *string) (string, error) {
	if value == nil || *value == "" {
		r.store(id, entry{missing: true}, retryAfter)
		return "", &secrets.NotFoundError{Name: id}
	}
	r.store(id, entry{value: *value}, r.ttl)
	return *value, nil
}

func (r *Resolver) store(id string, e entry, ttl time.Duration) {
	e.fetched = r.now()
	e.expires = e.fetched.Add(ttl)
	r.mu.Lock()
	r.cache[id] = e
	r.mu.Unlock()
}

// timedOut remembers err for coldRetry for each of ids that has nothing usable cached, when err
// is a timeout: Secrets Manager hangs, and asking again right away would only wait again. Other
// errors are not remembered (a batch refused for want of permission leaves single reads to try).
func (r *Resolver) timedOut(err error, ids ...string) {
	if !errors.Is(err, context.DeadlineExceeded) {
		return
	}
	for _, id := range ids {
		if _, state := r.lookup(id); state == absent {
			r.store(id, entry{err: err}, coldRetry)
		}
	}
}

// WaitBackground waits, at most until ctx ends, for the background refreshes in flight. On
// Lambda it runs before each invocation ends (gateway.AfterResponse), so a refresh is not frozen
// with the sandbox mid-call.
func (r *Resolver) WaitBackground(ctx context.Context) { r.background.Wait(ctx) }

// refresh reads the stale secrets ids again in the background, skipping those a refresh is
// already reading: the request that noticed them is served their last values at once. The
// refresh is bounded by the timeout. If it fails, the last values keep serving and Secrets
// Manager is asked again after retryAfter (not on every request); the outage is logged once.
// Lambda may freeze the sandbox during a refresh (between invocations:
// https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html): on thaw its deadline has passed and it fails
// at once, which is not an outage: nothing is logged and the next request refreshes again.
func (r *Resolver) refresh(ctx context.Context, ids []string) {
	r.mu.Lock()
	var todo []string
	for _, id := range ids {
		if !r.refreshing[id] {
			r.refreshing[id] = true
			todo = append(todo, id)
		}
	}
	r.mu.Unlock()
	if len(todo) == 0 {
		return
	}
	r.background.Go(func() {
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.timeout)
		defer cancel()
		err := r.load(ctx, todo)
		frozen := err != nil && time.Since(start) > 2*r.timeout
		r.mu.Lock()
		for _, id := range todo {
			delete(r.refreshing, id)
			if e, ok := r.cache[id]; ok && err != nil && !frozen && !r.now().Before(e.expires) {
				// Served as is until then, but never past the grace.
				e.expires = r.now().Add(retryAfter)
				if grace := e.fetched.Add(r.ttl + maxStale); grace.Before(e.expires) {
					e.expires = grace
				}
				r.cache[id] = e
			}
		}
		r.mu.Unlock()
		r.outcome(err, frozen)
	})
}

// outcome logs the first failed refresh of an outage and the first success after it.
func (r *Resolver) outcome(err error, frozen bool) {
	switch {
	case frozen:
	case err != nil && r.failing.CompareAndSwap(false, true):
		r.log.Error("cannot refresh secrets: serving the cached values", "error", err)
	case err == nil && r.failing.CompareAndSwap(true, false):
		r.log.Info("secrets refreshed after an outage")
	}
}

// load reads ids: in batches of 20, then one by one those a batch did not settle (a failed batch
// call, a per-secret error other than not found, a secret the answer leaves out); a single
// secret with GetSecretValue. It returns the first error that left a secret unread.
func (r *Resolver) load(ctx context.Context, ids []string) error {
	var left []string
	for len(ids) > 1 {
		n := min(batchLimit, len(ids))
		left = append(left, r.batch(ctx, ids[:n])...)
		ids = ids[n:]
	}
	left = append(left, ids...) // a lone secret
	var first error
	for _, id := range left {
		var nf *secrets.NotFoundError
		if _, err := r.fetch(ctx, id); err != nil && !errors.As(err, &nf) && first == nil {
			first = err
		}
	}
	return first
}

// Prefetch loads the secrets behind refs, 20 per BatchGetSecretValue call, so a route's
// credentials cost one round trip, not one per header. Stale ones are refreshed in the
// background; the request waits only for those with nothing usable cached, and concurrent
// requests for the same secrets share one call. Errors are left for Resolve to report per secret.
func (r *Resolver) Prefetch(ctx context.Context, refs []string) {
	cold, old := r.partition(refs)
	if len(old) > 0 {
		r.refresh(ctx, old)
	}
	if len(cold) == 0 {
		return // the warm path: no lock held, no allocation beyond the ids
	}
	_, _ = r.wait(ctx, "batch:"+strings.Join(cold, ","), func(ctx context.Context) (any, error) {
		cold, _ := r.partition(refs) // what a batch that just finished did not fetch
		for len(cold) > 0 {
			n := min(batchLimit, len(cold))
			r.batch(ctx, cold[:n]) // what it leaves unread, Resolve reads one by one
			cold = cold[n:]
		}
		return nil, nil
	})
}

// partition lists the secret ids behind refs that have nothing usable cached (cold) and those
// that are stale, each once.
func (r *Resolver) partition(refs []string) (cold, old []string) {
	for _, ref := range refs { // nil slices on the warm path: it allocates nothing
		name, _ := secrets.SplitRef(ref)
		id := r.prefix + name
		switch _, state := r.lookup(id); {
		case state == absent && !slices.Contains(cold, id):
			cold = append(cold, id)
		case state == stale && !slices.Contains(old, id):
			old = append(old, id)
		}
	}
	return cold, old
}

// batch reads up to 20 secrets in one call and caches what it learns. It returns the ids it
// could not settle: all of them when the call fails, else those with an error other than not
// found and those the answer does not mention (each is then read on its own, so none is left
// stale with its refresh counted a success).
func (r *Resolver) batch(ctx context.Context, ids []string) []string {
	out, err := r.api.BatchGetSecretValue(ctx, &secretsmanager.BatchGetSecretValueInput{SecretIdList: ids})
	if err != nil {
		r.timedOut(fmt.Errorf("read secrets %q: %w", ids, err), ids...)
		return ids
	}
	settled := make(map[string]bool, len(ids))
	for _, v := range out.SecretValues {
		// An entry is matched to the id asked for by name or ARN (SecretIdList takes either:
		// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_BatchGetSecretValue.html).
		id := aws.ToString(v.Name)
		if !slices.Contains(ids, id) {
			id = aws.ToString(v.ARN)
		}
		if slices.Contains(ids, id) {
			_, _ = r.settle(id, v.SecretString)
			settled[id] = true
		}
	}
	for _, e := range out.Errors {
		// Errors[].SecretId is the ARN or name of the secret, the code e.g.
		// ResourceNotFoundException: https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_APIErrorType.html
		id := aws.ToString(e.SecretId)
		if aws.ToString(e.ErrorCode) == "ResourceNotFoundException" && slices.Contains(ids, id) {
			r.store(id, entry{missing: true}, retryAfter)
			settled[id] = true
		}
	}
	var left []string
	for _, id := range ids {
		if !settled[id] {
			left = append(left, id)
		}
	}
	return left
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
