package ssmroutes_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/passthru/gateway/shared/clocktest"
	"github.com/passthru/gateway/shared/route"
	"github.com/passthru/gateway/shared/ssmroutes"
)

var throttled = &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}

const (
	loadedAB       = `level=INFO msg="route table loaded" prefix=/gw routes=2 versions="map[/gw/routes/a:1 /gw/routes/b:1 /gw/settings:1]"`
	reloadFailed   = `level=ERROR msg="cannot reload routes: serving the last good table" prefix=/gw error="list parameters under /gw: api error ThrottlingException: Rate exceeded"`
	coldFailed     = `level=ERROR msg="cannot load routes: answering 503 until SSM can be read" prefix=/gw error="list parameters under /gw: api error ThrottlingException: Rate exceeded"`
	afterAnOutage  = `level=INFO msg="route table reloaded after an outage" prefix=/gw`
	settingsMK     = `{"master_key":"os.environ/MK","pass_through_request_timeout":60}`
	waitForResults = 10 * time.Second // bound on waiting for goroutines, never an assertion
)

// stack is a fake SSM holding settings and routes /a and /b, and a source over it.
type stack struct {
	api   *fakeSSM
	clock *clocktest.Manual
	logs  *logBuffer
	src   *ssmroutes.Source
}

func newStack(t *testing.T, opts ...ssmroutes.Option) *stack {
	t.Helper()
	s := &stack{api: newFakeSSM(), clock: clocktest.New()}
	s.api.set("/gw/settings", settingsMK)
	s.api.set("/gw/routes/a", spec("/a", "https://a.example"))
	s.api.set("/gw/routes/b", spec("/b", "https://b.example"))
	log, logs := newLogger()
	s.logs = logs
	s.src = ssmroutes.New(s.api, "gw/", append([]ssmroutes.Option{ssmroutes.WithClock(s.clock.Now), ssmroutes.WithLogger(log)}, opts...)...)
	return s
}

// table is the table a request sees once any refresh the previous one started has finished:
// it calls Table, waits for the background reload, and calls Table again. It fails t on an error.
func (s *stack) table(t *testing.T) *route.Table {
	t.Helper()
	if _, err := s.src.Table(context.Background()); err != nil {
		t.Fatalf("Table: %v", err)
	}
	s.src.WaitRefresh()
	tbl, err := s.src.Table(context.Background())
	if err != nil {
		t.Fatalf("Table: %v", err)
	}
	if tbl == nil {
		t.Fatal("Table returned nil without an error")
	}
	return tbl
}

// targetOf is the target the table sends path to, "" when no route serves it.
func targetOf(tbl *route.Table, path string) string {
	m := tbl.Lookup("GET", path)
	if m.Route == nil {
		return ""
	}
	return m.Route.Target().String()
}

func (s *stack) wantCalls(t *testing.T, want int) {
	t.Helper()
	s.src.WaitRefresh()
	if got := s.api.calls(); got != want {
		t.Errorf("GetParametersByPath calls = %d, want %d", got, want)
	}
}

func TestSourceFirstCallLoads(t *testing.T) {
	s := newStack(t, ssmroutes.WithTTL(5*time.Second))
	s.wantCalls(t, 0) // New makes no call
	tbl := s.table(t)
	s.wantCalls(t, 1)
	if got := targetOf(tbl, "/a"); got != "https://a.example" {
		t.Errorf("/a → %q", got)
	}
	if got := targetOf(tbl, "/b"); got != "https://b.example" {
		t.Errorf("/b → %q", got)
	}
	if got := targetOf(tbl, "/c"); got != "" {
		t.Errorf("/c → %q, want no route", got)
	}
	if tbl.MasterKey != "os.environ/MK" {
		t.Errorf("MasterKey = %q", tbl.MasterKey)
	}
	if r := tbl.Lookup("GET", "/a").Route; r == nil || r.Timeout != 60*time.Second {
		t.Errorf("/a timeout = %v, want the settings' 60s", r)
	}
	checkLines(t, s.logs, loadedAB)
}

