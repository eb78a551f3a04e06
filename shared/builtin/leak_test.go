package builtin_test

import (
	"encoding/base64"
	"log/slog"
	"maps"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/passthru/gateway/shared/auth"
	"github.com/passthru/gateway/shared/builtin"
	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/keys"
	"github.com/passthru/gateway/shared/secrets"
	"github.com/passthru/gateway/shared/usage"
	"github.com/passthru/gateway/shared/wiring"
)

const (
	validVirtual   = "sk-gw-Valid0000000000000000000000000"
	revokedVirtual = "sk-gw-Revoked00000000000000000000000"
	unknownVirtual = "sk-gw-Unknown00000000000000000000000"
)

// TestBuiltinRoutesNeverForwardGatewayKeys is a property over every built-in route, every
// place a caller can put a value (each credential header raw, as Bearer, in a Basic pair; the
// query) and every gateway key (master, valid, revoked and unknown virtual keys): none reaches
// the upstream, with the provider credentials configured and without them (where /anthropic
// forwards the caller's own credential headers).
func TestBuiltinRoutesNeverForwardGatewayKeys(t *testing.T) {
	gatewayKeys := []string{master, validVirtual, revokedVirtual, unknownVirtual}
	paths := []string{"/anthropic/v1/messages", "/openai/v1/chat/completions", "/openai_passthrough/v1/responses",
		"/azure/openai/deployments/d/chat/completions", "/gemini/v1beta/models/m:generateContent",
		"/cohere/v2/chat", "/mistral/v1/chat/completions", "/langfuse/api/public/ingestion",
		"/bedrock/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke", "/bedrock/knowledgebases/KB1/retrieve",
		"/vertex_ai/v1/projects/p/locations/us-central1/publishers/google/models/m:streamGenerateContent",
		"/vertex-ai/v1/projects/p/locations/global/publishers/anthropic/models/c:rawPredict"}
	for _, creds := range []secrets.Inline{providerKeys, {}} {
		up := newRecorder(t)
		gw := leakGateway(t, up, creds)
		forwarded := 0
		for _, path := range paths {
			for _, c := range leakCarriers() {
				for _, k := range gatewayKeys {
					header, query := c(k)
					if header["X-Litellm-Api-Key"] == "" {
						header["X-Litellm-Api-Key"] = validVirtual // authenticates the call
					}
					// A caller's own Anthropic credential beside it, which /anthropic forwards
					// when the gateway has none.
					if header["X-Api-Key"] == "" {
						header["X-Api-Key"] = "sk-ant-api03-caller"
					}
					// And a Google access token, which /vertex_ai forwards then.
					if header["Authorization"] == "" {
						header["Authorization"] = "Bearer ya29.caller"
					}
					target := path
					if query != "" {
						target += "?" + query
					}
					status, _ := call{target: target, body: "{}", header: header}.do(t, gw.URL)
					got, called := up.last(t)
					if !called {
						continue // refused: nothing went upstream
					}
					forwarded++
					if status != 200 {
						t.Fatalf("%s %v: status %d", target, header, status)
					}
					if leaked(got, k) || leaked(got, master) || leaked(got, validVirtual) {
						t.Errorf("%s with %v: the upstream received a gateway key: %s %v", target, header, got.uri, got.header)
					}
				}
			}
		}
		t.Logf("credentials %v: %d calls forwarded", len(creds) > 0, forwarded)
		if forwarded < len(gatewayKeys) || (len(creds) > 0 && forwarded < len(paths)*len(gatewayKeys)) {
			t.Errorf("only %d calls reached the upstream: the property was barely tested", forwarded)
		}
	}
}

// leakCarriers put a value in one place of a request.
func leakCarriers() []func(v string) (map[string]string, string) {
	basic := func(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }
	var cs []func(string) (map[string]string, string)
	for _, h := range append(auth.CredentialHeaders(), "X-Custom", "X-Pass-Authorization", "X-Pass-X-Api-Key") {
		cs = append(cs,
			func(v string) (map[string]string, string) { return map[string]string{h: v}, "" },
			func(v string) (map[string]string, string) { return map[string]string{h: "Bearer " + v}, "" },
			func(v string) (map[string]string, string) { return map[string]string{h: basic("pk:" + v)}, "" },
			func(v string) (map[string]string, string) { return map[string]string{h: basic(v + ":pw")}, "" },
		)
	}
	return append(cs,
		func(v string) (map[string]string, string) { return map[string]string{}, "key=" + v },
		func(v string) (map[string]string, string) {
			return map[string]string{}, "alt=sse&q=" + url.QueryEscape(v)
		},
		func(v string) (map[string]string, string) { return map[string]string{}, "key=x&key=" + v },
	)
}

// leakGateway serves the built-in routes with virtual keys (one valid and granted every route,
// one revoked) besides the master key. With creds, /vertex_ai has a service account too
// (its token endpoint a fake Google).
func leakGateway(t *testing.T, up *recorder, creds secrets.Inline) *httptest.Server {
	t.Helper()
	env := map[string]string{}
	for _, name := range []string{"ANTHROPIC_API_BASE", "OPENAI_API_BASE", "AZURE_API_BASE", "GEMINI_API_BASE", "COHERE_API_BASE", "MISTRAL_API_BASE", "LANGFUSE_HOST", "VERTEX_AI_API_BASE"} {
		env[name] = up.srv.URL
	}
	env[builtin.BedrockRuntimeEndpointEnv], env[builtin.BedrockAgentRuntimeEndpointEnv], env["AWS_REGION"] = up.srv.URL, up.srv.URL, "us-east-1"
	o := builtin.Options{Env: func(k string) string { return env[k] }}
	if len(creds) > 0 { // the gateway's AWS credentials and service account go with its provider keys
		o.Bedrock = signerFor(&staticCreds{keys: testKeys}, nil, nil)
		creds = maps.Clone(creds)
		creds["DEFAULT_GOOGLE_APPLICATION_CREDENTIALS"] = serviceAccount(0, "gw@sa-project.iam.gserviceaccount.com", newFakeGoogle(t).tokenURI())
	}
	o.Vertex = builtin.NewVertexAuth(creds, nil)
	res := config.Parse([]byte("general_settings:\n  master_key: " + master + "\n"))
	table, _, err := builtin.NewTable(res.Config, o)
	if err != nil {
		t.Fatal(err)
	}
	store := keys.NewMemory(
		keys.Key{Hash: auth.Hash(validVirtual), Alias: "valid", Routes: []string{"/"}},
		keys.Key{Hash: auth.Hash(revokedVirtual), Alias: "revoked", Disabled: true},
	)
	verifier := keys.NewVerifier(auth.NewMasterKey(master), store, keys.WithKeyShape(nil))
	h := wiring.NewHandler(wiring.Sources{Routes: table, Secrets: creds, Keys: verifier}, usage.Discard{}, slog.New(slog.DiscardHandler), false)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}
