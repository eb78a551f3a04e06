package wiring_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/passthru/gateway/shared/builtin"
	"github.com/passthru/gateway/shared/usage"
	"github.com/passthru/gateway/shared/wiring"
)

// countingCreds is the SDK configuration's credentials provider, counting reads.
type countingCreds struct{ reads atomic.Int64 }

func (c *countingCreds) Retrieve(context.Context) (aws.Credentials, error) {
	c.reads.Add(1)
	return aws.Credentials{AccessKeyID: "AKIDWIRING", SecretAccessKey: "secret", SessionToken: "tok", Source: "test"}, nil
}

// OpenSources gives /bedrock a signer over the AWS configuration's credentials, read at the
// first call and not at start-up; with Bedrock off the route answers 404 saying how to turn it
// on (GATEWAY_BEDROCK / EnableBedrock).
func TestOpenSourcesBedrock(t *testing.T) {
	var got atomic.Value
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.Header.Get("Authorization") + " | " + r.Header.Get("X-Amz-Security-Token"))
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(up.Close)
	env := map[string]string{"AWS_REGION": "eu-west-1", builtin.BedrockRuntimeEndpointEnv: up.URL}
	creds := &countingCreds{}
	call := func(on bool) (int, string) {
		src, err := wiring.OpenSources(context.Background(), wiring.SourceOptions{
			ConfigYAML: "general_settings:\n  master_key: sk-m\n", Secrets: "inline", SecretsInline: "{}",
			Bedrock: on, AWS: &aws.Config{Credentials: creds}, Builtin: builtin.Options{Env: func(k string) string { return env[k] }},
		}, quiet)
		if err != nil {
			t.Fatal(err)
		}
		if n := creds.reads.Load(); n != 0 {
			t.Fatalf("credentials read %d times at start-up", n)
		}
		srv := httptest.NewServer(wiring.NewHandler(src, usage.Discard{}, quiet, false))
		defer srv.Close()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/bedrock/model/m%3A0/converse", strings.NewReader("{}"))
		req.Header.Set("Authorization", "Bearer sk-m")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := call(false); status != 404 || !strings.Contains(body, builtin.BedrockOffMessage) {
		t.Errorf("off: %d %s", status, body)
	}
	status, body := call(true)
	sig, _ := got.Load().(string)
	if status != 200 || !strings.HasPrefix(sig, "AWS4-HMAC-SHA256 Credential=AKIDWIRING/") || !strings.Contains(sig, "/eu-west-1/bedrock/aws4_request") || !strings.HasSuffix(sig, " | tok") {
		t.Errorf("on: %d %s; upstream got %q", status, body, sig)
	}
	if n := creds.reads.Load(); n != 1 {
		t.Errorf("credentials read %d times, want once", n)
	}
}
