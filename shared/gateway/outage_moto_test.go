package gateway_test

import (
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/passthru/gateway/shared/auth"
	"github.com/passthru/gateway/shared/gateway"
	"github.com/passthru/gateway/shared/keys"
	"github.com/passthru/gateway/shared/motoserver"
)

const outageTTL = 100 * time.Millisecond

// TestAWSOutageDoesNotStallWarmTraffic: routes in SSM, the master key and the provider key in
// Secrets Manager, a virtual key in DynamoDB, all with 100 ms TTLs, served by the real handler.
// Once warm, moto is stopped and requests keep coming for 30 TTLs: every one must answer 200
// with the upstream's body, and the latency the outage adds must stay within 50 ms at p99.
// Before stale-while-revalidate one request in a few took 7-16 s here.
func TestAWSOutageDoesNotStallWarmTraffic(t *testing.T) {
	moto := motoserver.Start(t)
	cfg := moto.Config(t)
	a := &awsEnv{cfg: cfg, ssm: ssm.NewFromConfig(cfg), sm: secretsmanager.NewFromConfig(cfg)}
	up := newUpstream(t, "A")
	a.setSecret(t, "LITELLM_MASTER_KEY", masterKey)
	a.setSecret(t, "COHERE_API_KEY", "co-rerank-5e1d0b7c")
	a.push(t, configYAML(endpoint("/v1/rerank", up.URL+"/v1/rerank", "COHERE_API_KEY")))
	const virtual = "sk-gw-outage-7a1c"
	db := dynamodb.NewFromConfig(cfg)
	if err := keys.CreateTable(bounded(t), db, keysTable); err != nil {
		t.Fatal(err)
	}
	if err := keys.NewDynamoDB(db, keysTable).Put(bounded(t), keys.Key{Hash: auth.Hash(virtual), Alias: "outage", Routes: []string{"/v1/rerank"}}); err != nil {
		t.Fatal(err)
	}

	logs := &logSink{}
	log := jsonLogger(logs)
	// The SDK as the function configures it (retries, backoff), pointed at this moto.
	gwCfg, err := gateway.LoadAWS(bounded(t), log)
	if err != nil {
		t.Fatal(err)
	}
	gwCfg.BaseEndpoint, gwCfg.Region, gwCfg.Credentials = cfg.BaseEndpoint, cfg.Region, cfg.Credentials
	src, err := gateway.OpenSources(bounded(t), gateway.SourceOptions{
		RoutesPrefix: routesPrefix, RoutesTTL: outageTTL,
		Secrets: "secretsmanager", SecretsPrefix: secretsPrefix, SecretsTTL: outageTTL,
		KeysTable: keysTable, KeysTTL: outageTTL, AWS: &gwCfg,
	}, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gateway.NewHandler(src, &collect{got: make(chan struct{}, 100000)}, log, false))
	t.Cleanup(srv.Close)

	// Warm: every cache loaded, then refreshed at least once through moto.
	before := load(t, srv, up, []string{masterKey, virtual}, 10*outageTTL)
	moto.Stop()
	during := load(t, srv, up, []string{masterKey, virtual}, 30*outageTTL)

	p50, p99 := percentile(before, 50), percentile(before, 99)
	o50, o99, omax := percentile(during, 50), percentile(during, 99), slices.Max(during)
	t.Logf("AWS up: %d requests, p50 %v, p99 %v; AWS down: %d requests, p50 %v, p99 %v, max %v",
		len(before), p50, p99, len(during), o50, o99, omax)
	if added := o99 - p99; added > 50*time.Millisecond {
		t.Errorf("the outage added %v to p99 (%v → %v), want at most 50 ms", added, p99, o99)
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
}

// load sends requests from 4 clients for d, alternating the keys, and returns each request's
// latency; every answer must be the upstream's 200.
func load(t *testing.T, srv *httptest.Server, up *upstream, keys []string, d time.Duration) []time.Duration {
	t.Helper()
	var (
		mu  sync.Mutex
		out []time.Duration
		wg  sync.WaitGroup
	)
	end := time.Now().Add(d)
	for c := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(end); i++ {
				start := time.Now()
				status, body, _ := callHeader(t, srv, "/v1/rerank", map[string]string{"Authorization": "Bearer " + keys[(c+i)%len(keys)]})
				took := time.Since(start)
				if status != 200 || body != up.okBody("/v1/rerank") {
					t.Errorf("%d %s after %v, want 200 %s", status, body, took, up.okBody("/v1/rerank"))
					return
				}
				mu.Lock()
				out = append(out, took)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return out
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
