package sdktest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/passthru/gateway/shared/usage/usagetest"
	"github.com/passthru/gateway/shared/wiring"
)

// The Google access token the gateway mints from its service account, and the one the SDK's
// stub auth client hands the SDK (which must never reach the upstream).
const (
	gatewayGoogleToken = "ya29.gateway-minted"
	sdkStubToken       = "ya29.sdk-stub"
	vertexModelPath    = "/v1/projects/sdk-project/locations/us-central1/publishers/google/models/gemini-2.0-flash"
)

// answerVertex answers generateContent with JSON and streamGenerateContent with SSE, as
// aiplatform.googleapis.com does.
func answerVertex(w http.ResponseWriter, r *http.Request, _ []byte) {
	switch {
	case strings.HasSuffix(r.URL.Path, ":generateContent"):
		writeJSON(w, 200, `{"candidates":[{"content":{"role":"model","parts":[{"text":"Hello from Vertex"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":4,"totalTokenCount":9},"modelVersion":"gemini-2.0-flash"}`)
	case strings.HasSuffix(r.URL.Path, ":streamGenerateContent"):
		writeSSE(w, r, []string{
			"data: " + `{"candidates":[{"content":{"role":"model","parts":[{"text":"Hello "}]}}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":1,"totalTokenCount":6},"modelVersion":"gemini-2.0-flash"}` + "\r\n\r\n",
			"data: " + `{"candidates":[{"content":{"role":"model","parts":[{"text":"from "}]}}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":2,"totalTokenCount":7},"modelVersion":"gemini-2.0-flash"}` + "\r\n\r\n",
			"data: " + `{"candidates":[{"content":{"role":"model","parts":[{"text":"Vertex"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":3,"totalTokenCount":8},"modelVersion":"gemini-2.0-flash"}` + "\r\n\r\n",
		})
	default:
		badRequest(w, r)
	}
}

// fakeGoogleToken is Google's token endpoint on loopback: it answers every JWT-bearer grant with
// gatewayGoogleToken and counts the mints.
func fakeGoogleToken(t *testing.T) (uri string, mints *atomic.Int64) {
	mints = &atomic.Int64{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" || r.PostForm.Get("assertion") == "" {
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		mints.Add(1)
		writeJSON(w, 200, `{"access_token":"`+gatewayGoogleToken+`","expires_in":3600,"token_type":"Bearer"}`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/token", mints
}

// serviceAccountJSON is a service-account key file whose key is generated here and whose
// token_uri is the fake endpoint.
func serviceAccountJSON(t *testing.T, tokenURI string) string {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	sa, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "sa-project", "private_key_id": "k1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "gateway@sa-project.iam.gserviceaccount.com", "client_id": "1", "token_uri": tokenURI,
	})
	return string(sa)
}

// TestVertexSDK: @google-cloud/vertexai (its own stub token, the gateway key in
// x-litellm-api-key) runs generateContent and generateContentStream through /vertex_ai; the
// gateway swaps the SDK's token for one minted from its service account (once for both calls),
// sends only the allow-listed headers, and records the tokens.
func TestVertexSDK(t *testing.T) {
	requireSDKs(t)
	mock := startMock(t, answerVertex)
	tokenURI, mints := fakeGoogleToken(t)
	for name, value := range map[string]string{
		"VERTEX_AI_API_BASE": mock.URL, "DEFAULT_GOOGLE_APPLICATION_CREDENTIALS": serviceAccountJSON(t, tokenURI),
		"DEFAULT_VERTEXAI_PROJECT": "", "DEFAULT_VERTEXAI_LOCATION": "",
	} {
		t.Setenv(name, value)
	}
	sink := usagetest.NewSink()
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	src, err := wiring.OpenSources(context.Background(), wiring.SourceOptions{
		ConfigYAML: "general_settings:\n  master_key: " + masterKey + "\n", Secrets: "env"}, log)
	if err != nil {
		t.Fatal(err)
	}
	gw := httptest.NewServer(wiring.NewHandler(src, sink, log, false))
	t.Cleanup(gw.Close)

	res := runScript(t, "vertex.mjs", gw.URL, masterKey)
	checkCalls(t, []expectCall{
		{call: "generateContent", text: "Hello from Vertex", usage: `{"promptTokenCount":5,"candidatesTokenCount":4}`},
		{call: "streamGenerateContent", text: "Hello from Vertex", chunks: 3, usage: `{"promptTokenCount":5,"candidatesTokenCount":3}`},
	}, res)
	for i, s := range res.Sent {
		if s.Headers["authorization"] != "Bearer "+sdkStubToken || s.Headers["x-litellm-api-key"] != masterKey {
			t.Errorf("SDK request %d: authorization %q, x-litellm-api-key %q; want the stub token and the gateway key", i, s.Headers["authorization"], s.Headers["x-litellm-api-key"])
		}
	}

	ups := mock.take()
	if len(ups) != 2 {
		t.Fatalf("the upstream got %d requests, want 2", len(ups))
	}
	for i, want := range []struct{ path, query string }{
		{vertexModelPath + ":generateContent", ""},
		{vertexModelPath + ":streamGenerateContent", "alt=sse"},
	} {
		u := ups[i]
		if u.Method != "POST" || u.Path != want.path || u.RawQuery != want.query || string(u.Body) != string(res.Sent[i].Body) {
			t.Errorf("upstream %d: %s %s?%s %s; want POST %s?%s with the SDK's body %s", i, u.Method, u.Path, u.RawQuery, u.Body, want.path, want.query, res.Sent[i].Body)
		}
		var names []string
		for name := range u.Header {
			if name != "Content-Length" && name != "Accept-Encoding" {
				names = append(names, name)
			}
		}
		if u.Header.Get("Authorization") != "Bearer "+gatewayGoogleToken || len(names) != 2 || u.Header.Get("Content-Type") != "application/json" {
			t.Errorf("upstream %d headers %v: want only Content-Type and the gateway's own token", i, u.Header)
		}
		if where := leaks(u, masterKey); len(where) > 0 {
			t.Errorf("upstream %d: the gateway key went upstream in %v", i, where)
		}
	}
	if mints.Load() != 1 {
		t.Errorf("%d tokens minted, want 1 for both calls", mints.Load())
	}
	checkRecords(t, "master_key", []expectCall{
		{provider: "vertex_ai", model: "gemini-2.0-flash", in: n(5), out: n(4), status: 200},
		{provider: "vertex_ai", model: "gemini-2.0-flash", in: n(5), out: n(3), streamed: true, status: 200},
	}, sink)
	if strings.Contains(logs.String(), masterKey) || strings.Contains(logs.String(), gatewayGoogleToken) {
		t.Errorf("a secret reached the gateway's log")
	}
}
