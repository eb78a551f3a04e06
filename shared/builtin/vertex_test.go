package builtin_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passthru/gateway/shared/builtin"
	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/route"
	"github.com/passthru/gateway/shared/secrets"
)

// vertexURL is the upstream URL the gateway builds for a request target (path and query as a
// client sends them), under a configuration (appended YAML) and environment; "" and the
// error when the request is refused.
func vertexURL(t *testing.T, yaml string, env map[string]string, target string) (string, error) {
	t.Helper()
	res := config.Parse([]byte("general_settings:\n  master_key: m\n" + yaml))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	table, _, err := builtin.NewTable(res.Config, builtin.Options{Env: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	m := table.Lookup(http.MethodPost, u.Path)
	if m.Route == nil || m.Route.Provider != "vertex_ai" {
		t.Fatalf("%s: no vertex_ai route (%+v)", target, m)
	}
	got, err := m.Route.UpstreamURL(route.RawSubpath(u, m.Subpath), u.RawQuery)
	if err != nil {
		return "", err
	}
	return got.String(), nil
}

// Every host rule and path rule: the exact upstream URL.
func TestVertexUpstreamURLs(t *testing.T) {
	const gen = "/publishers/google/models/gemini-2.0-flash:generateContent"
	const cfgPL = "default_vertex_config:\n  vertex_project: cfg-p\n  vertex_location: europe-west1\n"
	tests := []struct {
		name, yaml string
		env        map[string]string
		target     string
		want       string // "" with wantErr
		wantErr    string
	}{
		// Hosts, by the path's location.
		{"regional", "", nil, "/vertex_ai/v1/projects/p1/locations/us-central1" + gen, "https://us-central1-aiplatform.googleapis.com/v1/projects/p1/locations/us-central1" + gen, ""},
		{"global", "", nil, "/vertex_ai/v1/projects/p1/locations/global" + gen, "https://aiplatform.googleapis.com/v1/projects/p1/locations/global" + gen, ""},
		{"multi-region us", "", nil, "/vertex_ai/v1/projects/p1/locations/us" + gen, "https://aiplatform.us.rep.googleapis.com/v1/projects/p1/locations/us" + gen, ""},
		{"multi-region eu", "", nil, "/vertex_ai/v1/projects/p1/locations/eu" + gen, "https://aiplatform.eu.rep.googleapis.com/v1/projects/p1/locations/eu" + gen, ""},
		{"another region, /vertex-ai", "", nil, "/vertex-ai/v1/projects/p1/locations/europe-west4" + gen, "https://europe-west4-aiplatform.googleapis.com/v1/projects/p1/locations/europe-west4" + gen, ""},
		{"v1beta1 kept as sent", "", nil, "/vertex_ai/v1beta1/projects/p1/locations/us-central1/cachedContents", "https://us-central1-aiplatform.googleapis.com/v1beta1/projects/p1/locations/us-central1/cachedContents", ""},
		{"Claude Code count-tokens", "", nil, "/vertex_ai/v1/projects/p1/locations/us-east5/publishers/anthropic/models/count-tokens:rawPredict",
			"https://us-east5-aiplatform.googleapis.com/v1/projects/p1/locations/us-east5/publishers/anthropic/models/count-tokens:rawPredict", ""},
		{"model id with @ kept", "", nil, "/vertex_ai/v1/projects/p1/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict",
			"https://us-east5-aiplatform.googleapis.com/v1/projects/p1/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict", ""},
		// alt=sse on streamGenerateContent only, set over the client's alt.
		{"streamGenerateContent gets alt=sse", "", nil, "/vertex_ai/v1/projects/p1/locations/us-central1/publishers/google/models/m:streamGenerateContent",
			"https://us-central1-aiplatform.googleapis.com/v1/projects/p1/locations/us-central1/publishers/google/models/m:streamGenerateContent?alt=sse", ""},
		{"the client's alt=sse is not doubled", "", nil, "/vertex_ai/v1/projects/p1/locations/us-central1/publishers/google/models/m:streamGenerateContent?alt=sse",
			"https://us-central1-aiplatform.googleapis.com/v1/projects/p1/locations/us-central1/publishers/google/models/m:streamGenerateContent?alt=sse", ""},
		{"another alt is replaced, other parameters kept", "", nil, "/vertex_ai/v1/projects/p1/locations/us-central1/publishers/google/models/m:streamGenerateContent?alt=json&x=1",
			"https://us-central1-aiplatform.googleapis.com/v1/projects/p1/locations/us-central1/publishers/google/models/m:streamGenerateContent?alt=sse&x=1", ""},
		{"an encoded colon counts, and stays encoded", "", nil, "/vertex_ai/v1/projects/p1/locations/us-central1/publishers/google/models/m%3astreamGenerateContent",
			"https://us-central1-aiplatform.googleapis.com/v1/projects/p1/locations/us-central1/publishers/google/models/m%3astreamGenerateContent?alt=sse", ""},
		{"streamRawPredict: no alt=sse (the body's stream decides)", "", nil, "/vertex_ai/v1/projects/p1/locations/us-east5/publishers/anthropic/models/c:streamRawPredict",
			"https://us-east5-aiplatform.googleapis.com/v1/projects/p1/locations/us-east5/publishers/anthropic/models/c:streamRawPredict", ""},
		{"generateContent: the client's query as sent", "", nil, "/vertex_ai/v1/projects/p1/locations/us-central1" + gen + "?b=%7E&a=1",
			"https://us-central1-aiplatform.googleapis.com/v1/projects/p1/locations/us-central1" + gen + "?b=%7E&a=1", ""},
		// The configured project and location replace the path's.
		{"configured project and location replace the path's", cfgPL, nil, "/vertex_ai/v1/projects/bad-project/locations/bad-location" + gen,
			"https://europe-west1-aiplatform.googleapis.com/v1/projects/cfg-p/locations/europe-west1" + gen, ""},
		{"short path", cfgPL, nil, "/vertex_ai" + gen, "https://europe-west1-aiplatform.googleapis.com/v1/projects/cfg-p/locations/europe-west1" + gen, ""},
		{"short path, cachedContents: v1beta1", cfgPL, nil, "/vertex_ai/cachedContents", "https://europe-west1-aiplatform.googleapis.com/v1beta1/projects/cfg-p/locations/europe-west1/cachedContents", ""},
		{"short path, explicit v1beta1", cfgPL, nil, "/vertex_ai/v1beta1" + gen, "https://europe-west1-aiplatform.googleapis.com/v1beta1/projects/cfg-p/locations/europe-west1" + gen, ""},
		{"short path, explicit v1", cfgPL, nil, "/vertex-ai/v1" + gen, "https://europe-west1-aiplatform.googleapis.com/v1/projects/cfg-p/locations/europe-west1" + gen, ""},
		{"short path, streamGenerateContent", cfgPL, nil, "/vertex_ai/publishers/google/models/m:streamGenerateContent",
			"https://europe-west1-aiplatform.googleapis.com/v1/projects/cfg-p/locations/europe-west1/publishers/google/models/m:streamGenerateContent?alt=sse", ""},
		{"environment defaults", "", map[string]string{"DEFAULT_VERTEXAI_PROJECT": "env-p", "DEFAULT_VERTEXAI_LOCATION": "global"}, "/vertex_ai" + gen,
			"https://aiplatform.googleapis.com/v1/projects/env-p/locations/global" + gen, ""},
		{"the config wins field by field, the environment fills in",
			"default_vertex_config:\n  vertex_location: us\n", map[string]string{"DEFAULT_VERTEXAI_PROJECT": "env-p", "DEFAULT_VERTEXAI_LOCATION": "global"},
			"/vertex_ai/v1/projects/p1/locations/asia-east1" + gen, "https://aiplatform.us.rep.googleapis.com/v1/projects/env-p/locations/us" + gen, ""},
		{"configured values by os.environ/ reference",
			"default_vertex_config:\n  vertex_project: os.environ/GCP_PROJECT\n  vertex_location: os.environ/GCP_LOCATION\n",
			map[string]string{"GCP_PROJECT": "example.com:ref-p", "GCP_LOCATION": "asia-northeast1"}, "/vertex_ai" + gen,
			"https://asia-northeast1-aiplatform.googleapis.com/v1/projects/example.com:ref-p/locations/asia-northeast1" + gen, ""},
		{"a location alone keeps the path's project", "default_vertex_config:\n  vertex_location: us-east5\n", nil,
			"/vertex_ai/v1/projects/p%2D1/locations/us-central1" + gen, "https://us-east5-aiplatform.googleapis.com/v1/projects/p%2D1/locations/us-east5" + gen, ""},
		{"VERTEX_AI_API_BASE replaces the host, path rules unchanged", cfgPL, map[string]string{"VERTEX_AI_API_BASE": "http://127.0.0.1:9/mock"},
			"/vertex_ai" + gen, "http://127.0.0.1:9/mock/v1/projects/cfg-p/locations/europe-west1" + gen, ""},
		// Refused: 400 before anything goes upstream.
		{"no location anywhere", "", nil, "/vertex_ai" + gen, "",
			"no Vertex AI location: the path has no /projects/<project>/locations/<location>/ and neither default_vertex_config.vertex_location nor DEFAULT_VERTEXAI_LOCATION is set"},
		{"short path without a project", "default_vertex_config:\n  vertex_location: us\n", nil, "/vertex_ai" + gen, "",
			"no Vertex AI project: the path has no /projects/<project>/locations/<location>/ and neither default_vertex_config.vertex_project nor DEFAULT_VERTEXAI_PROJECT is set"},
		{"a location that would change the host", "", nil, "/vertex_ai/v1/projects/p1/locations/evil.example%2Fx" + gen, "",
			`"evil.example/x" is not a Vertex AI location such as us-central1, europe-west4, us, eu or global`},
		{"an encoded dot in the location", "", nil, "/vertex_ai/v1/projects/p1/locations/us%2Eevil.example" + gen, "",
			`"us.evil.example" is not a Vertex AI location such as us-central1, europe-west4, us, eu or global`},
		{"an uppercase location", "", nil, "/vertex_ai/v1/projects/p1/locations/US-CENTRAL1" + gen, "",
			`"US-CENTRAL1" is not a Vertex AI location such as us-central1, europe-west4, us, eu or global`},
		{"a bad DEFAULT_VERTEXAI_LOCATION", "", map[string]string{"DEFAULT_VERTEXAI_LOCATION": "x.y"}, "/vertex_ai/v1/projects/p1/locations/us" + gen, "",
			`the gateway's default Vertex AI location: "x.y" is not a Vertex AI location such as us-central1, europe-west4, us, eu or global`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := vertexURL(t, tt.yaml, tt.env, tt.target)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("%s: %q, %v; want error %s", tt.target, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("%s:\n got %s (%v)\nwant %s", tt.target, got, err, tt.want)
			}
		})
	}
}

// With the gateway's service account: the exact upstream request. Only the allow-listed
// client headers go (and x-pass-), the access token replaces whatever the caller sent as
// Authorization, and the gateway key goes nowhere.
func TestVertexWithServiceAccount(t *testing.T) {
	s := newVertexSetup(t, true, "", nil)
	const gemini = `{"contents":[{"role":"user","parts":[{"text":"Hi"}]}]}`
	const claude = `{"anthropic_version":"vertex-2023-10-16","messages":[{"role":"user","content":"Hi"}],"max_tokens":16}`
	tests := []struct {
		name string
		call call
		uri  string
		want map[string]string // every upstream header but Content-Length
	}{
		{"@google-cloud/vertexai: a stub token as Authorization, the key in x-litellm-api-key",
			call{target: "/vertex_ai/v1/projects/p1/locations/us-central1/publishers/google/models/gemini-2.0-flash:generateContent", body: gemini,
				header: map[string]string{"Authorization": "Bearer stub-token", "X-Litellm-Api-Key": master, "Content-Type": "application/json",
					"X-Goog-Api-Client": "gl-node/22 gccl/1.10.0", "User-Agent": "model-builder/1.10.0 grpc-node/1.0"}},
			"/v1/projects/p1/locations/us-central1/publishers/google/models/gemini-2.0-flash:generateContent",
			map[string]string{"Authorization": "Bearer ya29.test-1", "Content-Type": "application/json"}},
		{"stream: alt=sse once",
			call{target: "/vertex_ai/v1/projects/p1/locations/us-central1/publishers/google/models/gemini-2.0-flash:streamGenerateContent?alt=sse", body: gemini,
				header: map[string]string{"Authorization": "Bearer " + master, "Content-Type": "application/json"}},
			"/v1/projects/p1/locations/us-central1/publishers/google/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
			map[string]string{"Authorization": "Bearer ya29.test-1", "Content-Type": "application/json"}},
		{"Claude Code (ANTHROPIC_VERTEX_BASE_URL=.../vertex_ai/v1): anthropic-beta and anthropic-version go along",
			call{target: "/vertex_ai/v1/projects/p1/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict", body: claude,
				header: map[string]string{"Authorization": "Bearer " + master, "Proxy-Authorization": "Bearer " + master, "Content-Type": "application/json",
					"Anthropic-Version": "vertex-2023-10-16", "Anthropic-Beta": "claude-code-20250219,oauth-2025-04-20", "X-Stainless-Lang": "js",
					"X-App": "cli", "X-Api-Key": "sk-ant-api03-caller"}},
			"/v1/projects/p1/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict",
			map[string]string{"Authorization": "Bearer ya29.test-1", "Content-Type": "application/json",
				"Anthropic-Version": "vertex-2023-10-16", "Anthropic-Beta": "claude-code-20250219,oauth-2025-04-20"}},
		{"the caller's own Google token is replaced; x-serverless-authorization, content-encoding and x-pass- go",
			call{target: "/vertex-ai/v1/projects/p1/locations/global/endpoints/e1:predict", body: `{"instances":[]}`,
				header: map[string]string{"X-Litellm-Api-Key": "Bearer " + master, "Authorization": "Bearer ya29.caller", "X-Goog-Api-Key": "AIza-caller",
					"X-Serverless-Authorization": "Bearer id-token", "Content-Type": "application/json", "Content-Encoding": "identity",
					"X-Pass-X-Goog-User-Project": "billing-p", "X-Pass-Authorization": "Bearer sneaky", "Cookie": "c=1", "X-Forwarded-For": "10.0.0.1"}},
			"/v1/projects/p1/locations/global/endpoints/e1:predict",
			map[string]string{"Authorization": "Bearer ya29.test-1", "Content-Type": "application/json", "Content-Encoding": "identity",
				"X-Serverless-Authorization": "Bearer id-token", "X-Goog-User-Project": "billing-p"}},
		{"GET with the key in x-litellm-api-key",
			call{method: http.MethodGet, target: "/vertex_ai/v1/projects/p1/locations/us-central1/batchPredictionJobs?pageSize=2",
				header: map[string]string{"X-Litellm-Api-Key": master}},
			"/v1/projects/p1/locations/us-central1/batchPredictionJobs?pageSize=2",
			map[string]string{"Authorization": "Bearer ya29.test-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := tt.call.do(t, s.gw.URL)
			got, ok := s.up.last(t)
			if status != http.StatusOK || !ok {
				t.Fatalf("status %d: %s (upstream called %v)", status, body, ok)
			}
			if got.uri != tt.uri || string(got.body) != tt.call.body {
				t.Errorf("upstream got %s %s %q; want %s %q", got.method, got.uri, got.body, tt.uri, tt.call.body)
			}
			if hdr := upstreamHeaders(got); !mapsEqual(hdr, tt.want) {
				t.Errorf("upstream headers\n got %v\nwant %v", hdr, tt.want)
			}
			if leaked(got, master) {
				t.Errorf("the gateway key went upstream: %+v", got)
			}
		})
	}
	if mints, problems := s.google.counts(); mints != 1 || problems != nil {
		t.Errorf("%d tokens minted for %d calls (assertions refused: %q); want 1", mints, len(tests), problems)
	}
}

// Concurrent calls on a cold cache wait for one mint and all use its token.
func TestVertexOneMintForConcurrentCalls(t *testing.T) {
	s := newVertexSetup(t, true, "", nil)
	s.google.set(func(g *fakeGoogle) { g.delay = 150 * time.Millisecond }) // every call arrives while the first mint is in flight
	const n = 16
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		wg.Go(func() {
			statuses[i], _ = call{target: "/vertex_ai/v1/projects/p1/locations/us-central1/publishers/google/models/m:generateContent",
				body: "{}", header: map[string]string{"Authorization": "Bearer " + master}}.do(t, s.gw.URL)
		})
	}
	wg.Wait()
	s.up.mu.Lock()
	reqs := s.up.reqs
	s.up.mu.Unlock()
	for i, st := range statuses {
		if st != 200 {
			t.Errorf("call %d: status %d", i, st)
		}
	}
	if len(reqs) != n {
		t.Fatalf("%d upstream calls, want %d", len(reqs), n)
	}
	for _, r := range reqs {
		if a := r.header.Get("Authorization"); a != "Bearer ya29.test-1" {
			t.Errorf("upstream Authorization %q, want the one minted token", a)
		}
	}
	if mints, problems := s.google.counts(); mints != 1 || problems != nil {
		t.Errorf("%d mints for %d concurrent calls (refused: %q); want 1", mints, n, problems)
	}
}