func TestSourceTTL(t *testing.T) {
	tests := []struct {
		name string
		opts []ssmroutes.Option
		ttl  time.Duration
	}{
		{"default 30s", nil, 30 * time.Second},
		{"WithTTL 5s", []ssmroutes.Option{ssmroutes.WithTTL(5 * time.Second)}, 5 * time.Second},
		{"WithTTL 2m", []ssmroutes.Option{ssmroutes.WithTTL(2 * time.Minute)}, 2 * time.Minute},
	}
	if ssmroutes.DefaultTTL != 30*time.Second {
		t.Errorf("DefaultTTL = %v, want 30s", ssmroutes.DefaultTTL)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, tt.opts...)
			first := s.table(t)
			s.clock.Advance(tt.ttl - time.Nanosecond)
			for range 10 {
				if s.table(t) != first {
					t.Fatal("a new table within the TTL")
				}
			}
			s.wantCalls(t, 1)
			s.clock.Advance(time.Nanosecond) // the TTL is up
			s.table(t)
			s.wantCalls(t, 2)
			s.table(t) // fresh again
			s.wantCalls(t, 2)
			s.clock.Advance(tt.ttl)
			s.table(t)
			s.wantCalls(t, 3)
			// Unchanged versions: "route table loaded" is logged once.
			checkLines(t, s.logs, loadedAB)
		})
	}
}

func TestSourceChangeTakesEffectAfterTTL(t *testing.T) {
	s := newStack(t, ssmroutes.WithTTL(10*time.Second))
	s.table(t)
	s.api.set("/gw/routes/a", spec("/a", "https://a-v2.example"))

	s.clock.Advance(9 * time.Second)
	if got := targetOf(s.table(t), "/a"); got != "https://a.example" {
		t.Errorf("within the TTL /a → %q, want the old target", got)
	}
	s.clock.Advance(time.Second)
	if got := targetOf(s.table(t), "/a"); got != "https://a-v2.example" {
		t.Errorf("after the TTL /a → %q, want the new target", got)
	}

	// A new route, then a deleted one.
	s.api.set("/gw/routes/c", spec("/c", "https://c.example"))
	s.clock.Advance(10 * time.Second)
	if got := targetOf(s.table(t), "/c"); got != "https://c.example" {
		t.Errorf("/c → %q", got)
	}
	s.api.remove("/gw/routes/b")
	s.clock.Advance(10 * time.Second)
	if got := targetOf(s.table(t), "/b"); got != "" {
		t.Errorf("deleted /b → %q", got)
	}
	s.clock.Advance(10 * time.Second)
	s.table(t) // nothing changed: nothing logged
	s.wantCalls(t, 5)
	checkLines(t, s.logs,
		loadedAB,
		`level=INFO msg="route table loaded" prefix=/gw routes=2 versions="map[/gw/routes/a:2 /gw/routes/b:1 /gw/settings:1]"`,
		`level=INFO msg="route table loaded" prefix=/gw routes=3 versions="map[/gw/routes/a:2 /gw/routes/b:1 /gw/routes/c:1 /gw/settings:1]"`,
		`level=INFO msg="route table loaded" prefix=/gw routes=2 versions="map[/gw/routes/a:2 /gw/routes/c:1 /gw/settings:1]"`,
	)
}

// An SSM outage after a good load: the last good table keeps serving, SSM is asked once per
// TTL (not per request), and the incident is logged once, its end once.
func TestSourceOutageServesLastGoodTable(t *testing.T) {
	s := newStack(t, ssmroutes.WithTTL(10*time.Second))
	good := s.table(t)
	s.api.setErr(throttled)
	for ttl := range 3 {
		s.clock.Advance(10 * time.Second)
		for range 50 {
			tbl, err := s.src.Table(context.Background())
			if err != nil || tbl != good {
				t.Fatalf("outage, TTL %d: Table = %p, %v; want the last good table %p", ttl, tbl, err, good)
			}
		}
		s.wantCalls(t, 2+ttl)
	}
	checkLines(t, s.logs, loadedAB, reloadFailed)

	s.api.setErr(nil)
	s.clock.Advance(10 * time.Second)
	if got := s.table(t); got == good {
		t.Error("after the outage the table was not reloaded")
	}
	s.wantCalls(t, 5)
	// Same versions as before the outage: no second "route table loaded".
	checkLines(t, s.logs, loadedAB, reloadFailed, afterAnOutage)

	// A second outage is a second incident.
	s.api.setErr(throttled)
	s.clock.Advance(10 * time.Second)
	s.table(t)
	checkLines(t, s.logs, loadedAB, reloadFailed, afterAnOutage, reloadFailed)
}

