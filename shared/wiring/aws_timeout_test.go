//go:build !noawsbackends

package wiring_test

import (
	"context"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/passthru/gateway/shared/motoserver"
	"github.com/passthru/gateway/shared/usage/usagetest"
	"github.com/passthru/gateway/shared/wiring"
)

// silentAWS is an SDK configuration whose every endpoint hangs.
func silentAWS(t *testing.T) *aws.Config {
	return &aws.Config{
		Region: "us-east-1", BaseEndpoint: aws.String(motoserver.SilentEndpoint(t)),
		Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", ""),
	}
}

// TestRateLimitTableHanging: a limited key whose counter table hangs (accepts, never answers)
// gets the outage answer after GATEWAY_RATELIMIT_TIMEOUT: 503 by default, admitted uncounted
// when failing open. Without the bound the request waited as long as the client did (40 s).
func TestRateLimitTableHanging(t *testing.T) {
	const timeout = 300 * time.Millisecond
	var hits atomic.Int64
	up := upstreamCounter(t, &hits)
	for _, c := range []struct {
		failOpen bool
		status   int
		body     string
	}{
		{false, 503, `{"error":{"message":"Rate limiting is unavailable; try again shortly.","type":"service_unavailable","param":"None","code":"503"}}`},
		{true, 200, "ok"},
	} {
		logs := &logSink{}
		src, err := wiring.OpenSources(context.Background(), wiring.SourceOptions{
			ConfigYAML: keysConfig(up), Secrets: "inline", SecretsInline: "{}",
			RateLimitTable: "counters", RateLimitFailOpen: c.failOpen, RateLimitTimeout: timeout, AWS: silentAWS(t),
		}, quiet)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(wiring.NewHandler(src, usagetest.NewSink(), jsonLogger(logs), false))
		for i := range 2 {
			start := time.Now()
			// The client gives up after 15 s (the package's client), so a missing bound fails
			// the test rather than hanging it.
			status, body, _ := callHeader(t, &httptest.Server{URL: srv.URL}, "/v1/rerank", map[string]string{"Authorization": "Bearer " + rerankKey})
			took := time.Since(start)
			if status != c.status || body != c.body {
				t.Errorf("fail open %v, call %d: %d %s, want %d %s", c.failOpen, i, status, body, c.status, c.body)
			}
			if took < timeout || took > timeout+3*time.Second { // generous: a shared 2-core machine
				t.Errorf("fail open %v, call %d took %v, want about %v", c.failOpen, i, took, timeout)
			}
		}
		srv.Close()
		// The outage is logged once, not per request.
		if got := logs.records(t, "rate limiting is unavailable"); len(got) != 1 || got[0]["fail_open"] != c.failOpen || got[0]["level"] != "ERROR" {
			t.Errorf("fail open %v: outage log lines %v, want one", c.failOpen, got)
		}
	}
	if hits.Load() != 2 {
		t.Errorf("upstream got %d requests, want 2 (the fail-open ones)", hits.Load())
	}
}

// TestColdReadsOfAHangingAWSAreBounded: with nothing cached and every AWS endpoint accepting
// connections and never answering, startup and the first request each end after about
// GATEWAY_AWS_TIMEOUT with the outage's answer, instead of waiting as long as the caller does.
func TestColdReadsOfAHangingAWSAreBounded(t *testing.T) {
	const timeout = 300 * time.Millisecond
	var hits atomic.Int64
	up := upstreamCounter(t, &hits)
	routes := "general_settings:\n  master_key: " + masterKey + "\n  pass_through_endpoints:\n" +
		"    - {path: /v1/rerank, target: \"" + up + "/v1/rerank\", headers: {Authorization: \"Bearer os.environ/COHERE_API_KEY\"}}\n"
	for _, c := range []struct {
		name string
		opts wiring.SourceOptions
		key  string
		body string
	}{
		{"routes in SSM", wiring.SourceOptions{RoutesPrefix: "/gw", Secrets: "inline", SecretsInline: "{}"}, masterKey,
			`{"error":{"message":"The gateway's route table is unavailable; try again shortly.","type":"service_unavailable","param":"None","code":"503"}}`},
		{"provider key in Secrets Manager", wiring.SourceOptions{ConfigYAML: routes, Secrets: "secretsmanager", MissingSecrets: wiring.WarnOnMissingSecrets}, masterKey,
			`{"error":{"message":"The provider credential for this route is unavailable; try again shortly.","type":"service_unavailable","param":"None","code":"503"}}`},
		{"virtual key in DynamoDB", wiring.SourceOptions{ConfigYAML: routes, Secrets: "inline", SecretsInline: `{"COHERE_API_KEY":"co-1"}`, KeysTable: "keys"}, "sk-gw-cold1000000000000000000000000000",
			`{"error":{"message":"Key verification is unavailable; try again shortly.","type":"service_unavailable","param":"None","code":"503"}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.opts.AWS, c.opts.AWSTimeout = silentAWS(t), timeout
			start := time.Now()
			src, err := wiring.OpenSources(bounded(t), c.opts, quiet) // 30 s: fails rather than hangs
			if err != nil {
				t.Fatal(err)
			}
			if took := time.Since(start); took > timeout+3*time.Second { // generous: a shared machine
				t.Errorf("startup took %v, want about %v", took, timeout)
			}
			srv := httptest.NewServer(wiring.NewHandler(src, usagetest.NewSink(), quiet, false))
			defer srv.Close()
			start = time.Now()
			status, body, _ := callHeader(t, &httptest.Server{URL: srv.URL}, "/v1/rerank", map[string]string{"Authorization": "Bearer " + c.key})
			if took := time.Since(start); took > timeout+3*time.Second {
				t.Errorf("the first request took %v, want about %v", took, timeout)
			}
			if status != 503 || body != c.body {
				t.Errorf("%d %s, want 503 %s", status, body, c.body)
			}
		})
	}
	if hits.Load() != 0 {
		t.Errorf("upstream got %d requests, want none", hits.Load())
	}
}