// A token is refreshed before it expires: one that has less than oauth2's 10 s margin left is
// replaced on the next call; a fresh one is reused without a call to Google.
func TestVertexTokenRefresh(t *testing.T) {
	s := newVertexSetup(t, true, "", nil)
	s.google.set(func(g *fakeGoogle) { g.expiresIn = []int{5, 3600} }) // the first token expires in 5 s, inside the margin
	var tokens []string
	for range 3 {
		status, body := call{target: "/vertex_ai/v1/projects/p1/locations/us/publishers/google/models/m:generateContent",
			body: "{}", header: map[string]string{"Authorization": "Bearer " + master}}.do(t, s.gw.URL)
		got, _ := s.up.last(t)
		if status != 200 {
			t.Fatalf("status %d: %s", status, body)
		}
		tokens = append(tokens, got.header.Get("Authorization"))
	}
	if want := []string{"Bearer ya29.test-1", "Bearer ya29.test-2", "Bearer ya29.test-2"}; !slices.Equal(tokens, want) {
		t.Errorf("tokens %q, want %q", tokens, want)
	}
	if mints, _ := s.google.counts(); mints != 2 {
		t.Errorf("%d mints, want 2", mints)
	}
}

// A rotated service account (a new secret value) gets its own token on the next call, signed
// with its own key; the old token is not used for it.
func TestVertexServiceAccountRotation(t *testing.T) {
	s := newVertexSetup(t, true, "", nil)
	do := func() string {
		t.Helper()
		status, body := call{target: "/vertex_ai/v1/projects/p1/locations/eu/publishers/google/models/m:generateContent",
			body: "{}", header: map[string]string{"Authorization": "Bearer " + master}}.do(t, s.gw.URL)
		got, _ := s.up.last(t)
		if status != 200 {
			t.Fatalf("status %d: %s", status, body)
		}
		return got.header.Get("Authorization")
	}
	first := do()
	s.res.set("DEFAULT_GOOGLE_APPLICATION_CREDENTIALS", serviceAccount(1, "rotated@sa-project.iam.gserviceaccount.com", s.google.tokenURI()))
	second, third := do(), do()
	if first != "Bearer ya29.test-1" || second != "Bearer ya29.test-2" || third != second {
		t.Errorf("tokens %q %q %q, want test-1, then test-2 twice", first, second, third)
	}
	s.google.mu.Lock()
	issuers := s.google.issuers
	s.google.mu.Unlock()
	if want := []string{"gw@sa-project.iam.gserviceaccount.com", "rotated@sa-project.iam.gserviceaccount.com"}; !slices.Equal(issuers, want) {
		t.Errorf("assertions issued by %q, want %q", issuers, want)
	}
}

