package awssecrets_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passthru/gateway/shared/awssecrets"
	"github.com/passthru/gateway/shared/clocktest"
	"github.com/passthru/gateway/shared/secrets"
)

// Values the tests store; none may ever appear in an error.
var stored = map[string]string{
	"gw/PLAIN": "s3cr3t-plain-value",
	"gw/JSON":  `{"api_key":"k-s3cr3t-123","port":8443,"account":12345678,"big":9007199254740993,"ratio":0.25,"on":true,"nested":{"a":"s3cr3t-nested"},"nothing":null}`,
	"gw/TEXT":  "s3cr3t text, not JSON",
	"gw/ARRAY": `["s3cr3t-in-array"]`,
	"gw/EMPTY": "",
}

func fixture() map[string]string {
	m := map[string]string{}
	for k, v := range stored {
		m[k] = v
	}
	return m
}

func newResolver(f *fakeSM, c *clocktest.Manual, opts ...awssecrets.Option) *awssecrets.Resolver {
	return awssecrets.New(f, append([]awssecrets.Option{awssecrets.WithPrefix("gw/"), awssecrets.WithClock(c.Now)}, opts...)...)
}

// checkNoSecret fails t if err's text holds any stored value.
func checkNoSecret(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, v := range []string{"s3cr3t", "k-s3cr3t-123", "8443"} {
		if strings.Contains(err.Error(), v) {
			t.Errorf("error %q contains a secret value %q", err, v)
		}
	}
}

func TestResolve(t *testing.T) {
	tests := []struct {
		ref      string
		want     string
		notFound string // the NotFoundError's Name, when one is expected
		wantErr  string
		wantGet  string
	}{
		{ref: "PLAIN", want: "s3cr3t-plain-value", wantGet: "gw/PLAIN"},
		{ref: "JSON", want: stored["gw/JSON"], wantGet: "gw/JSON"},
		{ref: "JSON:api_key", want: "k-s3cr3t-123", wantGet: "gw/JSON"},
		{ref: "JSON:port", want: "8443", wantGet: "gw/JSON"},
		{ref: "JSON:account", want: "12345678", wantGet: "gw/JSON"},
		{ref: "JSON:big", want: "9007199254740993", wantGet: "gw/JSON"},
		{ref: "JSON:ratio", want: "0.25", wantGet: "gw/JSON"},
		{ref: "JSON:on", want: "true", wantGet: "gw/JSON"},
		{ref: "EMPTY", notFound: "gw/EMPTY", wantErr: `secret "gw/EMPTY" is not set`, wantGet: "gw/EMPTY"}, // never an empty credential
		{ref: "JSON:missing", notFound: "gw/JSON:missing", wantErr: `secret "gw/JSON:missing" is not set`, wantGet: "gw/JSON"},
		{ref: "JSON:nested", notFound: "gw/JSON:nested", wantErr: `secret "gw/JSON:nested" is not set`, wantGet: "gw/JSON"},
		{ref: "JSON:nothing", notFound: "gw/JSON:nothing", wantErr: `secret "gw/JSON:nothing" is not set`, wantGet: "gw/JSON"},
		{ref: "TEXT:field", wantErr: `secret "gw/TEXT" is not a JSON object, so it has no field "field"`, wantGet: "gw/TEXT"},
		{ref: "ARRAY:0", wantErr: `secret "gw/ARRAY" is not a JSON object, so it has no field "0"`, wantGet: "gw/ARRAY"},
		{ref: "NOPE", notFound: "gw/NOPE", wantErr: `secret "gw/NOPE" is not set`, wantGet: "gw/NOPE"},
		{ref: "NOPE:field", notFound: "gw/NOPE", wantErr: `secret "gw/NOPE" is not set`, wantGet: "gw/NOPE"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			f := newFakeSM(fixture())
			got, err := newResolver(f, clocktest.New()).Resolve(context.Background(), tt.ref)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if got != tt.want || gotErr != tt.wantErr {
				t.Errorf("Resolve(%q) = %q, %q; want %q, %q", tt.ref, got, gotErr, tt.want, tt.wantErr)
			}
			var nf *secrets.NotFoundError
			if isNF := errors.As(err, &nf); isNF != (tt.notFound != "") || (isNF && nf.Name != tt.notFound) {
				t.Errorf("Resolve(%q) error %#v; want a NotFoundError named %q: %v", tt.ref, err, tt.notFound, isNF)
			}
			checkNoSecret(t, err)
			if calls := f.getCalls(); !slices.Equal(calls, []string{tt.wantGet}) {
				t.Errorf("GetSecretValue calls %q, want [%q]", calls, tt.wantGet)
			}
		})
	}
}

