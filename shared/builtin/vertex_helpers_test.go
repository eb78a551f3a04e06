package builtin_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passthru/gateway/shared/auth"
	"github.com/passthru/gateway/shared/builtin"
	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/secrets"
	"github.com/passthru/gateway/shared/usage/usagetest"
	"github.com/passthru/gateway/shared/wiring"
)

// rsaKeys are RSA keys generated once per test binary: service accounts sign with them.
var rsaKeys = sync.OnceValue(func() [2]*rsa.PrivateKey {
	var keys [2]*rsa.PrivateKey
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		keys[i] = k
	}
	return keys
})

// serviceAccount is a service-account JSON key file as Google issues it, for key i of rsaKeys,
// whose token_uri is tokenURI.
func serviceAccount(i int, email, tokenURI string) string {
	der, err := x509.MarshalPKCS8PrivateKey(rsaKeys()[i])
	if err != nil {
		panic(err)
	}
	sa := map[string]string{
		"type": "service_account", "project_id": "sa-project", "private_key_id": fmt.Sprintf("kid-%d", i),
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": email, "client_id": "1234567890", "token_uri": tokenURI,
		"auth_uri": "https://accounts.google.com/o/oauth2/auth", "universe_domain": "googleapis.com",
	}
	b, _ := json.Marshal(sa)
	return string(b)
}

// fakeGoogle is a token endpoint on loopback that checks each JWT-bearer assertion as Google
// does (RS256 signature by the service account's key, issuer, audience = the token endpoint,
// scope) and mints ya29.test-N tokens.
type fakeGoogle struct {
	srv *httptest.Server

	mu        sync.Mutex
	mints     int
	expiresIn []int // per mint; the last one repeats (default 3600)
	delay     time.Duration
	status    int // answer with this status and an OAuth error (0: mint)
	issuers   []string
	problems  []string
}

func newFakeGoogle(t testing.TB) *fakeGoogle {
	g := &fakeGoogle{}
	g.srv = httptest.NewServer(http.HandlerFunc(g.token))
	t.Cleanup(g.srv.Close)
	return g
}

// set changes the endpoint's behaviour while the handler may run.
func (g *fakeGoogle) set(f func(g *fakeGoogle)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	f(g)
}

func (g *fakeGoogle) tokenURI() string { return g.srv.URL + "/token" }