// Where the service account may come from: the default secret holding the JSON or a path, and
// default_vertex_config.vertex_credentials as a reference, a path or the JSON itself.
func TestVertexCredentialSources(t *testing.T) {
	g := newFakeGoogle(t)
	sa := serviceAccount(0, "gw@sa-project.iam.gserviceaccount.com", g.tokenURI())
	file := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(file, []byte(sa), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, yaml string
		secrets    map[string]string
	}{
		{"DEFAULT_GOOGLE_APPLICATION_CREDENTIALS holds the JSON", "", map[string]string{"DEFAULT_GOOGLE_APPLICATION_CREDENTIALS": sa}},
		{"DEFAULT_GOOGLE_APPLICATION_CREDENTIALS holds a path", "", map[string]string{"DEFAULT_GOOGLE_APPLICATION_CREDENTIALS": file}},
		{"vertex_credentials: os.environ/ reference", "default_vertex_config:\n  vertex_credentials: os.environ/MY_SA\n", map[string]string{"MY_SA": sa}},
		{"vertex_credentials: a path", "default_vertex_config:\n  vertex_credentials: " + file + "\n", nil},
		{"vertex_credentials: the JSON itself", "default_vertex_config:\n  vertex_credentials: '" + sa + "'\n", nil},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newVertexSetup(t, false, tt.yaml, nil)
			for k, v := range tt.secrets {
				s.res.set(k, v)
			}
			status, body := call{target: "/vertex_ai/v1/projects/p1/locations/global/publishers/google/models/m:generateContent",
				body: "{}", header: map[string]string{"Authorization": "Bearer " + master}}.do(t, s.gw.URL)
			got, _ := s.up.last(t)
			if want := "Bearer ya29.test-" + string(rune('1'+i)); status != 200 || got.header.Get("Authorization") != want {
				t.Errorf("%d %s, upstream Authorization %q; want %s", status, body, got.header.Get("Authorization"), want)
			}
		})
	}
	if mints, problems := g.counts(); mints != len(tests) || problems != nil {
		t.Errorf("%d mints (refused %q), want %d", mints, problems, len(tests))
	}
}