func TestResolveWithoutPrefix(t *testing.T) {
	f := newFakeSM(map[string]string{"LITELLM_MASTER_KEY": "sk-master"})
	r := awssecrets.New(f, awssecrets.WithClock(clocktest.New().Now))
	if got, err := r.Resolve(context.Background(), "LITELLM_MASTER_KEY"); got != "sk-master" || err != nil {
		t.Errorf("Resolve = %q, %v", got, err)
	}
	if calls := f.getCalls(); !slices.Equal(calls, []string{"LITELLM_MASTER_KEY"}) {
		t.Errorf("calls %q", calls)
	}
}

// One fetch serves every reference to a secret, whole or by field, for the TTL.
func TestResolveCachesForTTL(t *testing.T) {
	tests := []struct {
		name string
		opts []awssecrets.Option
		ttl  time.Duration
	}{
		{"default 5 min", nil, 5 * time.Minute},
		{"WithTTL 1 min", []awssecrets.Option{awssecrets.WithTTL(time.Minute)}, time.Minute},
	}
	if awssecrets.DefaultTTL != 5*time.Minute {
		t.Errorf("DefaultTTL = %v", awssecrets.DefaultTTL)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			f, clock := newFakeSM(fixture()), clocktest.New()
			r := newResolver(f, clock, tt.opts...)
			for i := range 10 {
				ref := []string{"JSON:api_key", "JSON", "JSON:port"}[i%3]
				if _, err := r.Resolve(ctx, ref); err != nil {
					t.Fatal(err)
				}
			}
			if calls := f.getCalls(); len(calls) != 1 {
				t.Fatalf("10 resolves made %d calls, want 1", len(calls))
			}
			f.set("gw/JSON", `{"api_key":"rotated"}`)
			clock.Advance(tt.ttl - time.Nanosecond)
			if got, _ := r.Resolve(ctx, "JSON:api_key"); got != "k-s3cr3t-123" {
				t.Errorf("within the TTL: %q, want the cached value", got)
			}
			clock.Advance(time.Nanosecond)
			// Stale-while-revalidate: the request after the TTL gets the cached value at once
			// and starts the refresh; the requests after it get the new value.
			if got, _ := r.Resolve(ctx, "JSON:api_key"); got != "k-s3cr3t-123" {
				t.Errorf("after the TTL: %q, want the cached value while it is refreshed", got)
			}
			r.WaitRefresh()
			if got, _ := r.Resolve(ctx, "JSON:api_key"); got != "rotated" {
				t.Errorf("after the refresh: %q, want the new value", got)
			}
			if got, _ := r.Resolve(ctx, "JSON:api_key"); got != "rotated" {
				t.Errorf("fresh again: %q", got)
			}
			if calls := f.getCalls(); len(calls) != 2 {
				t.Errorf("%d calls, want 2", len(calls))
			}
		})
	}
}

// A missing secret is remembered for 10 s only, so one created after a 503 is picked up soon.
func TestResolveMissingCachedBriefly(t *testing.T) {
	ctx := context.Background()
	f, clock := newFakeSM(fixture()), clocktest.New()
	r := newResolver(f, clock)
	var nf *secrets.NotFoundError
	for range 5 {
		if _, err := r.Resolve(ctx, "LATE"); !errors.As(err, &nf) || nf.Name != "gw/LATE" {
			t.Fatalf("Resolve(LATE) = %v, want not found", err)
		}
	}
	f.set("gw/LATE", "created-late")
	clock.Advance(10*time.Second - time.Nanosecond)
	if _, err := r.Resolve(ctx, "LATE:field"); !errors.As(err, &nf) || nf.Name != "gw/LATE" {
		t.Fatalf("within 10s: %v, want still not found", err)
	}
	if calls := f.getCalls(); len(calls) != 1 {
		t.Fatalf("%d calls within 10s, want 1", len(calls))
	}
	clock.Advance(time.Nanosecond)
	if got, err := r.Resolve(ctx, "LATE"); got != "created-late" || err != nil {
		t.Errorf("after 10s: %q, %v; want the new secret", got, err)
	}
	if calls := f.getCalls(); !slices.Equal(calls, []string{"gw/LATE", "gw/LATE"}) {
		t.Errorf("calls %q", calls)
	}
}

