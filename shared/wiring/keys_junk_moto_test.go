//go:build !noawsbackends

package wiring_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/passthru/gateway/shared/keys"
	"github.com/passthru/gateway/shared/motoserver"
	"github.com/passthru/gateway/shared/usage/usagetest"
	"github.com/passthru/gateway/shared/wiring"
)

// countingHTTP counts the gateway's AWS calls that name target (the X-Amz-Target of DynamoDB's JSON API).
type countingHTTP struct {
	next   aws.HTTPClient
	target string
	calls  atomic.Int64
}

func (c *countingHTTP) Do(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.Header.Get("X-Amz-Target"), c.target) {
		c.calls.Add(1)
	}
	return c.next.Do(r)
}

// TestDynamoDBJunkKeysNoRead: through the whole gateway, a presented key that cannot be a
// generated virtual key gets the same 401 as an unknown one without a GetItem; an unknown key
// of the generated shape costs one, then none while its miss is cached; the master key none.
func TestDynamoDBJunkKeysNoRead(t *testing.T) {
	dynamoKeys(t, map[string]keys.Key{rerankKey: {Alias: "rerank-only", Routes: []string{"/v1/rerank"}, RPM: 0}})
	var hits atomic.Int64
	cfg := keysConfig(upstreamCounter(t, &hits))
	awsCfg := motoserver.Config(t)
	getItem := &countingHTTP{next: awsCfg.HTTPClient, target: ".GetItem"}
	if getItem.next == nil {
		getItem.next = http.DefaultClient
	}
	awsCfg.HTTPClient = getItem
	src, err := wiring.OpenSources(context.Background(), wiring.SourceOptions{
		ConfigYAML: cfg[strings.Index(cfg, "general_settings:"):], Secrets: "inline", SecretsInline: "{}",
		KeysTable: keysTable, AWS: &awsCfg,
	}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(wiring.NewHandler(src, usagetest.NewSink(), quiet, false))
	t.Cleanup(srv.Close)
	for _, junk := range []string{"sk-never-issued", "sk-gw-short", rerankKey + "x", strings.Repeat("k", 4000), "sk-gw-" + strings.Repeat("-", 32)} {
		if status, _, body := keyCall(t, srv.URL+"/v1/rerank", junk); status != 401 || body != invalidKeyBody {
			t.Errorf("junk key %.20q: %d %s, want 401 %s", junk, status, body, invalidKeyBody)
		}
	}
	if status, _, body := keyCall(t, srv.URL+"/v1/rerank", masterKey); status != 200 || body != "ok" {
		t.Errorf("master key: %d %s", status, body)
	}
	if n := getItem.calls.Load(); n != 0 {
		t.Fatalf("junk keys and the master key made %d GetItem calls, want 0", n)
	}
	unknown := "sk-gw-" + strings.Repeat("0", 32)
	for i := 0; i < 3; i++ {
		if status, _, body := keyCall(t, srv.URL+"/v1/rerank", unknown); status != 401 || body != invalidKeyBody {
			t.Errorf("unknown shaped key: %d %s", status, body)
		}
	}
	if n := getItem.calls.Load(); n != 1 {
		t.Fatalf("an unknown key of the generated shape, 3 times: %d GetItem calls, want 1", n)
	}
	if status, _, body := keyCall(t, srv.URL+"/v1/rerank", rerankKey); status != 200 || body != "ok" {
		t.Errorf("valid key: %d %s", status, body)
	}
	if hits.Load() != 2 {
		t.Errorf("upstream got %d calls, want 2 (the master key's and the valid key's)", hits.Load())
	}
}
