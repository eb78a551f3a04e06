//go:build !noawsbackends

package wiring_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/passthru/gateway/shared/auth"
	"github.com/passthru/gateway/shared/keys"
	"github.com/passthru/gateway/shared/motoserver"
	"github.com/passthru/gateway/shared/usage/usagetest"
	"github.com/passthru/gateway/shared/wiring"
)

const outageTTL = 100 * time.Millisecond

// TestAWSOutageDoesNotStallWarmTraffic: routes in SSM, the master key and the provider key in
// Secrets Manager, a virtual key in DynamoDB, all with 100 ms TTLs, served by the real handler
// to 4 clients sending without pause. Once warm, while the load runs and an AWS call is in
// flight, AWS goes down: moto is stopped (every call refused, in-flight ones cut), or every AWS
// call from then on goes to an endpoint that accepts and never answers (each refresh waits out
// the 3 s AWS timeout). Every request must answer 200 with the upstream's body, the outage must
// add at most 50 ms to p99, no request may take over 1 s, and each source logs the outage once.
// Before stale-while-revalidate one request in a few took 7-16 s here.
func TestAWSOutageDoesNotStallWarmTraffic(t *testing.T) {
	for _, tt := range []struct {
		name   string
		hang   bool
		outage time.Duration // how long the load goes on once AWS is down
	}{
		// Refused calls fail within the SDK's retries; 30 TTLs see every cache expire and fail.
		{"moto stopped", false, 30 * outageTTL},
		// A hung read fails at the 3 s AWS timeout; the load outlasts it so that each source
		// has logged the outage.
		{"AWS hangs", true, 5 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			moto := motoserver.Start(t)
			via := &switchingHTTP{}
			srv, up, virtual, logs := outageGateway(t, moto, via)
			silent := ""
			if tt.hang {
				silent = motoserver.SilentEndpoint(t)
			}
			down := func() { // on the timer's goroutine, mid-load
				if tt.hang {
					via.divert(silent)
					return
				}
				moto.Stop()
			}
			before, during, inFlight := loadThrough(t, srv, up, []string{masterKey, virtual}, 10*outageTTL, tt.outage, via, down)

			p50, p99 := percentile(before, 50), percentile(before, 99)
			o50, o99, omax := percentile(during, 50), percentile(during, 99), slices.Max(during)
			t.Logf("AWS up: %d requests, p50 %v, p99 %v; AWS down (%d AWS calls in flight as it went): %d requests, p50 %v, p99 %v, max %v",
				len(before), p50, p99, inFlight, len(during), o50, o99, omax)
			if inFlight == 0 {
				t.Errorf("no AWS call was in flight when AWS went down")
			}
			// With AWS up, requests never touch AWS: a p99 this slow means the machine itself stalls
			// them (a loaded 2-core CI box under -race), and then a stall cannot be told from a
			// wait for AWS by time. The correctness and log checks below still run.
			if p99 > overloaded {
				t.Logf("timing checks skipped: p99 with AWS up is %v (over %v), the machine is overloaded", p99, overloaded)
			} else {
				checkOutageTiming(t, p99, o99, omax)
			}
			// The caches did expire during the outage: each source tried AWS and logged it once.
			for _, msg := range []string{
				"cannot reload routes: serving the last good table",
				"cannot refresh secrets: serving the cached values",
				"cannot refresh gateway keys: serving the cached keys",
			} {
				if got := logs.records(t, msg); len(got) != 1 {
					t.Errorf("%q logged %d times, want once; logs:\n%s", msg, len(got), logs.String())
				}
			}
		})
	}
}

// overloaded is the p99 with AWS up past which the run cannot measure a stall.
const overloaded = 250 * time.Millisecond

// checkOutageTiming: the outage may add at most 50 ms to p99, and no request may take over 1 s.
func checkOutageTiming(t *testing.T, p99, o99, omax time.Duration) {
	t.Helper()
	if added := o99 - p99; added > 50*time.Millisecond {
		t.Errorf("the outage added %v to p99 (%v → %v), want at most 50 ms", added, p99, o99)
	}
	// The old stalls were few among thousands of requests, p99 can miss them: bound the max
	// too (seen: under 200 ms; a refresh on the request path takes at least the 3 s timeout
	// when AWS hangs, 7-16 s with the SDK's default retries).
	if omax > time.Second {
		t.Errorf("a request took %v during the outage, want at most 1 s: it waited for AWS", omax)
	}
}

