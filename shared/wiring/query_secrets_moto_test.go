//go:build !noawsbackends

package wiring_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/passthru/gateway/shared/wiring"
)

// On Lambda the os.environ/ references of query values come from Secrets Manager, through the
// same cache as headers' (NAME:field included), and a missing one answers the headers' 503.
func TestQuerySecretsFromSecretsManager(t *testing.T) {
	a := setup(t)
	var mu sync.Mutex
	var uris []string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		uris = append(uris, r.RequestURI)
		mu.Unlock()
		_, _ = w.Write([]byte(`{}`))
	}))
	t.Cleanup(up.Close)
	a.setSecret(t, "LITELLM_MASTER_KEY", masterKey)
	a.setSecret(t, "GEMINI_API_KEY", "AIza-gemini-7f31")
	a.setSecret(t, "AZURE_SAS", `{"sig":"sas+sig/8c2="}`)
	a.push(t, configYAML(`
    - path: /gemini
      target: "`+up.URL+`/v1beta/models?sig=os.environ/AZURE_SAS:sig&alt=sse"
      auth: true
      default_query_params: {key: os.environ/GEMINI_API_KEY}
    - path: /missing
      target: "`+up.URL+`/m"
      auth: true
      default_query_params: {key: os.environ/NOT_THERE}`))
	srv, _ := openGateway(t, wiring.SourceOptions{}, jsonLogger(&logSink{}))

	status, body := call(t, srv, "/gemini", masterKey)
	expect(t, "query secrets", status, body, 200, `{}`)
	status, body = call(t, srv, "/missing", masterKey)
	expect(t, "missing query secret", status, body, 503,
		`{"error":{"message":"The provider credential for this route is unavailable: secret \"`+secretsPrefix+`NOT_THERE\" is not set.","type":"service_unavailable","param":"None","code":"503"}}`)
	mu.Lock()
	defer mu.Unlock()
	want := "/v1beta/models?key=AIza-gemini-7f31&sig=sas%2Bsig%2F8c2%3D&alt=sse"
	if len(uris) != 1 || uris[0] != want {
		t.Errorf("upstream request URIs = %q, want only %q", uris, want)
	}
}