// Without a service account (LiteLLM's BYO mode): a caller's own Google credential goes
// upstream, never the gateway key; with nothing else the call is refused before any upstream
// call.
func TestVertexWithoutServiceAccount(t *testing.T) {
	s := newVertexSetup(t, false, "", nil)
	const path = "/vertex_ai/v1/projects/p1/locations/us-central1/publishers/google/models/m:streamGenerateContent"
	const refused = `{"error":{"message":"The gateway has no vertex_ai credential for /vertex_ai: set DEFAULT_GOOGLE_APPLICATION_CREDENTIALS (the environment locally, Secrets Manager on AWS), or send your own vertex_ai credential in Authorization or X-Goog-Api-Key with the gateway key in x-litellm-api-key.","type":"auth_error","param":"None","code":"401"}}`
	tests := []struct {
		name   string
		header map[string]string
		want   map[string]string // nil: refused with 401
	}{
		{"own OAuth token beside the gateway key", map[string]string{"X-Litellm-Api-Key": master, "Authorization": "Bearer ya29.caller", "Content-Type": "application/json"},
			map[string]string{"Authorization": "Bearer ya29.caller", "Content-Type": "application/json"}},
		{"own API key, the gateway key as Bearer", map[string]string{"Authorization": "Bearer " + master, "X-Goog-Api-Key": "AIza-caller"},
			map[string]string{"X-Goog-Api-Key": "AIza-caller"}},
		{"the gateway key alone", map[string]string{"Authorization": "Bearer " + master}, nil},
		{"the gateway key in both headers", map[string]string{"X-Litellm-Api-Key": master, "Authorization": "Bearer " + master}, nil},
		{"a virtual key as the Google key", map[string]string{"X-Litellm-Api-Key": master, "X-Goog-Api-Key": validVirtual}, nil},
		{"a credential Google does not read", map[string]string{"X-Litellm-Api-Key": master, "X-Api-Key": "sk-ant-api03-caller", "Api-Key": "az"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := call{target: path, body: "{}", header: tt.header}.do(t, s.gw.URL)
			got, called := s.up.last(t)
			if tt.want == nil {
				if status != 401 || body != refused || called {
					t.Errorf("%d %s (upstream called %v); want 401 %s", status, body, called, refused)
				}
				return
			}
			if status != 200 || !called || got.uri != "/v1/projects/p1/locations/us-central1/publishers/google/models/m:streamGenerateContent?alt=sse" {
				t.Fatalf("%d %s; upstream %v %s", status, body, called, got.uri)
			}
			if hdr := upstreamHeaders(got); !mapsEqual(hdr, tt.want) {
				t.Errorf("upstream headers %v, want %v", hdr, tt.want)
			}
		})
	}
	if mints, _ := s.google.counts(); mints != 0 {
		t.Errorf("%d tokens minted without a service account", mints)
	}
}

