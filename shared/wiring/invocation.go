package wiring

import (
	"cmp"
	"context"
	"sync"
)

// backgroundWaiter is a source that refreshes its cache in the background (ssmroutes.Source,
// awssecrets.Resolver, keys.Verifier).
type backgroundWaiter interface {
	WaitBackground(ctx context.Context)
}

// WaitBackground waits, at most until ctx ends, for the sources' background refreshes in flight.
func (s Sources) WaitBackground(ctx context.Context) {
	for _, src := range []any{s.Routes, s.Secrets, s.Keys} {
		if w, ok := src.(backgroundWaiter); ok {
			w.WaitBackground(ctx)
		}
	}
}

// AfterResponse is what each Lambda invocation does once its caller has the whole response and
// before it ends: flush the usage records, and let the background refreshes of routes, secrets
// and keys that its request started finish. Lambda freezes the sandbox when the invocation ends
// (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html); a refresh
// still running would be frozen mid-call and fail on thaw, and traffic whose invocations always
// end first would keep a cache from ever refreshing. Both are bounded like the flush
// (UsageOptions.FlushTimeout, and the deadline less a margin), so the Lambda adapter's deadline
// reserve (Usage.DeadlineReserve) covers them.
func AfterResponse(s Sources, u Usage) func(context.Context) {
	timeout := cmp.Or(u.flushTimeout, DefaultFlushTimeout)
	return func(ctx context.Context) {
		var wg sync.WaitGroup
		wg.Go(func() { u.Flush(ctx) })
		wait, cancel := flushContext(ctx, timeout)
		defer cancel()
		s.WaitBackground(wait)
		wg.Wait()
	}
}
