// Package ratelimit admits requests per key per minute, exactly, across every gateway instance
// that shares its store. It backs the per-key RPM limits of gateway keys.
//
// # Algorithm and precision
//
// Both limiters count a fixed one-minute window per key: the window is the UTC wall-clock minute
// (unix seconds / 60) in which the request arrives, and it resets at the start of the next minute.
//
//   - Exact within a window: at most rpm requests are admitted per key per window, never more,
//     however many requests or instances race. A refused request is not counted.
//   - Not a sliding window: because the count restarts at each minute boundary, up to 2×rpm
//     requests can pass within any 60 seconds that straddle a boundary (rpm at the end of one
//     window, rpm at the start of the next).
//   - Windows follow each instance's clock; instance clocks that disagree by a few milliseconds
//     can place a request at a boundary in either window, which never lets more than rpm into
//     one window.
//
// # DynamoDB
//
// [DynamoDB] makes one conditional UpdateItem per admitted or refused request, on the item
// {pk: "<key>#<unix minute>"}:
//
//	UpdateExpression:    SET expires_at = :exp ADD hits :one
//	ConditionExpression: attribute_not_exists(hits) OR hits < :limit
//	ReturnValues:        UPDATED_NEW
//
// A single-item conditional write is atomic and strongly consistent in DynamoDB, so the check
// and the increment cannot interleave with another instance's: N instances together admit
// exactly rpm per window. A ConditionalCheckFailedException means the window is full (refused,
// nothing written). Each item carries expires_at (epoch seconds, the window end plus one
// minute); with TTL enabled on that attribute DynamoDB deletes old windows by itself (TTL
// deletion is lazy, but the limiter never reads a past window, so late deletion is harmless).
//
// The table needs a string partition key named "pk" and nothing else; PAY_PER_REQUEST suits it.
//
// Each UpdateItem, SDK retries included, is bounded by a timeout (DefaultTimeout, 1 s;
// [WithTimeout]): against an endpoint that accepts the connection and never answers, the request
// would otherwise wait as long as its caller does (40 s was observed), and neither failing closed
// nor failing open would apply. A timeout is an outage like any other.
//
// Any other DynamoDB error (throttling, network, permissions, the timeout, a cancelled context)
// is returned wrapped in [ErrUnavailable]; the caller decides whether to fail closed or open.
//
// # Memory
//
// [Memory] is the same fixed window kept in one process (local runs, tests): exact under
// concurrency within that process, shared with nothing else.
//
// # Unlimited keys
//
// rpm <= 0 means unlimited: Allow returns Decision{Allowed: true, Limit: 0, Remaining: -1} with
// a zero Reset and touches no store.
package ratelimit

import (
	"context"
	"errors"
	"time"
)

// Decision is the outcome for one request.
type Decision struct {
	Allowed bool
	// Limit is the rpm the request was checked against; 0 when unlimited.
	Limit int
	// Remaining is how many more requests the current window admits after this one: 0 when
	// refused, -1 when unlimited.
	Remaining int
	// Reset is when the current window ends (the next UTC minute); zero when unlimited.
	Reset time.Time
}

// Limiter admits requests per key per minute, exactly, across every instance sharing its store.
type Limiter interface {
	// Allow counts one request for key against rpm requests per minute. An error means the
	// store could not decide (it wraps ErrUnavailable); the Decision is then zero.
	Allow(ctx context.Context, key string, rpm int) (Decision, error)
}

// ErrUnavailable wraps every store failure other than a refusal, so that callers can apply
// their fail-closed or fail-open policy: errors.Is(err, ErrUnavailable).
var ErrUnavailable = errors.New("ratelimit: store unavailable")

// unlimited is the decision for rpm <= 0.
var unlimited = Decision{Allowed: true, Limit: 0, Remaining: -1}

// Option configures a limiter.
type Option func(*options)

type options struct {
	now     func() time.Time
	timeout time.Duration
}

// DefaultTimeout bounds one DynamoDB counter update, retries included.
const DefaultTimeout = time.Second

// WithTimeout bounds each store call, retries included (DefaultTimeout when d <= 0).
func WithTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.timeout = d
		}
	}
}

// WithClock sets the clock the limiter reads to find the current window (time.Now by default).
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

func newOptions(opts []Option) options {
	o := options{now: time.Now, timeout: DefaultTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// window returns the unix minute containing t and the time that minute ends.
func window(t time.Time) (minute int64, end time.Time) {
	sec := t.Unix()
	minute = sec / 60
	if sec < 0 && sec%60 != 0 { // floor for times before 1970, for completeness
		minute--
	}
	return minute, time.Unix((minute+1)*60, 0).UTC()
}