// Failures answer in LiteLLM's error shape, nothing goes upstream, and no log line holds any
// part of the service account.
func TestVertexFailures(t *testing.T) {
	const path = "/vertex_ai/v1/projects/p1/locations/us-central1/publishers/google/models/m:generateContent"
	const unavailable = `{"error":{"message":"The provider credential for this route is unavailable; try again shortly.","type":"service_unavailable","param":"None","code":"503"}}`
	authorized := map[string]string{"Authorization": "Bearer " + master}
	tests := []struct {
		name    string
		yaml    string
		setup   func(s *vertexSetup)
		target  string
		status  int
		body    string
		logHas  string
		noMints bool
	}{
		{"no location: 400 naming where it goes", "", nil, "/vertex_ai/publishers/google/models/m:generateContent", 400,
			`{"error":{"message":"Invalid request URL: no Vertex AI location: the path has no /projects/\u003cproject\u003e/locations/\u003clocation\u003e/ and neither default_vertex_config.vertex_location nor DEFAULT_VERTEXAI_LOCATION is set","type":"invalid_request_error","param":"None","code":"400"}}`,
			"", true},
		{"the token endpoint refuses the assertion: 503", "", func(s *vertexSetup) { s.google.set(func(g *fakeGoogle) { g.status = 400 }) }, path, 503, unavailable,
			`route=/vertex_ai error="mint a Google access token: oauth2: cannot fetch token: 400 Bad Request`, true},
		{"the service account is not JSON: 503", "", func(s *vertexSetup) {
			s.res.set("DEFAULT_GOOGLE_APPLICATION_CREDENTIALS", `{"type":"service_account","private_key":"-----BEGIN PRIVATE KEY-----\nMIIsecret`)
		}, path, 503, unavailable, "DEFAULT_GOOGLE_APPLICATION_CREDENTIALS: the service account is not valid JSON", true},
		{"not a service account: 503", "", func(s *vertexSetup) {
			s.res.set("DEFAULT_GOOGLE_APPLICATION_CREDENTIALS", `{"type":"authorized_user","client_id":"c","client_secret":"topsecret","refresh_token":"r"}`)
		}, path, 503, unavailable, `google: expected credential type \"service_account\", found \"authorized_user\"`, true},
		{"the service account file is missing: 503", "", func(s *vertexSetup) {
			s.res.set("DEFAULT_GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/sa.json")
		}, path, 503, unavailable, "DEFAULT_GOOGLE_APPLICATION_CREDENTIALS: read the service account file: open /nonexistent/sa.json: no such file or directory", true},
		{"a configured reference that is not set: 401 naming it", "default_vertex_config:\n  vertex_credentials: os.environ/MISSING_SA\n", nil, path, 401,
			`{"error":{"message":"The gateway has no vertex_ai credential for /vertex_ai: set MISSING_SA (the environment locally, Secrets Manager on AWS), or send your own vertex_ai credential in Authorization or X-Goog-Api-Key with the gateway key in x-litellm-api-key.","type":"auth_error","param":"None","code":"401"}}`,
			`msg="provider credential not configured"`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newVertexSetup(t, true, tt.yaml, nil)
			if tt.setup != nil {
				tt.setup(s)
			}
			status, body := call{target: tt.target, body: "{}", header: authorized}.do(t, s.gw.URL)
			_, called := s.up.last(t)
			if status != tt.status || body != tt.body || called {
				t.Errorf("%d %s (upstream called %v)\nwant %d %s", status, body, called, tt.status, tt.body)
			}
			logs := s.logs.String()
			if !strings.Contains(logs, tt.logHas) {
				t.Errorf("logs lack %q:\n%s", tt.logHas, logs)
			}
			for _, secret := range []string{"PRIVATE KEY", "MIIsecret", "topsecret", master} {
				if strings.Contains(logs, secret) {
					t.Errorf("logs hold %q:\n%s", secret, logs)
				}
			}
			if mints, _ := s.google.counts(); tt.noMints && mints != 0 {
				t.Errorf("%d tokens minted", mints)
			}
		})
	}
}