func TestInvalidate(t *testing.T) {
	ctx := context.Background()
	f, clock := newFakeSM(fixture()), clocktest.New()
	r := newResolver(f, clock)
	for _, ref := range []string{"JSON:api_key", "PLAIN"} {
		if _, err := r.Resolve(ctx, ref); err != nil {
			t.Fatal(err)
		}
	}
	f.set("gw/JSON", `{"api_key":"rotated"}`)
	f.set("gw/PLAIN", "rotated-plain")
	if got, _ := r.Resolve(ctx, "JSON:api_key"); got != "k-s3cr3t-123" {
		t.Fatalf("before Invalidate: %q, want the cached value", got)
	}
	r.Invalidate("JSON:api_key", "UNKNOWN") // by field reference; an unknown name is harmless
	if got, _ := r.Resolve(ctx, "JSON:api_key"); got != "rotated" {
		t.Errorf("after Invalidate: %q, want the rotated value", got)
	}
	if got, _ := r.Resolve(ctx, "PLAIN"); got != "s3cr3t-plain-value" {
		t.Errorf("a secret not invalidated: %q, want its cached value", got)
	}
	if calls := f.getCalls(); !slices.Equal(calls, []string{"gw/JSON", "gw/PLAIN", "gw/JSON"}) {
		t.Errorf("calls %q", calls)
	}
	r.Invalidate() // nothing
	r.Invalidate("PLAIN")
	if got, _ := r.Resolve(ctx, "PLAIN"); got != "rotated-plain" {
		t.Errorf("PLAIN after Invalidate: %q", got)
	}
}

// A missing secret that is invalidated is asked for again at once.
func TestInvalidateMissing(t *testing.T) {
	ctx := context.Background()
	f, clock := newFakeSM(fixture()), clocktest.New()
	r := newResolver(f, clock)
	if _, err := r.Resolve(ctx, "LATE"); err == nil {
		t.Fatal("want not found")
	}
	f.set("gw/LATE", "now-here")
	r.Invalidate("LATE")
	if got, err := r.Resolve(ctx, "LATE"); got != "now-here" || err != nil {
		t.Errorf("Resolve = %q, %v", got, err)
	}
}

// When Secrets Manager fails after a good fetch, the last value keeps working: no request waits
// for a refresh, a failed refresh is retried 10 s later (not on every request), the outage and
// its end are logged once, and the value is served for at most an hour past its TTL.
func TestStaleOnError(t *testing.T) {
	ctx := context.Background()
	f, clock := newFakeSM(fixture()), clocktest.New()
	var logs bytes.Buffer
	r := newResolver(f, clock, awssecrets.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))))
	if _, err := r.Resolve(ctx, "JSON"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(awssecrets.DefaultTTL)
	f.setGetErr(errors.New("api error ThrottlingException: Rate exceeded"))
	for range 3 {
		for _, ref := range []string{"JSON:api_key", "JSON:port"} {
			if got, err := r.Resolve(ctx, ref); err != nil || got != map[string]string{"JSON:api_key": "k-s3cr3t-123", "JSON:port": "8443"}[ref] {
				t.Errorf("Resolve(%q) during an outage = %q, %v; want the last value", ref, got, err)
			}
		}
		r.WaitRefresh()
	}
	if got := f.getCalls(); len(got) != 2 { // the first fetch and one refresh, not one per request
		t.Errorf("GetSecretValue calls during the outage: %q, want 2", got)
	}
	clock.Advance(10 * time.Second)
	r.Resolve(ctx, "JSON") //nolint:errcheck // starts the retry
	r.WaitRefresh()
	if got := f.getCalls(); len(got) != 3 {
		t.Errorf("GetSecretValue calls 10 s later: %d, want 3", len(got))
	}
	f.setGetErr(nil)
	f.set("gw/JSON", `{"api_key":"after"}`)
	if got, _ := r.Resolve(ctx, "JSON:api_key"); got != "k-s3cr3t-123" {
		t.Errorf("just after the outage: %q, want the stale value until the retry time", got)
	}
	r.WaitRefresh()
	clock.Advance(10 * time.Second) // during an outage the stale value is re-checked every 10 s
	r.Resolve(ctx, "JSON")          //nolint:errcheck // starts the refresh
	r.WaitRefresh()
	if got, _ := r.Resolve(ctx, "JSON:api_key"); got != "after" {
		t.Errorf("after the outage: %q, want the fresh value", got)
	}
	want := `level=ERROR msg="cannot refresh secrets: serving the cached values" error="read secret \"gw/JSON\": api error ThrottlingException: Rate exceeded"
level=INFO msg="secrets refreshed after an outage"
`
	if logs.String() != want {
		t.Errorf("logs:\n%s\nwant\n%s", logs.String(), want)
	}
}

