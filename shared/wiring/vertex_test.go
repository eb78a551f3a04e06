package wiring_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/passthru/gateway/shared/builtin"
	"github.com/passthru/gateway/shared/usage"
	"github.com/passthru/gateway/shared/wiring"
)

// OpenSources gives /vertex_ai its token cache once, fed by the secrets source: the service
// account (an inline secret here, Secrets Manager on AWS) mints a token on the first call only,
// and nothing is called at start.
func TestOpenSourcesVertexServiceAccount(t *testing.T) {
	var mints atomic.Int32
	google := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mints.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"access_token":"ya29.wired","expires_in":3600,"token_type":"Bearer"}`)
	}))
	defer google.Close()
	var upstreamAuth atomic.Value
	vertex := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upstreamAuth.Store(r.Header.Get("Authorization") + " " + r.URL.Path)
		_, _ = io.WriteString(w, `{}`)
	}))
	defer vertex.Close()

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	sa, _ := json.Marshal(map[string]string{"type": "service_account", "client_email": "gw@p.iam.gserviceaccount.com", "private_key_id": "k",
		"private_key": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), "token_uri": google.URL + "/token"})
	inline, _ := json.Marshal(map[string]string{"MASTER": `{"key":"sk-abc"}`, "VERTEX_SA": string(sa)})
	src, err := wiring.OpenSources(context.Background(), wiring.SourceOptions{
		ConfigYAML: "general_settings:\n  master_key: os.environ/MASTER:key\ndefault_vertex_config:\n  vertex_project: cfg-p\n  vertex_location: us-east5\n  vertex_credentials: os.environ/VERTEX_SA\n",
		Secrets:    "inline", SecretsInline: string(inline),
		Builtin: builtin.Options{Env: func(k string) string { return map[string]string{"VERTEX_AI_API_BASE": vertex.URL}[k] }},
	}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if n := mints.Load(); n != 0 {
		t.Fatalf("%d tokens minted at start, want none", n)
	}
	gw := httptest.NewServer(wiring.NewHandler(src, usage.Discard{}, quiet, false))
	defer gw.Close()
	for range 3 {
		req, _ := http.NewRequest(http.MethodPost, gw.URL+"/vertex_ai/publishers/google/models/m:generateContent", strings.NewReader("{}"))
		req.Header.Set("X-Litellm-Api-Key", "sk-abc")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	}
	if got, want := upstreamAuth.Load(), "Bearer ya29.wired /v1/projects/cfg-p/locations/us-east5/publishers/google/models/m:generateContent"; got != want {
		t.Errorf("upstream got %q, want %q", got, want)
	}
	if n := mints.Load(); n != 1 {
		t.Errorf("%d mints for 3 calls, want 1", n)
	}
}