// Streams are relayed as they come (Gemini SSE by alt=sse, Claude's by the body's stream) and
// every call's usage record names vertex_ai, the model and the tokens.
func TestVertexStreamsAndUsage(t *testing.T) {
	s := newVertexSetup(t, true, "", nil)
	const claude = `"anthropic_version":"vertex-2023-10-16","messages":[{"role":"user","content":"Hi"}],"max_tokens":16`
	tests := []struct {
		name, target, body, contentType, model string
		in, out                                int64
	}{
		{"generateContent", "/vertex_ai/v1/projects/p1/locations/us-central1/publishers/google/models/gemini-2.0-flash:generateContent", `{"contents":[]}`,
			"application/json", "gemini-2.0-flash-001", 5, 2}, // the response's modelVersion
		{"streamGenerateContent", "/vertex_ai/v1/projects/p1/locations/us-central1/publishers/google/models/gemini-2.0-flash:streamGenerateContent", `{"contents":[]}`,
			"text/event-stream", "gemini-2.0-flash", 4, 2},
		{"rawPredict", "/vertex_ai/v1/projects/p1/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict", "{" + claude + "}",
			"application/json", "claude-sonnet-4-5-20250929", 12, 4},
		{"streamRawPredict, stream true", "/vertex_ai/v1/projects/p1/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict",
			`{` + claude + `,"stream":true}`, "text/event-stream", "claude-sonnet-4-5-20250929", 12, 4},
		{"streamRawPredict, stream false", "/vertex_ai/v1/projects/p1/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict",
			`{` + claude + `,"stream":false}`, "application/json", "claude-sonnet-4-5-20250929", 12, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, s.gw.URL+tt.target, strings.NewReader(tt.body))
			req.Header.Set("Authorization", "Bearer "+master)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, _ := s.up.last(t)
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != tt.contentType {
				t.Fatalf("%d %s, want 200 %s", resp.StatusCode, resp.Header.Get("Content-Type"), tt.contentType)
			}
			if string(got.body) != tt.body {
				t.Errorf("upstream body %q, want %q", got.body, tt.body)
			}
			rec := s.sink.Next(t)
			if rec.Provider != "vertex_ai" || rec.Model != tt.model || rec.Input == nil || *rec.Input != tt.in || rec.Output == nil || *rec.Output != tt.out {
				t.Errorf("record %s %s %v/%v; want vertex_ai %s %d/%d", rec.Provider, rec.Model, rec.Input, rec.Output, tt.model, tt.in, tt.out)
			}
		})
	}
}