// Past an hour beyond its TTL a value is no longer served: the request waits for Secrets
// Manager and gets its error.
func TestStaleValueExpiresAfterTheGrace(t *testing.T) {
	ctx := context.Background()
	f, clock := newFakeSM(fixture()), clocktest.New()
	r := newResolver(f, clock)
	if _, err := r.Resolve(ctx, "PLAIN"); err != nil {
		t.Fatal(err)
	}
	f.setGetErr(errors.New("api error ThrottlingException: Rate exceeded"))
	clock.Advance(awssecrets.DefaultTTL + time.Hour - time.Nanosecond)
	if got, err := r.Resolve(ctx, "PLAIN"); got != "s3cr3t-plain-value" || err != nil {
		t.Errorf("within the grace: %q, %v", got, err)
	}
	r.WaitRefresh()
	clock.Advance(time.Nanosecond)
	got, err := r.Resolve(ctx, "PLAIN")
	if want := `read secret "gw/PLAIN": api error ThrottlingException: Rate exceeded`; got != "" || err == nil || err.Error() != want {
		t.Errorf("past the grace: %q, %v; want the error %q", got, err, want)
	}
}

// A refresh that hangs never holds a request: every request during it gets the cached value at
// once, one refresh is in flight, and it ends at the timeout.
func TestHangingRefreshDoesNotHoldRequests(t *testing.T) {
	ctx := context.Background()
	f, clock := newFakeSM(fixture()), clocktest.New()
	gate := make(chan struct{}) // never released: Secrets Manager accepts and never answers
	r := newResolver(f, clock, awssecrets.WithTimeout(50*time.Millisecond))
	if _, err := r.Resolve(ctx, "PLAIN"); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.gate, f.entered = gate, make(chan struct{}, 100)
	f.mu.Unlock()
	clock.Advance(awssecrets.DefaultTTL)
	start := time.Now()
	for range 100 {
		if got, err := r.Resolve(ctx, "PLAIN"); got != "s3cr3t-plain-value" || err != nil {
			t.Fatalf("during a hanging refresh: %q, %v", got, err)
		}
		r.Prefetch(ctx, []string{"PLAIN"})
	}
	if took := time.Since(start); took > time.Second { // generous: 200 cache reads
		t.Errorf("100 requests during a hanging refresh took %v", took)
	}
	r.WaitRefresh()
	if took := time.Since(start); took < 50*time.Millisecond || took > 3*time.Second {
		t.Errorf("the hanging refresh ended after %v, want about the 50 ms timeout", took)
	}
	if got := f.getCalls(); len(got) != 2 {
		t.Errorf("GetSecretValue calls %q, want the first fetch and one refresh", got)
	}
}

// With nothing cached and Secrets Manager hanging, a route's request waits out one timeout, not
// one per secret: the batch's timeout is remembered for a second, so the single reads after it
// fail at once, with an error that names the secrets and no value.
func TestColdHangCostsOneTimeout(t *testing.T) {
	ctx := context.Background()
	f, clock := newFakeSM(fixture()), clocktest.New()
	f.gate = make(chan struct{}) // never released
	r := newResolver(f, clock, awssecrets.WithTimeout(100*time.Millisecond))
	refs := []string{"PLAIN", "JSON:api_key", "OTHER"}
	start := time.Now()
	r.Prefetch(ctx, refs)
	for _, ref := range refs {
		_, err := r.Resolve(ctx, ref)
		if want := `read secrets ["gw/PLAIN" "gw/JSON" "gw/OTHER"]: context deadline exceeded`; err == nil || err.Error() != want {
			t.Errorf("Resolve(%s) = %v, want %q", ref, err, want)
		}
	}
	if took := time.Since(start); took < 100*time.Millisecond || took > 2*time.Second { // generous bounds
		t.Errorf("a cold route during a hang took %v, want about one 100 ms timeout", took)
	}
	if gets := f.getCalls(); len(gets) != 0 {
		t.Errorf("GetSecretValue calls %q after the batch timed out, want none", gets)
	}
	// A second later the secrets are asked for again.
	clock.Advance(time.Second)
	f.mu.Lock()
	f.gate = nil
	f.mu.Unlock()
	if got, err := r.Resolve(ctx, "PLAIN"); got != "s3cr3t-plain-value" || err != nil {
		t.Errorf("after a second: %q, %v", got, err)
	}
}