func (g *fakeGoogle) token(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	g.mu.Lock()
	delay := g.delay
	g.mu.Unlock()
	time.Sleep(delay)
	iss, problem := g.verify(r)
	g.mu.Lock()
	defer g.mu.Unlock()
	if problem != "" {
		g.problems = append(g.problems, problem)
		http.Error(w, `{"error":"invalid_grant","error_description":"`+problem+`"}`, http.StatusBadRequest)
		return
	}
	if g.status != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(g.status)
		_, _ = io.WriteString(w, `{"error":"invalid_grant","error_description":"Invalid JWT Signature."}`)
		return
	}
	g.mints++
	g.issuers = append(g.issuers, iss)
	exp := 3600
	if len(g.expiresIn) > 0 {
		exp = g.expiresIn[min(g.mints, len(g.expiresIn))-1]
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"access_token":"ya29.test-%d","expires_in":%d,"token_type":"Bearer"}`, g.mints, exp)
}

// verify checks the assertion; it returns the issuer, or what is wrong.
func (g *fakeGoogle) verify(r *http.Request) (string, string) {
	if r.Method != http.MethodPost || r.URL.Path != "/token" {
		return "", "not POST /token: " + r.Method + " " + r.URL.Path
	}
	if gt := r.PostForm.Get("grant_type"); gt != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		return "", "grant_type " + gt
	}
	parts := strings.Split(r.PostForm.Get("assertion"), ".")
	if len(parts) != 3 {
		return "", "assertion is no JWT"
	}
	var head struct{ Alg, Kid string }
	var claims struct {
		Iss, Scope, Aud string
		Iat, Exp        int64
	}
	if decodeSegment(parts[0], &head) != nil || decodeSegment(parts[1], &claims) != nil {
		return "", "assertion does not decode"
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return "", "signature does not decode"
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	i := map[string]int{"kid-0": 0, "kid-1": 1}[head.Kid]
	switch {
	case head.Alg != "RS256":
		return "", "alg " + head.Alg
	case rsa.VerifyPKCS1v15(&rsaKeys()[i].PublicKey, crypto.SHA256, sum[:], sig) != nil:
		return "", "bad signature for " + head.Kid
	case claims.Aud != g.tokenURI():
		return "", "aud " + claims.Aud
	case claims.Scope != "https://www.googleapis.com/auth/cloud-platform":
		return "", "scope " + claims.Scope
	case claims.Exp-claims.Iat != 3600:
		return "", fmt.Sprintf("lifetime %d s", claims.Exp-claims.Iat)
	}
	return claims.Iss, ""
}

func decodeSegment(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// counts returns the mints so far and any assertion the endpoint refused.
func (g *fakeGoogle) counts() (int, []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.mints, append([]string(nil), g.problems...)
}

// mutableResolver is a secrets resolver whose values a test changes (a rotated secret). With
// caching it keeps what it read, as Secrets Manager's resolver does, until Invalidate.
type mutableResolver struct {
	mu          sync.Mutex
	m           map[string]string
	caching     bool
	cache       map[string]string
	invalidated []string
}

func (r *mutableResolver) Invalidate(names ...string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.invalidated = append(r.invalidated, names...)
	for _, n := range names {
		delete(r.cache, n)
	}
	return true
}

func (r *mutableResolver) set(name, value string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]string{}
	}
	r.m[name] = value
}

func (r *mutableResolver) Resolve(_ context.Context, name string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if v, ok := r.cache[name]; ok && r.caching {
		return v, nil
	}
	v := r.m[name]
	if v == "" {
		return "", &secrets.NotFoundError{Name: name}
	}
	if r.caching {
		if r.cache == nil {
			r.cache = map[string]string{}
		}
		r.cache[name] = v
	}
	return v, nil
}

// newVertexUpstream is a mock Vertex AI that records requests and answers in the shapes the
// usage parsers read: Gemini (JSON, SSE) and Claude on Vertex (rawPredict, streamRawPredict).
func newVertexUpstream(t *testing.T) *recorder {
	rec := &recorder{}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, seen{r.Method, r.URL.RequestURI(), r.Header.Clone(), body})
		rec.mu.Unlock()
		vertexRespond(w, r, body)
	}))
	t.Cleanup(rec.srv.Close)
	return rec
}

func vertexRespond(w http.ResponseWriter, r *http.Request, body []byte) {
	path := r.URL.Path
	switch {
	case strings.Contains(path, "/models/reject:"):
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}`)
	case strings.HasSuffix(path, ":streamGenerateContent"):
		respond(w, r)
	case strings.HasSuffix(path, ":generateContent"):
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"candidates":[{"content":{"parts":[{"text":"Hi"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":2,"totalTokenCount":7},"modelVersion":"gemini-2.0-flash-001"}`)
	case strings.HasSuffix(path, ":rawPredict") || strings.HasSuffix(path, ":streamRawPredict"):
		if !bytes.Contains(body, []byte(`"stream":true`)) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"id":"msg_v","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"Hi"}],"usage":{"input_tokens":12,"output_tokens":4}}`)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for _, ev := range []string{
			`event: message_start` + "\n" + `data: {"type":"message_start","message":{"id":"msg_v","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"usage":{"input_tokens":12,"output_tokens":1}}}`,
			`event: content_block_delta` + "\n" + `data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}`,
			`event: message_delta` + "\n" + `data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":4}}`,
			`event: message_stop` + "\n" + `data: {"type":"message_stop"}`,
		} {
			_, _ = io.WriteString(w, ev+"\n\n")
			w.(http.Flusher).Flush()
		}
	default:
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}
}

// vertexSetup is a gateway serving the built-in routes with /vertex_ai pointed at a mock
// upstream (VERTEX_AI_API_BASE) and its service account's token_uri at a fake Google.
type vertexSetup struct {
	up     *recorder
	google *fakeGoogle
	res    *mutableResolver
	gw     *httptest.Server
	sink   *usagetest.Sink
	logs   *lockedWriter
}

// newVertexSetup starts it; with sa the gateway holds a service account (the
// DEFAULT_GOOGLE_APPLICATION_CREDENTIALS secret), else none. yaml is appended to the config.
func newVertexSetup(t *testing.T, sa bool, yaml string, env map[string]string) *vertexSetup {
	t.Helper()
	s := &vertexSetup{up: newVertexUpstream(t), google: newFakeGoogle(t), res: &mutableResolver{}, logs: &lockedWriter{}}
	if sa {
		s.res.set("DEFAULT_GOOGLE_APPLICATION_CREDENTIALS", serviceAccount(0, "gw@sa-project.iam.gserviceaccount.com", s.google.tokenURI()))
	}
	all := map[string]string{"VERTEX_AI_API_BASE": s.up.srv.URL}
	for k, v := range env {
		all[k] = v
	}
	res := config.Parse([]byte("general_settings:\n  master_key: " + master + "\n" + yaml))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	opts := builtin.Options{Env: func(k string) string { return all[k] }, Vertex: builtin.NewVertexAuth(s.res, nil)}
	table, _, err := builtin.NewTable(res.Config, opts)
	if err != nil {
		t.Fatal(err)
	}
	s.sink = usagetest.NewSink()
	log := slog.New(slog.NewTextHandler(s.logs, nil))
	h := wiring.NewHandler(wiring.Sources{Routes: table, Secrets: s.res, Keys: auth.NewMasterKey(master)}, s.sink, log, false)
	s.gw = httptest.NewServer(h)
	t.Cleanup(s.gw.Close)
	return s
}

// upstreamHeaders is what the upstream received, every header but Content-Length.
func upstreamHeaders(got seen) map[string]string {
	hdr := map[string]string{}
	for name, vv := range got.header {
		if name != "Content-Length" {
			hdr[name] = strings.Join(vv, ", ")
		}
	}
	return hdr
}