// An outage on a later page fails the whole reload: half a table is never served.
func TestSourceOutageOnALaterPage(t *testing.T) {
	s := newStack(t, ssmroutes.WithTTL(10*time.Second))
	s.api.pageSize = 2
	good := s.table(t)
	s.wantCalls(t, 2)
	s.api.set("/gw/routes/a", spec("/a", "https://a-v2.example"))
	s.api.mu.Lock()
	s.api.errOnToken, s.api.errPage = "2", throttled
	s.api.mu.Unlock()
	s.clock.Advance(10 * time.Second)
	if got := s.table(t); got != good {
		t.Error("a partly read table replaced the last good one")
	}
	s.wantCalls(t, 4)
	checkLines(t, s.logs, loadedAB, reloadFailed)
}

// A cold start that cannot read SSM answers ErrNoRoutes, retries at most once a second, and
// logs the incident once.
func TestSourceColdStartOutage(t *testing.T) {
	s := newStack(t)
	s.api.setErr(throttled)
	const wantErr = "no route table loaded yet: list parameters under /gw: api error ThrottlingException: Rate exceeded"
	check := func(step string, wantCalls int) {
		t.Helper()
		tbl, err := s.src.Table(context.Background())
		if tbl != nil || !errors.Is(err, ssmroutes.ErrNoRoutes) || err.Error() != wantErr {
			t.Errorf("%s: Table = %v, %v; want nil, %q", step, tbl, err, wantErr)
		}
		s.wantCalls(t, wantCalls)
	}
	check("first request", 1)
	for range 20 {
		check("within a second", 1)
	}
	s.clock.Advance(999 * time.Millisecond)
	check("after 999ms", 1)
	s.clock.Advance(time.Millisecond)
	check("after 1s", 2)
	check("right after the retry", 2)
	s.clock.Advance(time.Second)
	check("after 2s", 3)
	checkLines(t, s.logs, coldFailed)

	s.api.setErr(nil)
	s.clock.Advance(time.Second)
	tbl := s.table(t)
	if got := targetOf(tbl, "/a"); got != "https://a.example" {
		t.Errorf("/a → %q", got)
	}
	s.wantCalls(t, 4)
	checkLines(t, s.logs, coldFailed, afterAnOutage, loadedAB)
}

// An invalid parameter is logged once per version, not on every reload; a parameter whose
// new version is invalid keeps serving its last good version.
func TestSourceInvalidParameterLoggedOncePerVersion(t *testing.T) {
	s := newStack(t, ssmroutes.WithTTL(10*time.Second))
	s.api.set("/gw/routes/c", `{"path":"/c"}`)
	reload := func(n int) *route.Table {
		var tbl *route.Table
		for range n {
			s.clock.Advance(10 * time.Second)
			tbl = s.table(t)
		}
		return tbl
	}
	tbl := s.table(t)
	if targetOf(tbl, "/a") == "" || targetOf(tbl, "/c") != "" {
		t.Errorf("/a → %q, /c → %q; want /a served, /c not", targetOf(tbl, "/a"), targetOf(tbl, "/c"))
	}
	if m := tbl.Lookup("GET", "/c"); !m.Invalid || tbl.Lookup("GET", "/d").Invalid {
		t.Errorf("/c: %+v, want it reported invalid (and /d not)", m)
	}
	reload(3)
	rejectedC1 := `level=ERROR msg="route rejected: its spec is invalid, the other routes are served" parameter=/gw/routes/c version=1 reason="pass_through_endpoints[0] (/c): target: is required"`
	checkLines(t, s.logs, rejectedC1, loadedAB)

	s.api.set("/gw/routes/c", `{"path":"c","target":"https://c.example"}`) // version 2, still bad
	reload(3)
	rejectedC2 := `level=ERROR msg="route rejected: its spec is invalid, the other routes are served" parameter=/gw/routes/c version=2 reason="pass_through_endpoints[0] (c): path: \"c\" must start with /"`
	checkLines(t, s.logs, rejectedC1, loadedAB, rejectedC2)

	s.api.set("/gw/routes/c", spec("/c", "https://c.example")) // version 3, good
	if got := targetOf(reload(1), "/c"); got != "https://c.example" {
		t.Errorf("fixed /c → %q", got)
	}
	loadedC3 := `level=INFO msg="route table loaded" prefix=/gw routes=3 versions="map[/gw/routes/a:1 /gw/routes/b:1 /gw/routes/c:3 /gw/settings:1]"`
	checkLines(t, s.logs, rejectedC1, loadedAB, rejectedC2, loadedC3)

	s.api.set("/gw/routes/a", `{"path":"/a","target":"https://a-v2.example","timeout":-5}`) // version 2, bad
	tbl = reload(3)
	if got := targetOf(tbl, "/a"); got != "https://a.example" {
		t.Errorf("/a with a bad new version → %q, want the last good target", got)
	}
	keptA2 := `level=ERROR msg="invalid spec: the last good version keeps serving" parameter=/gw/routes/a version=2 reason="pass_through_endpoints[0] (/a): timeout: must be a number of seconds between 0 and 86400, found -5 (line 1)"`
	// The versions in use did not change (a is served at version 1): no "route table loaded".
	checkLines(t, s.logs, rejectedC1, loadedAB, rejectedC2, loadedC3, keptA2)
}