// A refresh frozen with the sandbox (it resumes long after its deadline) is not an outage:
// nothing is logged and the next request refreshes again.
func TestFrozenRefreshIsHarmless(t *testing.T) {
	ctx := context.Background()
	f, clock := newFakeSM(fixture()), clocktest.New()
	var logs bytes.Buffer
	r := newResolver(f, clock, awssecrets.WithTimeout(20*time.Millisecond), awssecrets.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if _, err := r.Resolve(ctx, "PLAIN"); err != nil {
		t.Fatal(err)
	}
	f.set("gw/PLAIN", "rotated")
	f.mu.Lock()
	f.freeze = 100 * time.Millisecond
	f.mu.Unlock()
	clock.Advance(awssecrets.DefaultTTL)
	if got, _ := r.Resolve(ctx, "PLAIN"); got != "s3cr3t-plain-value" {
		t.Fatalf("after the TTL: %q, want the cached value", got)
	}
	r.WaitRefresh()
	f.mu.Lock()
	f.freeze = 0
	f.mu.Unlock()
	r.Resolve(ctx, "PLAIN") //nolint:errcheck // no 10 s back-off: refreshes again at once
	r.WaitRefresh()
	if got, _ := r.Resolve(ctx, "PLAIN"); got != "rotated" {
		t.Errorf("after the thaw: %q, want the new value", got)
	}
	if logs.Len() != 0 {
		t.Errorf("a frozen refresh was logged: %s", logs.String())
	}
}

// With nothing cached an error is an error, never a value, and never shows a secret.
func TestErrorWithNothingCached(t *testing.T) {
	ctx := context.Background()
	apiErr := errors.New("api error AccessDeniedException: not authorized")
	tests := []struct {
		name  string
		setup func(*awssecrets.Resolver, *fakeSM)
	}{
		{"never fetched", func(*awssecrets.Resolver, *fakeSM) {}},
		{"invalidated after a 401", func(r *awssecrets.Resolver, f *fakeSM) {
			if _, err := r.Resolve(ctx, "JSON:api_key"); err != nil {
				t.Fatal(err)
			}
			r.Invalidate("JSON")
		}},
		{"known missing, then expired", func(r *awssecrets.Resolver, f *fakeSM) {
			f.mu.Lock()
			delete(f.secrets, "gw/JSON")
			f.mu.Unlock()
			if _, err := r.Resolve(ctx, "JSON"); err == nil {
				t.Fatal("want not found")
			}
			f.set("gw/JSON", stored["gw/JSON"])
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, clock := newFakeSM(fixture()), clocktest.New()
			r := newResolver(f, clock)
			tt.setup(r, f)
			clock.Advance(time.Minute)
			f.setGetErr(apiErr)
			got, err := r.Resolve(ctx, "JSON:api_key")
			const want = `read secret "gw/JSON": api error AccessDeniedException: not authorized`
			if got != "" || err == nil || err.Error() != want || !errors.Is(err, apiErr) {
				t.Errorf("Resolve = %q, %v; want \"\", %q", got, err, want)
			}
			var nf *secrets.NotFoundError
			if errors.As(err, &nf) {
				t.Errorf("an API failure reported as a missing secret: %v", err)
			}
			checkNoSecret(t, err)
		})
	}
}

func TestPrefetch(t *testing.T) {
	ctx := context.Background()
	secretsByID := fixture()
	var refs []string
	for i := range 45 {
		id := fmt.Sprintf("K%02d", i)
		secretsByID["gw/"+id] = "value-" + id
		refs = append(refs, id, id+":field") // every name twice
	}
	refs = append(refs, "GONE1", "PLAIN", "GONE2:x")
	f, clock := newFakeSM(secretsByID), clocktest.New()
	r := newResolver(f, clock)
	// Three are fresh already: Prefetch skips them.
	for _, ref := range []string{"K00", "K07", "PLAIN"} {
		if _, err := r.Resolve(ctx, ref); err != nil {
			t.Fatal(err)
		}
	}
	r.Prefetch(ctx, refs)
	var want []string
	for i := range 45 {
		if i != 0 && i != 7 {
			want = append(want, fmt.Sprintf("gw/K%02d", i))
		}
	}
	want = append(want, "gw/GONE1", "gw/GONE2")
	wantBatches := [][]string{want[:20], want[20:40], want[40:]}
	if !reflect.DeepEqual(f.batches, wantBatches) {
		t.Fatalf("BatchGetSecretValue calls =\n%q\nwant\n%q", f.batches, wantBatches)
	}
	// Every reference now resolves from the cache, missing ones included.
	gets := len(f.getCalls())
	for i := range 45 {
		id := fmt.Sprintf("K%02d", i)
		if got, err := r.Resolve(ctx, id); got != "value-"+id || err != nil {
			t.Errorf("Resolve(%s) = %q, %v", id, got, err)
		}
	}
	var nf *secrets.NotFoundError
	for _, ref := range []string{"GONE1", "GONE2:x"} {
		if _, err := r.Resolve(ctx, ref); !errors.As(err, &nf) || nf.Name != "gw/"+strings.Split(ref, ":")[0] {
			t.Errorf("Resolve(%s) = %v, want not found", ref, err)
		}
	}
	if n := len(f.getCalls()) - gets; n != 0 {
		t.Errorf("resolves after Prefetch made %d GetSecretValue calls, want 0", n)
	}
	// All fresh: a second Prefetch makes no call.
	r.Prefetch(ctx, refs)
	if len(f.batches) != 3 {
		t.Errorf("a Prefetch of fresh secrets made %d more batch calls", len(f.batches)-3)
	}
	// After 10 s only the missing ones are stale.
	clock.Advance(10 * time.Second)
	r.Prefetch(ctx, refs)
	if got := f.batches[3:]; !reflect.DeepEqual(got, [][]string{{"gw/GONE1", "gw/GONE2"}}) {
		t.Errorf("after 10s: batches %q, want the missing ones", got)
	}
}

func TestPrefetchNothing(t *testing.T) {
	f := newFakeSM(fixture())
	r := newResolver(f, clocktest.New())
	r.Prefetch(context.Background(), nil)
	if len(f.batches) != 0 {
		t.Errorf("%d batch calls for no refs", len(f.batches))
	}
}

// Prefetch leaves errors to Resolve: after a failed batch, or a per-secret error other than
// not-found, Resolve fetches the secret on its own.
func TestPrefetchErrorsLeftToResolve(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		setup    func(*fakeSM)
		wantGets []string
	}{
		{"batch call fails", func(f *fakeSM) { f.batchErr = errors.New("api error ThrottlingException") }, []string{"gw/PLAIN", "gw/JSON"}},
		{"one secret denied", func(f *fakeSM) { f.batchCode["gw/JSON"] = "AccessDeniedException" }, []string{"gw/JSON"}},
		{"one secret undecryptable", func(f *fakeSM) { f.batchCode["gw/PLAIN"] = "DecryptionFailure" }, []string{"gw/PLAIN"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSM(fixture())
			tt.setup(f)
			r := newResolver(f, clocktest.New())
			r.Prefetch(ctx, []string{"PLAIN", "JSON:api_key"})
			if got, err := r.Resolve(ctx, "PLAIN"); got != "s3cr3t-plain-value" || err != nil {
				t.Errorf("PLAIN = %q, %v", got, err)
			}
			if got, err := r.Resolve(ctx, "JSON:api_key"); got != "k-s3cr3t-123" || err != nil {
				t.Errorf("JSON:api_key = %q, %v", got, err)
			}
			if calls := f.getCalls(); !slices.Equal(calls, tt.wantGets) {
				t.Errorf("GetSecretValue calls %q, want %q", calls, tt.wantGets)
			}
		})
	}
}

