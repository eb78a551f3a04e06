package ssmroutes

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/passthru/gateway/shared/builtin"
	"github.com/passthru/gateway/shared/inflight"
	"github.com/passthru/gateway/shared/route"
)

// DefaultTTL is how long a loaded table is served before the next request reloads it.
const DefaultTTL = 30 * time.Second

// DefaultTimeout bounds one load of the table (every page, SDK retries included): at cold start
// it runs inside Lambda's 10 s init, and afterwards in the background.
const DefaultTimeout = 3 * time.Second

// coldRetry spaces out reloads while no table could be loaded yet, so an outage at cold start
// does not turn every request into an SSM call.
const coldRetry = time.Second

// ErrNoRoutes is returned while no table has been loaded yet and SSM cannot be read.
var ErrNoRoutes = errors.New("no route table loaded yet")

// Source serves the route table stored under a prefix. A loaded table is served for TTL; the
// first request after that starts a reload in the background and, like every other request, is
// served the current table at once (stale-while-revalidate: one reload in flight, no request ever
// waits for one). When SSM fails, or a route's spec turns invalid, the last good table (or route)
// keeps serving and one error is logged per incident and per bad parameter version. Only the
// first load, with nothing to serve yet, is waited for: by each request at most until its own
// context ends, the load itself bounded by the timeout.
type Source struct {
	api     API
	prefix  string
	ttl     time.Duration
	log     *slog.Logger
	now     func() time.Time
	timeout time.Duration

	cur        atomic.Pointer[loaded]
	mu         sync.Mutex         // held by the one load or reload in progress
	calls      singleflight.Group // the cold load, shared by the requests waiting for it
	background inflight.Group     // the load or reload in flight, if any
	failing    bool               // an SSM outage is in progress (logged once)
	lastErr    error
	errAt      time.Time
	warned     map[string]int64 // parameter versions already reported as bad
	noted      string           // the built-in route notes last logged
}

type loaded struct {
	snap  *Snapshot
	table *route.Table
	at    time.Time
}

// Option configures a Source.
type Option func(*Source)

// WithTTL sets how long a loaded table is served (default 30 s).
func WithTTL(d time.Duration) Option { return func(s *Source) { s.ttl = d } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(s *Source) { s.log = l } }

// WithTimeout bounds each load of the table, retries included (default 3 s; ignored if <= 0).
func WithTimeout(d time.Duration) Option {
	return func(s *Source) {
		if d > 0 {
			s.timeout = d
		}
	}
}

// WithClock sets the clock (tests).
func WithClock(now func() time.Time) Option { return func(s *Source) { s.now = now } }

// New returns a source for the routes under prefix.
func New(api API, prefix string, opts ...Option) *Source {
	s := &Source{api: api, prefix: NormalizePrefix(prefix), ttl: DefaultTTL, log: slog.Default(), now: time.Now, timeout: DefaultTimeout, warned: map[string]int64{}}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Table implements the proxy's RouteSource.
func (s *Source) Table(ctx context.Context) (*route.Table, error) {
	cur := s.cur.Load()
	if cur == nil {
		return s.cold(ctx)
	}
	if s.now().Sub(cur.at) >= s.ttl {
		s.refresh(ctx, cur)
	}
	return cur.table, nil
}

// cold waits for the first load, nothing being there to serve: concurrent callers share one
// load, and each waits at most until its own context ends (a request stopped for the Lambda
// deadline must not wait out the load timeout). The load serves every caller waiting on it, so
// it is detached from the one that started it and bounded by the timeout alone.
func (s *Source) cold(ctx context.Context) (*route.Table, error) {
	ch := s.calls.DoChan("cold", func() (any, error) { return s.coldLoad(context.WithoutCancel(ctx)) })
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*route.Table), nil
	case <-ctx.Done():
		// The request went away; that says nothing about SSM.
		return nil, fmt.Errorf("%w: %v", ErrNoRoutes, ctx.Err())
	}
}