// Invalid settings at cold start are reported once and do not make later, unchanged reloads
// look like a new table.
func TestSourceInvalidSettingsLoggedOnce(t *testing.T) {
	s := newStack(t, ssmroutes.WithTTL(10*time.Second))
	s.api.set("/gw/settings", `{"pass_through_request_timeout":"soon"}`) // version 2
	s.table(t)
	for range 3 {
		s.clock.Advance(10 * time.Second)
		s.table(t)
	}
	checkLines(t, s.logs,
		`level=ERROR msg="route rejected: its spec is invalid, the other routes are served" parameter=/gw/settings version=2 reason="invalid settings: json: cannot unmarshal string into Go struct field Settings.pass_through_request_timeout of type float64"`,
		`level=INFO msg="route table loaded" prefix=/gw routes=2 versions="map[/gw/routes/a:1 /gw/routes/b:1]"`,
	)
}

// A route dropped for a collision, served again once the other route goes, and dropped again
// when it comes back, is reported each time it is dropped: a route never disappears silently.
func TestSourceRouteDroppedAgainIsLoggedAgain(t *testing.T) {
	s := newStack(t, ssmroutes.WithTTL(10*time.Second))
	s.api.set("/gw/routes/c", spec("/a", "https://c.example")) // collides with a
	s.table(t)
	s.api.remove("/gw/routes/a")
	s.clock.Advance(10 * time.Second)
	if got := targetOf(s.table(t), "/a"); got != "https://c.example" {
		t.Fatalf("/a → %q, want c's target once a is gone", got)
	}
	s.api.set("/gw/routes/a", spec("/a", "https://a.example")) // recreated: version 1 again
	s.clock.Advance(10 * time.Second)
	if got := targetOf(s.table(t), "/a"); got != "https://a.example" {
		t.Fatalf("/a → %q, want a's target", got)
	}
	dropped := `level=ERROR msg="route rejected: it claims a path another route serves, the other routes are served" parameter=/gw/routes/c version=1 reason="GET /a is already served by /gw/routes/a"`
	checkLines(t, s.logs,
		dropped,
		`level=INFO msg="route table loaded" prefix=/gw routes=2 versions="map[/gw/routes/a:1 /gw/routes/b:1 /gw/settings:1]"`,
		`level=INFO msg="route table loaded" prefix=/gw routes=2 versions="map[/gw/routes/b:1 /gw/routes/c:1 /gw/settings:1]"`,
		dropped,
		`level=INFO msg="route table loaded" prefix=/gw routes=2 versions="map[/gw/routes/a:1 /gw/routes/b:1 /gw/settings:1]"`,
	)
}

// After the TTL, concurrent requests make one reload, in the background: none of them waits
// for it, all get the current table, and the requests after it get the new one.
func TestSourceConcurrentReload(t *testing.T) {
	s := newStack(t, ssmroutes.WithTTL(10*time.Second))
	old := s.table(t)
	s.api.set("/gw/routes/a", spec("/a", "https://a-v2.example"))
	s.clock.Advance(10 * time.Second)

	gate := make(chan struct{})
	release := sync.OnceFunc(func() { close(gate) })
	t.Cleanup(release) // a failed test leaves no goroutine parked
	s.api.mu.Lock()
	s.api.gate, s.api.entered = gate, make(chan struct{}, 100)
	s.api.mu.Unlock()

	const n = 20
	results := make(chan *route.Table, n)
	for range n {
		go func() {
			tbl, err := s.src.Table(context.Background())
			if err != nil {
				t.Errorf("Table: %v", err)
			}
			results <- tbl
		}()
	}
	timeout := time.After(waitForResults)
	// Every request returns while the one reload is held, with the current table.
	for i := range n {
		select {
		case tbl := <-results:
			if tbl != old {
				t.Errorf("result %d: a table other than the current one while the reload is held", i)
			}
		case <-timeout:
			t.Fatalf("only %d of %d requests returned while one reload was in progress", i, n)
		}
	}
	select {
	case <-s.api.entered:
	case <-timeout:
		t.Fatal("no reload started")
	}
	release()
	s.wantCalls(t, 2)
	if got := targetOf(s.table(t), "/a"); got != "https://a-v2.example" {
		t.Errorf("after the reload /a → %q", got)
	}
	s.wantCalls(t, 2)
}