// Twenty concurrent misses for one secret make one call, and all get its value.
func TestConcurrentMissesMakeOneCall(t *testing.T) {
	f := newFakeSM(fixture())
	gate := make(chan struct{})
	f.gate, f.entered = gate, make(chan struct{}, 100)
	release := sync.OnceFunc(func() { close(gate) })
	t.Cleanup(release) // a failed test leaves no goroutine parked
	r := newResolver(f, clocktest.New())
	const n = 20
	type result struct {
		v   string
		err error
	}
	results := make(chan result, n)
	for range n {
		go func() {
			v, err := r.Resolve(context.Background(), "JSON:api_key")
			results <- result{v, err}
		}()
	}
	select {
	case <-f.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("no goroutine called GetSecretValue")
	}
	waitForFollowers(t, n-1)
	release()
	for range n {
		res := <-results
		if res.v != "k-s3cr3t-123" || res.err != nil {
			t.Errorf("Resolve = %q, %v", res.v, res.err)
		}
	}
	if calls := f.getCalls(); len(calls) != 1 {
		t.Errorf("%d concurrent misses made %d GetSecretValue calls, want 1", n, len(calls))
	}
}

// Concurrent misses for a missing secret make one call too, and all get not found.
func TestConcurrentMissesForAMissingSecret(t *testing.T) {
	f := newFakeSM(fixture())
	gate := make(chan struct{})
	f.gate, f.entered = gate, make(chan struct{}, 100)
	release := sync.OnceFunc(func() { close(gate) })
	t.Cleanup(release) // a failed test leaves no goroutine parked
	r := newResolver(f, clocktest.New())
	const n = 20
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := r.Resolve(context.Background(), "NOPE")
			errs <- err
		}()
	}
	<-f.entered
	waitForFollowers(t, n-1)
	release()
	for range n {
		var nf *secrets.NotFoundError
		if err := <-errs; !errors.As(err, &nf) || nf.Name != "gw/NOPE" {
			t.Errorf("Resolve = %v, want not found", err)
		}
	}
	if calls := f.getCalls(); len(calls) != 1 {
		t.Errorf("%d calls, want 1", len(calls))
	}
}