// validate's lines and `gatewayctl secrets check`'s secrets for the route, by configuration.
func TestVertexDescribeAndSecrets(t *testing.T) {
	tests := []struct {
		name, yaml string
		env        map[string]string
		lines      []string
		secrets    []builtin.Secret
	}{
		{"nothing set", "", nil,
			[]string{"/vertex_ai/** -> https://{location}-aiplatform.googleapis.com (vertex_ai; DEFAULT_GOOGLE_APPLICATION_CREDENTIALS not set: callers' own credentials only)",
				"/vertex-ai/** -> https://{location}-aiplatform.googleapis.com (vertex_ai; DEFAULT_GOOGLE_APPLICATION_CREDENTIALS not set: callers' own credentials only)"},
			[]builtin.Secret{{Name: "DEFAULT_GOOGLE_APPLICATION_CREDENTIALS", Provider: "vertex_ai", Prefix: "/vertex_ai", Optional: true}}},
		{"the default secret set, an override", "", map[string]string{"DEFAULT_GOOGLE_APPLICATION_CREDENTIALS": "{}", "VERTEX_AI_API_BASE": "http://mock:8080"},
			[]string{"/vertex_ai/** -> http://mock:8080 (vertex_ai; DEFAULT_GOOGLE_APPLICATION_CREDENTIALS set)",
				"/vertex-ai/** -> http://mock:8080 (vertex_ai; DEFAULT_GOOGLE_APPLICATION_CREDENTIALS set)"},
			[]builtin.Secret{{Name: "DEFAULT_GOOGLE_APPLICATION_CREDENTIALS", Provider: "vertex_ai", Prefix: "/vertex_ai", Optional: true}}},
		{"a configured reference", "default_vertex_config:\n  vertex_credentials: os.environ/VERTEX_SA\n", nil,
			[]string{"/vertex_ai/** -> https://{location}-aiplatform.googleapis.com (vertex_ai; VERTEX_SA not set: callers' own credentials only)",
				"/vertex-ai/** -> https://{location}-aiplatform.googleapis.com (vertex_ai; VERTEX_SA not set: callers' own credentials only)"},
			[]builtin.Secret{{Name: "VERTEX_SA", Provider: "vertex_ai", Prefix: "/vertex_ai", Optional: true}}},
		{"a configured path", "default_vertex_config:\n  vertex_credentials: /var/task/sa.json\n", nil,
			[]string{"/vertex_ai/** -> https://{location}-aiplatform.googleapis.com (vertex_ai; credential written in the configuration)",
				"/vertex-ai/** -> https://{location}-aiplatform.googleapis.com (vertex_ai; credential written in the configuration)"},
			nil},
		{"turned off", "general_settings:\n  disabled_provider_routes: [vertex_ai]\n", nil,
			[]string{"/vertex_ai/** off (general_settings.disabled_provider_routes)", "/vertex-ai/** off (general_settings.disabled_provider_routes)"}, nil},
		{"a bad override", "", map[string]string{"VERTEX_AI_API_BASE": "ftp://x"},
			[]string{"/vertex_ai/** off: VERTEX_AI_API_BASE is not set or not an http(s) URL", "/vertex-ai/** off: VERTEX_AI_API_BASE is not set or not an http(s) URL"},
			[]builtin.Secret{{Name: "DEFAULT_GOOGLE_APPLICATION_CREDENTIALS", Provider: "vertex_ai", Prefix: "/vertex_ai", Optional: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := config.Parse([]byte(tt.yaml))
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			var lines []string
			for _, l := range builtin.Describe(res.Config, builtin.Options{Env: func(k string) string { return tt.env[k] }}) {
				if strings.HasPrefix(l, "/vertex") {
					lines = append(lines, l)
				}
			}
			if !slices.Equal(lines, tt.lines) {
				t.Errorf("Describe:\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(tt.lines, "\n"))
			}
			var secs []builtin.Secret
			for _, sec := range builtin.Secrets(res.Config) {
				if sec.Provider == "vertex_ai" {
					secs = append(secs, sec)
				}
			}
			if !slices.Equal(secs, tt.secrets) {
				t.Errorf("Secrets %+v, want %+v", secs, tt.secrets)
			}
		})
	}
}

// BenchmarkVertexCachedToken is the per-call cost of the route's Authorizer with a warm
// token: a resolver read, a comparison with the cached service account, the cached token.
// No call to Google: the mint count stays 1.
func BenchmarkVertexCachedToken(b *testing.B) {
	g := newFakeGoogle(b)
	res := &mutableResolver{}
	res.set("DEFAULT_GOOGLE_APPLICATION_CREDENTIALS", serviceAccount(0, "gw@sa-project.iam.gserviceaccount.com", g.tokenURI()))
	cfg := config.Parse([]byte("default_vertex_config:\n  vertex_location: us-central1\n")).Config
	table, _, err := builtin.NewTable(cfg, builtin.Options{Vertex: builtin.NewVertexAuth(res, nil)})
	if err != nil {
		b.Fatal(err)
	}
	a := table.Lookup(http.MethodPost, "/vertex_ai/x").Route.Builtin.Authorizer
	req, _ := http.NewRequest(http.MethodPost, "https://us-central1-aiplatform.googleapis.com/v1/x", nil)
	ctx := context.Background()
	if err := a.Authorize(ctx, req, nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := a.Authorize(ctx, req, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if mints, _ := g.counts(); mints != 1 || req.Header.Get("Authorization") != "Bearer ya29.test-1" {
		b.Fatalf("%d mints, Authorization %q: want one mint for every call", mints, req.Header.Get("Authorization"))
	}
}

var _ secrets.Resolver = (*mutableResolver)(nil)

// Route tables are rebuilt on every SSM refresh; the token cache lives in Options, so a
// rebuilt table's route uses the token minted before.
func TestVertexTokenSurvivesTableRebuild(t *testing.T) {
	g := newFakeGoogle(t)
	res := &mutableResolver{}
	res.set("DEFAULT_GOOGLE_APPLICATION_CREDENTIALS", serviceAccount(0, "gw@sa-project.iam.gserviceaccount.com", g.tokenURI()))
	opts := builtin.Options{Vertex: builtin.NewVertexAuth(res, nil)}
	for i := range 3 {
		cfg := config.Parse([]byte(fmt.Sprintf("general_settings:\n  pass_through_request_timeout: %d\n", 10+i))).Config
		table, _, err := builtin.NewTable(cfg, opts)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, "https://aiplatform.googleapis.com/v1/x", nil)
		if err := table.Lookup(http.MethodPost, "/vertex_ai/x").Route.Builtin.Authorizer.Authorize(context.Background(), req, nil); err != nil {
			t.Fatal(err)
		}
		if a := req.Header.Get("Authorization"); a != "Bearer ya29.test-1" {
			t.Errorf("table %d: Authorization %q, want the first token", i, a)
		}
	}
	if mints, _ := g.counts(); mints != 1 {
		t.Errorf("%d mints across 3 tables, want 1", mints)
	}
}

// When Vertex AI refuses the token (401/403), the service account's cached secret is dropped,
// as a provider key's is: a service account rotated in Secrets Manager is read, and gets its
// own token, on the next call instead of after the cache's TTL. In BYO mode nothing is dropped.
func TestVertexRejectedTokenRereadsTheServiceAccount(t *testing.T) {
	s := newVertexSetup(t, true, "", nil)
	s.res.mu.Lock()
	s.res.caching = true
	s.res.mu.Unlock()
	do := func(model string, header map[string]string) (int, string) {
		t.Helper()
		status, _ := call{target: "/vertex_ai/v1/projects/p1/locations/us/publishers/google/models/" + model + ":generateContent",
			body: "{}", header: header}.do(t, s.gw.URL)
		got, _ := s.up.last(t)
		return status, got.header.Get("Authorization")
	}
	gateway := map[string]string{"Authorization": "Bearer " + master}
	if status, auth := do("m", gateway); status != 200 || auth != "Bearer ya29.test-1" {
		t.Fatalf("%d %q", status, auth)
	}
	s.res.set("DEFAULT_GOOGLE_APPLICATION_CREDENTIALS", serviceAccount(1, "rotated@sa-project.iam.gserviceaccount.com", s.google.tokenURI()))
	if status, auth := do("m", gateway); status != 200 || auth != "Bearer ya29.test-1" {
		t.Fatalf("before the refusal the cached service account stays: %d %q", status, auth)
	}
	if status, _ := do("reject", gateway); status != 401 {
		t.Fatalf("status %d, want the upstream's 401", status)
	}
	if status, auth := do("m", gateway); status != 200 || auth != "Bearer ya29.test-2" {
		t.Errorf("after the refusal: %d %q, want the rotated service account's token", status, auth)
	}
	s.res.mu.Lock()
	invalidated := slices.Clone(s.res.invalidated)
	s.res.mu.Unlock()
	if want := []string{"DEFAULT_GOOGLE_APPLICATION_CREDENTIALS"}; !slices.Equal(invalidated, want) {
		t.Errorf("invalidated %q, want %q", invalidated, want)
	}
	if !strings.Contains(s.logs.String(), `msg="upstream rejected the route's credentials; they will be read again on the next call"`) {
		t.Errorf("no log line for the refusal:\n%s", s.logs.String())
	}

	byo := newVertexSetup(t, false, "", nil)
	status, _ := call{target: "/vertex_ai/v1/projects/p1/locations/us/publishers/google/models/reject:generateContent",
		body: "{}", header: map[string]string{"X-Litellm-Api-Key": master, "Authorization": "Bearer ya29.caller"}}.do(t, byo.gw.URL)
	byo.res.mu.Lock()
	defer byo.res.mu.Unlock()
	if status != 401 || byo.res.invalidated != nil {
		t.Errorf("BYO: %d, invalidated %q; want 401 and nothing dropped", status, byo.res.invalidated)
	}
}

// Options' zero value (no token cache: the gateway was not wired by OpenSources) is safe: the
// route serves callers' own Google credentials and refuses the rest with the 401.
func TestVertexZeroOptions(t *testing.T) {
	up := newRecorder(t)
	gw, _ := gateway(t, up, providerKeys, "", map[string]string{"VERTEX_AI_API_BASE": up.srv.URL})
	const path = "/vertex-ai/v1/projects/p1/locations/us-central1/publishers/google/models/m:generateContent"
	status, body := call{target: path, body: "{}", header: map[string]string{"Authorization": "Bearer " + master}}.do(t, gw.URL)
	if _, called := up.last(t); status != 401 || called || !strings.Contains(body, "set DEFAULT_GOOGLE_APPLICATION_CREDENTIALS") {
		t.Errorf("gateway key only: %d %s (upstream called %v)", status, body, called)
	}
	status, body = call{target: path, body: "{}", header: map[string]string{"X-Litellm-Api-Key": master, "Authorization": "Bearer ya29.caller"}}.do(t, gw.URL)
	if got, called := up.last(t); status != 200 || !called || got.header.Get("Authorization") != "Bearer ya29.caller" {
		t.Errorf("own token: %d %s, upstream Authorization %q", status, body, got.header.Get("Authorization"))
	}
}