// A reload that hangs is bounded by the timeout; it is then an outage like any other: the last
// good table serves (no request waits for it) and one error is logged.
func TestSourceHangingReloadIsBounded(t *testing.T) {
	s := newStack(t, ssmroutes.WithTTL(10*time.Second), ssmroutes.WithTimeout(50*time.Millisecond))
	good := s.table(t)
	s.api.mu.Lock()
	s.api.gate = make(chan struct{}) // never released: SSM accepts and never answers
	s.api.mu.Unlock()
	s.clock.Advance(10 * time.Second)
	start := time.Now()
	for range 100 {
		if tbl, err := s.src.Table(context.Background()); tbl != good || err != nil {
			t.Fatalf("during the hang: %p, %v; want the last good table", tbl, err)
		}
	}
	if took := time.Since(start); took > time.Second { // generous: 100 map reads
		t.Errorf("100 requests during a hanging reload took %v", took)
	}
	s.src.WaitRefresh()
	if took := time.Since(start); took < 50*time.Millisecond || took > 3*time.Second {
		t.Errorf("the hanging reload ended after %v, want about the 50 ms timeout", took)
	}
	checkLines(t, s.logs, loadedAB, `level=ERROR msg="cannot reload routes: serving the last good table" prefix=/gw error="list parameters under /gw: context deadline exceeded"`)
}

// A reload frozen with the sandbox (it resumes long after its deadline) is not an outage:
// nothing is logged, and the next request starts a new reload at once.
func TestSourceFrozenReloadIsHarmless(t *testing.T) {
	s := newStack(t, ssmroutes.WithTTL(10*time.Second), ssmroutes.WithTimeout(20*time.Millisecond))
	good := s.table(t)
	s.api.set("/gw/routes/a", spec("/a", "https://a-v2.example"))
	s.api.mu.Lock()
	s.api.freeze = 100 * time.Millisecond // the call resumes 5 timeouts later, past its deadline
	s.api.mu.Unlock()
	s.clock.Advance(10 * time.Second)
	if tbl, _ := s.src.Table(context.Background()); tbl != good {
		t.Fatal("the first request after the TTL did not get the current table")
	}
	s.wantCalls(t, 2)
	s.api.mu.Lock()
	s.api.freeze = 0
	s.api.mu.Unlock()
	if got := targetOf(s.table(t), "/a"); got != "https://a-v2.example" { // no TTL to wait
		t.Errorf("after the thaw /a → %q, want the new target", got)
	}
	s.wantCalls(t, 3)
	checkLines(t, s.logs, loadedAB, `level=INFO msg="route table loaded" prefix=/gw routes=2 versions="map[/gw/routes/a:2 /gw/routes/b:1 /gw/settings:1]"`)
}

// At cold start, concurrent requests wait for the one load and share its table.
func TestSourceConcurrentColdStart(t *testing.T) {
	s := newStack(t)
	gate := make(chan struct{})
	release := sync.OnceFunc(func() { close(gate) })
	t.Cleanup(release)
	s.api.gate, s.api.entered = gate, make(chan struct{}, 100)
	const n = 20
	results := make(chan *route.Table, n)
	for range n {
		go func() {
			tbl, err := s.src.Table(context.Background())
			if err != nil {
				t.Errorf("Table: %v", err)
			}
			results <- tbl
		}()
	}
	select {
	case <-s.api.entered:
	case <-time.After(waitForResults):
		t.Fatal("no request called SSM")
	}
	release()
	var first *route.Table
	for i := range n {
		select {
		case tbl := <-results:
			if i == 0 {
				first = tbl
			}
			if tbl == nil || tbl != first {
				t.Errorf("result %d: %p, want the one loaded table %p", i, tbl, first)
			}
		case <-time.After(waitForResults):
			t.Fatalf("%d of %d requests returned", i, n)
		}
	}
	s.wantCalls(t, 1)
}