// outageGateway stores routes, secrets and a virtual key in moto and serves them through the
// real handler, its AWS SDK configured as the function configures it (retries, backoff, 3 s
// AWS timeout) but sending through h. It returns the server, the upstream, the virtual key and
// the logs.
func outageGateway(t *testing.T, moto *motoserver.Instance, h *switchingHTTP) (*httptest.Server, *upstream, string, *logSink) {
	t.Helper()
	cfg := moto.Config(t)
	a := &awsEnv{cfg: cfg, ssm: ssm.NewFromConfig(cfg), sm: secretsmanager.NewFromConfig(cfg)}
	up := newUpstream(t, "A")
	a.setSecret(t, "LITELLM_MASTER_KEY", masterKey)
	a.setSecret(t, "COHERE_API_KEY", "co-rerank-5e1d0b7c")
	a.push(t, configYAML(endpoint("/v1/rerank", up.URL+"/v1/rerank", "COHERE_API_KEY")))
	const virtual = "sk-gw-outage7a1c0000000000000000000000" // the generated shape
	db := dynamodb.NewFromConfig(cfg)
	if err := keys.CreateTable(bounded(t), db, keysTable); err != nil {
		t.Fatal(err)
	}
	if err := keys.NewDynamoDB(db, keysTable).Put(bounded(t), keys.Key{Hash: auth.Hash(virtual), Alias: "outage", Routes: []string{"/v1/rerank"}}); err != nil {
		t.Fatal(err)
	}

	logs := &logSink{}
	log := jsonLogger(logs)
	gwCfg, err := wiring.LoadAWS(bounded(t), log)
	if err != nil {
		t.Fatal(err)
	}
	gwCfg.BaseEndpoint, gwCfg.Region, gwCfg.Credentials = cfg.BaseEndpoint, cfg.Region, cfg.Credentials
	h.next, gwCfg.HTTPClient = gwCfg.HTTPClient, h
	src, err := wiring.OpenSources(bounded(t), wiring.SourceOptions{
		RoutesPrefix: routesPrefix, RoutesTTL: outageTTL,
		Secrets: "secretsmanager", SecretsPrefix: secretsPrefix, SecretsTTL: outageTTL,
		KeysTable: keysTable, KeysTTL: outageTTL, AWS: &gwCfg,
	}, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(wiring.NewHandler(src, usagetest.NewSink(), log, false))
	t.Cleanup(srv.Close)
	return srv, up, virtual, logs
}

// switchingHTTP is the gateway's AWS HTTP client with two additions: it counts the calls in
// flight, and once diverted it sends every call to another endpoint (one that hangs).
type switchingHTTP struct {
	next     aws.HTTPClient
	inFlight atomic.Int64
	to       atomic.Pointer[url.URL]
}

func (s *switchingHTTP) Do(req *http.Request) (*http.Response, error) {
	s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	if to := s.to.Load(); to != nil {
		req = req.Clone(req.Context())
		req.URL.Scheme, req.URL.Host, req.Host = to.Scheme, to.Host, ""
	}
	return s.next.Do(req)
}

func (s *switchingHTTP) divert(endpoint string) {
	u, err := url.Parse(endpoint)
	if err != nil {
		panic(err)
	}
	s.to.Store(u)
}

// loadThrough sends requests from 4 clients, alternating the keys, for warm, then calls down as
// soon as an AWS call is in flight (within 1 s), and goes on for outage more. It returns the
// latencies of the requests that ended before down was called, of all the others, and how
// many AWS calls were in flight when it was. Every answer must be the upstream's 200.
func loadThrough(t *testing.T, srv *httptest.Server, up *upstream, keys []string, warm, outage time.Duration, h *switchingHTTP, down func()) (before, during []time.Duration, inFlight int64) {
	t.Helper()
	type sample struct {
		end  time.Time
		took time.Duration
	}
	var (
		mu      sync.Mutex
		samples []sample
		wg      sync.WaitGroup
		downAt  atomic.Pointer[time.Time]
		stop    atomic.Bool
	)
	fired := make(chan struct{})
	time.AfterFunc(warm, func() {
		defer close(fired)
		for wait := time.Now().Add(time.Second); h.inFlight.Load() == 0 && time.Now().Before(wait); {
			time.Sleep(100 * time.Microsecond)
		}
		inFlight = h.inFlight.Load()
		now := time.Now()
		downAt.Store(&now)
		down()
		time.AfterFunc(outage, func() { stop.Store(true) })
	})
	for c := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				start := time.Now()
				status, body, _ := callHeader(t, srv, "/v1/rerank", map[string]string{"Authorization": "Bearer " + keys[(c+i)%len(keys)]})
				took := time.Since(start)
				if status != 200 || body != up.okBody("/v1/rerank") {
					t.Errorf("%d %s after %v, want 200 %s", status, body, took, up.okBody("/v1/rerank"))
					stop.Store(true)
					return
				}
				mu.Lock()
				samples = append(samples, sample{start.Add(took), took})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	<-fired
	at := *downAt.Load()
	for _, s := range samples {
		if s.end.Before(at) {
			before = append(before, s.took)
		} else {
			during = append(during, s.took)
		}
	}
	return before, during, inFlight
}

// percentile is the p-th percentile of ds (nearest rank).
func percentile(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[min(len(s)-1, (len(s)*p+99)/100-1)]
}
