//go:build !noawsbackends

package wiring_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/passthru/gateway/shared/wiring"
)

// noCredentials empties every credential source of the SDK's chain but EC2 instance metadata,
// which is pointed at imdsURL.
func noCredentials(t *testing.T, imdsURL string) {
	none := filepath.Join(t.TempDir(), "none")
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
		"AWS_CONFIG_FILE": none, "AWS_SHARED_CREDENTIALS_FILE": none, "AWS_WEB_IDENTITY_TOKEN_FILE": "",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI": "", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
		"AWS_EC2_METADATA_DISABLED": "", "AWS_EC2_METADATA_SERVICE_ENDPOINT": imdsURL,
		"AWS_ENDPOINT_URL": "http://127.0.0.1:1", "AWS_REGION": "us-east-1", "AWS_LAMBDA_FUNCTION_NAME": "",
	} {
		t.Setenv(k, v)
	}
}

// captureStderr redirects os.Stderr until the returned function is called, which returns what
// was written.
func captureStderr(t *testing.T) func() string {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	orig := os.Stderr
	os.Stderr = w
	got := make(chan string)
	go func() { b, _ := io.ReadAll(r); got <- string(b) }()
	return func() string {
		os.Stderr = orig
		w.Close()
		return <-got
	}
}

// TestSDKLogsAreJSONAndLambdaSkipsIMDS starts the gateway with Secrets Manager and no AWS
// credentials, the case where the SDK probes EC2 instance metadata (here a fake answering 403,
// as a host without IMDS does behind some proxies) and warns. Every line the process writes must
// be a JSON log line, and on Lambda the metadata service must not be asked at all.
func TestSDKLogsAreJSONAndLambdaSkipsIMDS(t *testing.T) {
	for _, c := range []struct {
		name     string
		env      map[string]string
		wantIMDS bool
	}{
		{"outside Lambda", nil, true},
		{"on Lambda", map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "gw-test"}, false},
		{"AWS_EC2_METADATA_DISABLED", map[string]string{"AWS_EC2_METADATA_DISABLED": "true"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var imdsHits atomic.Int64
			imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				imdsHits.Add(1)
				w.WriteHeader(http.StatusForbidden)
			}))
			defer imds.Close()
			noCredentials(t, imds.URL)
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			var logs bytes.Buffer
			stderr := captureStderr(t)
			_, err := wiring.OpenSources(bounded(t), wiring.SourceOptions{
				ConfigYAML: "general_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n", Secrets: "secretsmanager",
				MissingSecrets: wiring.WarnOnMissingSecrets,
			}, wiring.NewLogger(&logs, "json", false))
			if got := stderr(); got != "" {
				t.Errorf("stderr: %q, want nothing", got)
			}
			if err != nil {
				t.Fatal(err)
			}
			sdkWarnings := 0
			for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
				var rec map[string]any
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatalf("log line is not JSON: %q", line)
				}
				if rec["source"] == "aws-sdk" && rec["level"] == "WARN" {
					sdkWarnings++
				}
			}
			if got := imdsHits.Load() > 0; got != c.wantIMDS {
				t.Errorf("instance metadata asked: %v (%d requests), want %v", got, imdsHits.Load(), c.wantIMDS)
			}
			// Outside Lambda the SDK's "falling back to IMDSv1" warning is one of the JSON lines.
			if c.wantIMDS && sdkWarnings == 0 {
				t.Errorf("no aws-sdk WARN line among the logs:\n%s", logs.String())
			}
			if !strings.Contains(logs.String(), `"msg":"unresolved secrets: the routes using them answer 503 until they are set"`) {
				t.Errorf("the unresolved master key is not logged:\n%s", logs.String())
			}
		})
	}
}