// A warm cache costs no AWS call.
func TestSourceWarmTableMakesNoCall(t *testing.T) {
	s := newStack(t)
	first := s.table(t)
	before := s.api.calls()
	for i := range 1000 {
		tbl, err := s.src.Table(context.Background())
		if err != nil || tbl != first {
			t.Fatalf("warm call %d: %p, %v", i, tbl, err)
		}
	}
	if got := s.api.calls() - before; got != 0 {
		t.Errorf("1000 warm Table calls made %d GetParametersByPath calls, want 0", got)
	}
}

// Many routes over many pages load in name order.
func TestSourceManyPages(t *testing.T) {
	s := newStack(t)
	for i := range 45 {
		s.api.set(fmt.Sprintf("/gw/routes/r%02d", i), spec(fmt.Sprintf("/r%02d", i), fmt.Sprintf("https://r%02d.example", i)))
	}
	tbl := s.table(t)
	s.wantCalls(t, 5) // 48 parameters, 10 per page
	routes := tbl.Configured()
	if len(routes) != 47 {
		t.Fatalf("%d routes, want 47", len(routes))
	}
	if routes[0].Path != "/a" || routes[1].Path != "/b" || routes[2].Path != "/r00" || routes[46].Path != "/r44" {
		t.Errorf("order: %s %s %s … %s", routes[0].Path, routes[1].Path, routes[2].Path, routes[46].Path)
	}
}

// Nothing stored under the prefix is a wrong prefix or a missing push: the gateway answers 503
// (ErrNoRoutes) with a message saying what to do, never an empty table of 404s.
func TestSourceEmptyPrefixIsNoTable(t *testing.T) {
	f := newFakeSSM()
	logger, logs := newLogger()
	s := ssmroutes.New(f, "/gw", ssmroutes.WithClock(clocktest.New().Now), ssmroutes.WithLogger(logger))
	tbl, err := s.Table(context.Background())
	want := "no route table loaded yet: no parameters under /gw: push routes with `gatewayctl routes push FILE --prefix /gw`"
	if tbl != nil || !errors.Is(err, ssmroutes.ErrNoRoutes) || err.Error() != want {
		t.Fatalf("Table = %v, %v; want ErrNoRoutes %q", tbl, err, want)
	}
	checkLines(t, logs, `level=ERROR msg="cannot load routes: answering 503 until SSM can be read" prefix=/gw error="no parameters under /gw: push routes with `+"`gatewayctl routes push FILE --prefix /gw`"+`"`)
}

// Not one valid route is a broken push: a cold start answers 503, a warm source keeps its table.
func TestSourceNoValidRoute(t *testing.T) {
	f := newFakeSSM()
	f.set("/gw/settings", `{}`)
	f.set("/gw/routes/bad", `{"path":"x"}`)
	clock := clocktest.New()
	logger, _ := newLogger()
	s := ssmroutes.New(f, "/gw", ssmroutes.WithClock(clock.Now), ssmroutes.WithLogger(logger), ssmroutes.WithTTL(time.Second))
	if tbl, err := s.Table(context.Background()); tbl != nil || !errors.Is(err, ssmroutes.ErrNoRoutes) ||
		err.Error() != "no route table loaded yet: no valid route under /gw (1 rejected)" {
		t.Fatalf("cold: %v, %v", tbl, err)
	}
	clock.Advance(2 * time.Second)
	f.set("/gw/routes/bad", spec("/ok", "https://ok.example"))
	tbl, err := s.Table(context.Background())
	if err != nil || len(tbl.Configured()) != 1 {
		t.Fatalf("after a fix: %v, %v", tbl, err)
	}
	clock.Advance(2 * time.Second)
	f.remove("/gw/routes/bad")
	f.set("/gw/routes/other", `not json`)
	if again, err := s.Table(context.Background()); again != tbl || err != nil {
		t.Errorf("warm with no valid route: %v, %v; want the last good table", again, err)
	}
}