// A wrong provider key answers 401 on every call: Invalidate drops a secret at most once per
// 10 s, so that costs one Secrets Manager call per 10 s, not one per request.
func TestInvalidateIsRateLimited(t *testing.T) {
	ctx := context.Background()
	f, clock := newFakeSM(fixture()), clocktest.New()
	r := newResolver(f, clock)
	resolve := func() {
		if _, err := r.Resolve(ctx, "JSON"); err != nil {
			t.Fatal(err)
		}
	}
	resolve()
	if !r.Invalidate("JSON") {
		t.Fatal("the first Invalidate dropped nothing")
	}
	resolve()
	for range 5 {
		if r.Invalidate("JSON") {
			t.Fatal("Invalidate dropped the secret again within 10 s")
		}
		resolve()
	}
	if n := len(f.getCalls()); n != 2 {
		t.Errorf("GetSecretValue calls = %d, want 2 (the first fetch and one refetch)", n)
	}
	clock.Advance(10 * time.Second)
	if !r.Invalidate("JSON") {
		t.Error("Invalidate refused after 10 s")
	}
}

// Concurrent requests for one route's secrets share one batch call.
func TestConcurrentPrefetchSharesOneBatch(t *testing.T) {
	f := newFakeSM(fixture())
	r := newResolver(f, clocktest.New())
	f.mu.Lock()
	f.batchErr = nil
	f.mu.Unlock()
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r.Prefetch(context.Background(), []string{"JSON:api_key", "PLAIN"})
		}()
	}
	close(start)
	wg.Wait()
	f.mu.Lock()
	batches := len(f.batches)
	f.mu.Unlock()
	// Goroutines that arrive after the first batch returns find the cache fresh and make none.
	if batches != 1 {
		t.Errorf("BatchGetSecretValue calls = %d for 30 concurrent prefetches, want 1", batches)
	}
}