// coldLoad loads the table unless a load that just finished did, or one failed less than
// coldRetry ago. It holds mu (one load or reload at a time) and counts as a background load for
// WaitBackground: its callers may all have gone, and Lambda would freeze it mid-call (see
// refresh); a load that resumes past its deadline is not an outage either: nothing is logged or
// remembered, and the next request loads again.
func (s *Source) coldLoad(ctx context.Context) (*route.Table, error) {
	defer s.background.Track()()
	// Settled before WaitBackground returns: a request from then on starts its own call rather
	// than joining this one's answer (after a freeze, an error).
	defer s.calls.Forget("cold")
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur := s.cur.Load(); cur != nil {
		return cur.table, nil
	}
	if s.lastErr != nil && s.now().Sub(s.errAt) < coldRetry {
		return nil, s.lastErr
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	next, err := s.load(ctx, nil)
	switch {
	case err != nil && time.Since(start) > 2*s.timeout:
		return nil, fmt.Errorf("%w: %v", ErrNoRoutes, err) // frozen mid-call
	case err != nil:
		return s.failed(nil, err)
	}
	return s.swap(nil, next), nil
}

// refresh reloads the table in the background unless a reload is already in flight. The reload
// has its own deadline (not the request's: it outlives it). Lambda may freeze the sandbox while
// it runs ("Lambda freezes the execution environment when the runtime and each extension have
// completed", https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html); on thaw its deadline has passed and the call fails at once: such a failure is not an
// SSM outage (nothing is logged, the table is not marked fresh) and the next request retries.
func (s *Source) refresh(ctx context.Context, cur *loaded) {
	if !s.mu.TryLock() {
		return // a reload is in flight
	}
	if s.cur.Load() != cur { // reloaded between the check and the lock
		s.mu.Unlock()
		return
	}
	s.background.Go(func() {
		defer s.mu.Unlock()
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
		defer cancel()
		next, err := s.load(ctx, cur)
		switch {
		case err != nil && time.Since(start) > 2*s.timeout:
			return // frozen mid-call (see above)
		case err != nil:
			_, _ = s.failed(cur, err)
		default:
			s.swap(cur, next)
		}
	})
}

// WaitBackground waits, at most until ctx ends, for a load or background reload in flight. On
// Lambda it runs before each invocation ends (gateway.AfterResponse): a reload left running
// would be frozen with the sandbox and fail on thaw, and traffic whose invocations keep ending
// first would keep the table from ever reloading.
func (s *Source) WaitBackground(ctx context.Context) { s.background.Wait(ctx) }

// load reads SSM and builds the table; cur is the table being served (nil at cold start).
func (s *Source) load(ctx context.Context, cur *loaded) (*loaded, error) {
	params, err := List(ctx, s.api, s.prefix)
	if err == nil && len(params) == 0 {
		// Nothing stored at all is a wrong prefix or a missing push, not an empty gateway.
		err = fmt.Errorf("no parameters under %s: push routes with `gatewayctl routes push FILE --prefix %s`", s.prefix, s.prefix)
	}
	if err != nil {
		return nil, err
	}
	next, err := s.build(params, cur)
	if err == nil && len(next.snap.Config.Endpoints) == 0 {
		// Not one valid route is a broken push, not an empty gateway: keep the last good table,
		// or answer 503 rather than 404 to everything.
		err = fmt.Errorf("no valid route under %s (%d rejected)", s.prefix, len(next.snap.Rejected))
	}
	return next, err
}

// swap serves next, logging the end of an outage and a change of versions.
func (s *Source) swap(cur, next *loaded) *route.Table {
	if s.failing {
		s.log.Info("route table reloaded after an outage", "prefix", s.prefix)
		s.failing = false
	}
	if cur == nil || !maps.Equal(cur.snap.Versions, next.snap.Versions) {
		s.log.Info("route table loaded", "prefix", s.prefix, "routes", len(next.snap.Config.Endpoints), "versions", next.snap.Versions)
	}
	s.cur.Store(next)
	return next.table
}

func (s *Source) build(params []Parameter, cur *loaded) (*loaded, error) {
	var last *Snapshot
	if cur != nil {
		last = cur.snap
	}
	snap := Build(s.prefix, params, last)
	s.report(snap)
	table, notes, err := builtin.NewTable(snap.Config, os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("compile routes under %s: %w", s.prefix, err)
	}
	s.noteOnce(notes)
	for _, r := range snap.Rejected {
		if !r.Conflict && r.Path != "" {
			table.AddInvalid(r.Path, r.Subpath) // its requests are told why they get a 404
		}
	}
	return &loaded{snap: snap, table: table, at: s.now()}, nil
}

// noteOnce logs the built-in provider route notes (overrides, unknown names) when they change.
func (s *Source) noteOnce(notes []string) {
	if joined := strings.Join(notes, "\n"); joined != s.noted {
		s.noted = joined
		for _, n := range notes {
			s.log.Info("built-in provider routes: " + n)
		}
	}
}

// report logs each bad parameter version once, for as long as it stays bad: a parameter that is
// served again and later rejected again is reported again.
func (s *Source) report(snap *Snapshot) {
	bad := map[string]bool{}
	for _, r := range snap.Rejected {
		bad[r.Name] = true
		if s.warned[r.Name] != r.Version {
			s.warned[r.Name] = r.Version
			msg := "route rejected: its spec is invalid, the other routes are served"
			if r.Conflict {
				msg = "route rejected: it claims a path another route serves, the other routes are served"
			}
			s.log.Error(msg, "parameter", r.Name, "version", r.Version, "reason", r.Reason)
		}
	}
	for _, r := range snap.Kept {
		bad[r.Name] = true
		if s.warned[r.Name] != r.Version {
			s.warned[r.Name] = r.Version
			s.log.Error("invalid spec: the last good version keeps serving", "parameter", r.Name, "version", r.Version, "reason", r.Reason)
		}
	}
	for name := range s.warned {
		if !bad[name] {
			delete(s.warned, name)
		}
	}
}

func (s *Source) failed(cur *loaded, err error) (*route.Table, error) {
	if !s.failing {
		s.failing = true
		if cur != nil {
			s.log.Error("cannot reload routes: serving the last good table", "prefix", s.prefix, "error", err)
		} else {
			s.log.Error("cannot load routes: answering 503 until SSM can be read", "prefix", s.prefix, "error", err)
		}
	}
	if cur == nil {
		s.lastErr, s.errAt = fmt.Errorf("%w: %v", ErrNoRoutes, err), s.now()
		return nil, s.lastErr
	}
	// Serve the last good table for another TTL before trying again.
	s.cur.Store(&loaded{snap: cur.snap, table: cur.table, at: s.now()})
	return cur.table, nil
}