// WaitBackground returns once the reload a request started has finished (the new table is
// served), or when its context ends first, whichever comes first.
func TestSourceWaitBackground(t *testing.T) {
	s := newStack(t, ssmroutes.WithTTL(10*time.Second), ssmroutes.WithTimeout(5*time.Second))
	s.table(t)
	s.api.set("/gw/routes/a", spec("/a", "https://a-v2.example"))
	gate := make(chan struct{})
	s.api.mu.Lock()
	s.api.gate = gate
	s.api.mu.Unlock()
	s.clock.Advance(10 * time.Second)
	if _, err := s.src.Table(context.Background()); err != nil { // starts the reload, held at the gate
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	s.src.WaitBackground(ctx)
	if took := time.Since(start); took < 40*time.Millisecond || took > 2*time.Second {
		t.Errorf("WaitBackground with a reload in flight returned after %v, want its context's 50 ms", took)
	}
	time.AfterFunc(30*time.Millisecond, func() { close(gate) })
	s.src.WaitBackground(context.Background())
	if got := targetOf(s.table(t), "/a"); got != "https://a-v2.example" {
		t.Errorf("after WaitBackground /a → %q, want the reloaded table", got)
	}
}

// At cold start a request waits for the load at most until its own context ends (a request
// stopped for the Lambda deadline must not wait out the load timeout), whether it started the
// load or queued behind another's. It gets ErrNoRoutes; the load goes on, the next request gets
// its table with no second SSM call, and WaitBackground waits for it.
func TestSourceColdCallerLeavesAtItsDeadline(t *testing.T) {
	tests := []struct {
		name   string
		queued bool // another request started the load first
	}{
		{"the caller that started the load", false},
		{"a caller queued behind another's load", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, ssmroutes.WithTimeout(5*time.Second))
			gate := make(chan struct{})
			release := sync.OnceFunc(func() { close(gate) })
			t.Cleanup(release)
			time.AfterFunc(3*time.Second, release) // a caller that waits for the load fails, never hangs
			s.api.gate, s.api.entered = gate, make(chan struct{}, 100)
			first := make(chan *route.Table, 1)
			if tt.queued {
				go func() {
					tbl, _ := s.src.Table(context.Background())
					first <- tbl
				}()
				<-s.api.entered
			}
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			start := time.Now()
			tbl, err := s.src.Table(ctx)
			took := time.Since(start)
			const want = "no route table loaded yet: context deadline exceeded"
			if tbl != nil || !errors.Is(err, ssmroutes.ErrNoRoutes) || err.Error() != want {
				t.Errorf("Table = %p, %v; want nil, %q", tbl, err, want)
			}
			if took < 40*time.Millisecond || took > 2*time.Second {
				t.Errorf("Table returned after %v, want about its context's 50 ms", took)
			}
			if !tt.queued {
				<-s.api.entered // the load reached SSM and is held there
			}
			release()
			s.src.WaitBackground(context.Background())
			checkLines(t, s.logs, loadedAB) // the load finished, and was not counted an outage
			tbl, err = s.src.Table(context.Background())
			if err != nil || targetOf(tbl, "/a") != "https://a.example" {
				t.Fatalf("the next request: %p, %v; want the loaded table", tbl, err)
			}
			if tt.queued {
				if got := <-first; got != tbl {
					t.Errorf("the request that started the load got %p, want the table %p", got, tbl)
				}
			}
			s.wantCalls(t, 1)
		})
	}
}

// A cold load frozen with the sandbox after its caller left (it resumes long after its
// deadline) is not an outage: nothing is logged, and the next request loads at once rather than
// getting the failure for a second.
func TestSourceFrozenColdLoadIsHarmless(t *testing.T) {
	s := newStack(t, ssmroutes.WithTimeout(20*time.Millisecond))
	s.api.mu.Lock()
	s.api.freeze = 100 * time.Millisecond // the call resumes 5 timeouts later, past its deadline
	s.api.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if tbl, err := s.src.Table(ctx); tbl != nil || !errors.Is(err, ssmroutes.ErrNoRoutes) {
		t.Fatalf("Table = %p, %v; want ErrNoRoutes", tbl, err)
	}
	for deadline := time.Now().Add(waitForResults); s.api.calls() == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond) // until the load has called SSM (and so is waited for)
	}
	s.src.WaitBackground(context.Background())
	s.api.mu.Lock()
	s.api.freeze = 0
	s.api.mu.Unlock()
	if got := targetOf(s.table(t), "/a"); got != "https://a.example" { // no coldRetry to wait
		t.Errorf("after the thaw /a → %q, want the table", got)
	}
	s.wantCalls(t, 2)
	checkLines(t, s.logs, loadedAB)
}