// WaitBackground waits for a refresh in flight, but no longer than its context allows.
func TestWaitBackground(t *testing.T) {
	ctx := context.Background()
	f, clock := newFakeSM(fixture()), clocktest.New()
	gate := make(chan struct{})
	r := newResolver(f, clock, awssecrets.WithTimeout(5*time.Second))
	if _, err := r.Resolve(ctx, "PLAIN"); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.gate, f.entered = gate, make(chan struct{}, 100)
	f.mu.Unlock()
	clock.Advance(awssecrets.DefaultTTL)
	if _, err := r.Resolve(ctx, "PLAIN"); err != nil { // stale: starts the refresh, held at the gate
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	r.WaitBackground(short)
	if took := time.Since(start); took < 40*time.Millisecond || took > 2*time.Second {
		t.Errorf("WaitBackground returned after %v, want its context's 50 ms", took)
	}
	time.AfterFunc(20*time.Millisecond, func() { close(gate) })
	r.WaitBackground(ctx)
	if got := f.getCalls(); len(got) != 2 {
		t.Errorf("GetSecretValue calls %q, want the first fetch and the finished refresh", got)
	}
}

// A secret whose read timed out is remembered as that error for a moment (coldRetry). A caller
// whose shared read finds that entry already settled gets the error, never an empty value with
// no error (which would send an empty credential upstream). The clock makes the interleaving
// happen: the caller's first look sees the entry expired, the shared read's look sees it fresh.
func TestSettledTimeoutIsNeverAnEmptySecret(t *testing.T) {
	f := newFakeSM(map[string]string{"k": "v"})
	f.gate = make(chan struct{}) // GetSecretValue holds until its context ends
	f.entered = make(chan struct{}, 10)
	t0 := time.Now()
	var armed, calls atomic.Int32
	clock := func() time.Time {
		if armed.Load() == 1 && calls.Add(1) == 1 {
			return t0.Add(5 * time.Second)
		}
		return t0
	}
	r := awssecrets.New(f, awssecrets.WithTimeout(30*time.Millisecond), awssecrets.WithClock(clock))
	if _, err := r.Resolve(context.Background(), "k"); err == nil {
		t.Fatal("the first read should time out")
	}
	close(f.gate)
	armed.Store(1)
	if v, err := r.Resolve(context.Background(), "k"); err == nil || v != "" {
		t.Errorf("Resolve = %q, %v; want the remembered timeout", v, err)
	}
}

// unsettledCases are the ways a BatchGetSecretValue answer can fail to give a usable value for
// gw/JSON: an empty value, a binary-only one (both missing, as GetSecretValue's are), or no
// word about it at all (read again on its own). notFound says Resolve must report the secret
// missing; else it gets value; gets is the GetSecretValue calls that takes.
var unsettledCases = []struct {
	name     string
	change   func(*fakeSM)
	notFound bool
	value    string
	gets     []string
}{
	{"empty value", func(f *fakeSM) { f.set("gw/JSON", "") }, true, "", nil},
	{"binary only", func(f *fakeSM) { f.setBinary("gw/JSON", []byte{0xde, 0xad}) }, true, "", nil},
	{"left out of the answer", func(f *fakeSM) {
		f.omit["gw/JSON"] = true
		f.set("gw/JSON", `{"api_key":"rotated"}`)
	}, false, "rotated", []string{"gw/JSON"}},
	{"left out of the answer, and gone", func(f *fakeSM) {
		f.omit["gw/JSON"] = true
		delete(f.secrets, "gw/JSON")
	}, true, "", []string{"gw/JSON"}},
}

// checkJSONKey fails t unless JSON:api_key resolves as the case says.
func checkJSONKey(t *testing.T, r *awssecrets.Resolver, notFound bool, value string) {
	t.Helper()
	got, err := r.Resolve(context.Background(), "JSON:api_key")
	var nf *secrets.NotFoundError
	switch {
	case notFound && (got != "" || !errors.As(err, &nf) || nf.Name != "gw/JSON"):
		t.Errorf("JSON:api_key = %q, %v; want not found", got, err)
	case !notFound && (got != value || err != nil):
		t.Errorf("JSON:api_key = %q, %v; want %q", got, err, value)
	}
}

// A background refresh settles every secret of its batch: one the answer gives no usable value
// for is missing (empty, binary-only) or read on its own (left out), never served stale with the
// refresh counted a success, and the requests after it start no further batch.
func TestRefreshSettlesEveryBatchedSecret(t *testing.T) {
	ctx := context.Background()
	refs := []string{"PLAIN", "JSON:api_key"}
	for _, tt := range unsettledCases {
		t.Run(tt.name, func(t *testing.T) {
			f, clock := newFakeSM(fixture()), clocktest.New()
			r := newResolver(f, clock)
			r.Prefetch(ctx, refs)
			clock.Advance(awssecrets.DefaultTTL)
			tt.change(f)          // no call in flight
			r.Prefetch(ctx, refs) // both stale: one background batch
			r.WaitRefresh()
			checkJSONKey(t, r, tt.notFound, tt.value)
			if got, err := r.Resolve(ctx, "PLAIN"); got != "s3cr3t-plain-value" || err != nil {
				t.Errorf("PLAIN = %q, %v", got, err)
			}
			for range 3 {
				r.Prefetch(ctx, refs)
				r.WaitRefresh()
			}
			if want := [][]string{{"gw/PLAIN", "gw/JSON"}, {"gw/PLAIN", "gw/JSON"}}; !reflect.DeepEqual(f.batches, want) {
				t.Errorf("BatchGetSecretValue calls %q, want %q", f.batches, want)
			}
			if got := f.getCalls(); !slices.Equal(got, tt.gets) {
				t.Errorf("GetSecretValue calls %q, want %q", got, tt.gets)
			}
		})
	}
}

// A cold Prefetch settles its batch the same way: an empty or binary-only value is missing at
// once, with no second read; a secret left out of the answer is read on its own.
func TestPrefetchSettlesEveryBatchedSecret(t *testing.T) {
	ctx := context.Background()
	for _, tt := range unsettledCases {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSM(fixture())
			tt.change(f)
			r := newResolver(f, clocktest.New())
			r.Prefetch(ctx, []string{"PLAIN", "JSON:api_key"})
			checkJSONKey(t, r, tt.notFound, tt.value)
			checkJSONKey(t, r, tt.notFound, tt.value) // from the cache
			if got := f.getCalls(); !slices.Equal(got, tt.gets) {
				t.Errorf("GetSecretValue calls %q, want %q", got, tt.gets)
			}
		})
	}
}
