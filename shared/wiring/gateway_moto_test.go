//go:build !noawsbackends

package wiring_test

// Integration tests of the AWS mode against moto_server: routes from SSM Parameter Store,
// provider credentials and the master key from Secrets Manager, served by the real proxy.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/passthru/gateway/shared/awssecrets"
	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/keys"
	"github.com/passthru/gateway/shared/motoserver"
	"github.com/passthru/gateway/shared/proxy"
	"github.com/passthru/gateway/shared/ssmroutes"
	"github.com/passthru/gateway/shared/wiring"
)

func TestMain(m *testing.M) { os.Exit(motoserver.Main(m)) }

const (
	routesPrefix  = "/gw-test"
	secretsPrefix = "gw-test/"
	masterKey     = "sk-master-7f3a9c21e5b04d88"
	routesTTL     = 200 * time.Millisecond
)

// Exact LiteLLM error bodies the proxy answers with.
const (
	invalidKeyBody  = `{"error":{"message":"Authentication Error, Invalid proxy server token passed.","type":"auth_error","param":"None","code":"401"}}`
	noTableBody     = `{"error":{"message":"The gateway's route table is unavailable; try again shortly.","type":"service_unavailable","param":"None","code":"503"}}`
	keysUnavailable = `{"error":{"message":"Key verification is unavailable; try again shortly.","type":"service_unavailable","param":"None","code":"503"}}`
	upstream401Body = `{"error":{"message":"invalid x-api-key","type":"authentication_error"}}`
)

func notFoundBody(path string) string {
	return `{"error":{"message":"Pass-through endpoint ` + path + ` not found.","type":"not_found_error","param":"None","code":"404"}}`
}

// invalidRouteBody is the 404 for a path whose stored route spec is invalid: it says so, without
// the details, which are in the log.
func invalidRouteBody(path string) string {
	return `{"error":{"message":"Pass-through endpoint ` + path + ` exists but its configuration is invalid, so it is not served; the gateway's log names the parameter and the reason.","type":"not_found_error","param":"None","code":"404"}}`
}

// bounded is a context for one AWS call or CLI run: a stalled moto fails the test in 30 s
// instead of hanging the package until go test's timeout.
func bounded(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// ---- AWS (moto) ----

type awsEnv struct {
	cfg aws.Config
	ssm *ssm.Client
	sm  *secretsmanager.Client
}

// setup skips without moto, resets it, and returns clients for it.
func setup(t *testing.T) *awsEnv {
	t.Helper()
	motoserver.Require(t)
	cfg := motoserver.Config(t)
	return &awsEnv{cfg: cfg, ssm: ssm.NewFromConfig(cfg), sm: secretsmanager.NewFromConfig(cfg)}
}

// push syncs a LiteLLM config to SSM under routesPrefix the way `gatewayctl routes push --prune`
// does.
func (a *awsEnv) push(t *testing.T, yamlText string) {
	t.Helper()
	res := config.Parse([]byte(yamlText))
	if res.Err != nil {
		t.Fatalf("config: %v", res.Err)
	}
	ctx := bounded(t)
	stored, err := ssmroutes.List(ctx, a.ssm, routesPrefix)
	if err != nil {
		t.Fatal(err)
	}
	changes, err := ssmroutes.Plan(routesPrefix, res.Config, stored)
	if err != nil {
		t.Fatal(err)
	}
	if err := ssmroutes.Apply(ctx, a.ssm, changes, true, false); err != nil {
		t.Fatal(err)
	}
}

// putParam writes one parameter directly, bypassing the config validation of push.
func (a *awsEnv) putParam(t *testing.T, name, value string) {
	t.Helper()
	_, err := a.ssm.PutParameter(bounded(t), &ssm.PutParameterInput{
		Name: aws.String(name), Value: aws.String(value), Type: ssmtypes.ParameterTypeString, Overwrite: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
}

// setSecret creates or updates the secret secretsPrefix+name.
func (a *awsEnv) setSecret(t *testing.T, name, value string) {
	t.Helper()
	ctx := bounded(t)
	id := secretsPrefix + name
	_, err := a.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(id), SecretString: aws.String(value)})
	var exists *smtypes.ResourceExistsException
	if errors.As(err, &exists) {
		_, err = a.sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(id), SecretString: aws.String(value)})
	}
	if err != nil {
		t.Fatal(err)
	}
}

// countingSSM delegates to the real client, or to one pointed at a dead loopback port while down,
// counting the calls made during an outage.
type countingSSM struct {
	up, dead  ssmroutes.API
	down      atomic.Bool
	calls     atomic.Int64
	downCalls atomic.Int64
}

func (c *countingSSM) GetParametersByPath(ctx context.Context, in *ssm.GetParametersByPathInput, opts ...func(*ssm.Options)) (*ssm.GetParametersByPathOutput, error) {
	c.calls.Add(1)
	if c.down.Load() {
		c.downCalls.Add(1)
		return c.dead.GetParametersByPath(ctx, in, opts...)
	}
	return c.up.GetParametersByPath(ctx, in, opts...)
}

func newCountingSSM(t *testing.T, a *awsEnv) *countingSSM {
	t.Helper()
	// A loopback port that hangs up on every connection: SSM is unreachable, and the port stays
	// ours (a closed one could be reused by another test's server).
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	dead := "http://" + l.Addr().String()
	return &countingSSM{
		up: a.ssm,
		dead: ssm.NewFromConfig(a.cfg, func(o *ssm.Options) {
			o.BaseEndpoint = aws.String(dead)
			o.RetryMaxAttempts = 1
		}),
	}
}

// ---- logs ----

// logSink collects log output; safe for concurrent writes.
type logSink struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *logSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// jsonLogger logs everything (debug included) to sink as JSON lines.
func jsonLogger(sink *logSink) *slog.Logger {
	return slog.New(slog.NewJSONHandler(sink, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// records decodes the JSON log lines, all of them (msg "") or those with the given message.
func (s *logSink) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %v\n%s", err, line)
		}
		if msg == "" || rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// level returns the records at a level (e.g. "ERROR").
func (s *logSink) level(t *testing.T, level string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range s.records(t, "") {
		if r["level"] == level {
			out = append(out, r)
		}
	}
	return out
}

// ---- upstream ----

type seen struct {
	Path   string
	Header http.Header
}

// upstream records requests and answers 200 {"upstream":NAME,"path":PATH}, or, when accept is
// set and the Authorization header differs from it, 401 (or rejectStatus).
type upstream struct {
	*httptest.Server
	name         string
	accept       atomic.Pointer[string]
	rejectStatus int
	mu           sync.Mutex
	reqs         []seen
}

func newUpstream(t *testing.T, name string) *upstream {
	t.Helper()
	u := &upstream{name: name, rejectStatus: http.StatusUnauthorized}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		u.mu.Lock()
		u.reqs = append(u.reqs, seen{Path: r.URL.Path, Header: r.Header.Clone()})
		u.mu.Unlock()
		// Echo the credential back, as some upstreams do: logs must not show it either way.
		w.Header().Set("X-Upstream-Saw", r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		if want := u.accept.Load(); want != nil && r.Header.Get("Authorization") != *want {
			w.WriteHeader(u.rejectStatus)
			_, _ = io.WriteString(w, upstream401Body)
			return
		}
		fmt.Fprintf(w, `{"upstream":%q,"path":%q}`, u.name, r.URL.Path)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) calls() []seen {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]seen(nil), u.reqs...)
}

func (u *upstream) last(t *testing.T) seen {
	t.Helper()
	c := u.calls()
	if len(c) == 0 {
		t.Fatalf("upstream %s received no request", u.name)
	}
	return c[len(c)-1]
}

func (u *upstream) okBody(path string) string {
	return fmt.Sprintf(`{"upstream":%q,"path":%q}`, u.name, path)
}

// ---- config ----

// endpoint renders one pass_through_endpoints entry whose Authorization is a Bearer secret.
func endpoint(path, target, secret string) string {
	return fmt.Sprintf(`
    - path: %s
      target: %s
      auth: true
      headers:
        Authorization: "Bearer os.environ/%s"`, path, target, secret)
}

func configYAML(endpoints ...string) string {
	return `general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
  pass_through_request_timeout: 30
  pass_through_endpoints:` + strings.Join(endpoints, "") + "\n"
}

// ---- gateway ----

// openGateway builds the sources with wiring.OpenSources (routes from SSM, secrets from
// Secrets Manager) and serves the real proxy on loopback.
func openGateway(t *testing.T, o wiring.SourceOptions, log *slog.Logger, opts ...proxy.Option) (*httptest.Server, wiring.Sources) {
	t.Helper()
	o.RoutesPrefix, o.Secrets, o.SecretsPrefix = routesPrefix, "secretsmanager", secretsPrefix
	if o.RoutesTTL == 0 {
		o.RoutesTTL = routesTTL
	}
	s, err := wiring.OpenSources(bounded(t), o, log)
	if err != nil {
		t.Fatal(err)
	}
	all := append([]proxy.Option{proxy.WithKeys(s.Keys), proxy.WithSecrets(s.Secrets), proxy.WithLogger(log)}, opts...)
	srv := httptest.NewServer(proxy.New(s.Routes, all...))
	t.Cleanup(srv.Close)
	return srv, s
}

// serveFrom serves the real proxy over a route source built on api (not OpenSources).
func serveFrom(t *testing.T, a *awsEnv, api ssmroutes.API, log *slog.Logger) *httptest.Server {
	t.Helper()
	src := ssmroutes.New(api, routesPrefix, ssmroutes.WithTTL(routesTTL), ssmroutes.WithLogger(log))
	res := wiring.SecretsManager(a.cfg, secretsPrefix, awssecrets.DefaultTTL)
	h := proxy.New(src, proxy.WithKeys(keys.TableMaster{Routes: src, Secrets: res}), proxy.WithSecrets(res), proxy.WithLogger(log))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

var client = &http.Client{Timeout: 15 * time.Second}

// call sends POST path with the gateway key as a Bearer token.
func call(t *testing.T, srv *httptest.Server, path, key string) (int, string) {
	t.Helper()
	status, body, _ := callHeader(t, srv, path, map[string]string{"Authorization": "Bearer " + key})
	return status, body
}

func callHeader(t *testing.T, srv *httptest.Server, path string, header map[string]string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(`{"query":"q"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

func expect(t *testing.T, what string, status int, body string, wantStatus int, wantBody string) {
	t.Helper()
	if status != wantStatus || body != wantBody {
		t.Fatalf("%s: got %d %s\nwant %d %s", what, status, body, wantStatus, wantBody)
	}
}

// eventually polls cond until it holds, for at most 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// noGatewayKey fails if the upstream saw the master key anywhere in its headers.
func noGatewayKey(t *testing.T, s seen) {
	t.Helper()
	for name, vv := range s.Header {
		for _, v := range vv {
			if strings.Contains(v, masterKey) {
				t.Errorf("upstream received the gateway key in %s: %q", name, v)
			}
		}
	}
}

func versionsOf(t *testing.T, rec map[string]any) map[string]float64 {
	t.Helper()
	raw, ok := rec["versions"].(map[string]any)
	if !ok {
		t.Fatalf("log record has no versions map: %v", rec)
	}
	out := map[string]float64{}
	for k, v := range raw {
		out[k] = v.(float64)
	}
	return out
}

// ---- 1. push → served within the TTL ----

func TestPushedRouteIsServedWithinTTLWithoutRestart(t *testing.T) {
	a := setup(t)
	up := newUpstream(t, "A")
	a.setSecret(t, "LITELLM_MASTER_KEY", masterKey)
	a.setSecret(t, "COHERE_API_KEY", "co-rerank-5e1d0b7c")
	a.setSecret(t, "NEW_API_KEY", "nk-new-route-93c4aa10")
	rerank := endpoint("/v1/rerank", up.URL+"/v1/rerank", "COHERE_API_KEY")
	a.push(t, configYAML(rerank))

	logs := &logSink{}
	srv, _ := openGateway(t, wiring.SourceOptions{}, jsonLogger(logs))

	status, body := call(t, srv, "/v1/rerank", masterKey)
	expect(t, "existing route", status, body, 200, up.okBody("/v1/rerank"))
	status, body = call(t, srv, "/v1/new", masterKey)
	expect(t, "route not pushed yet", status, body, 404, notFoundBody("/v1/new"))
	before := len(up.calls())

	a.push(t, configYAML(rerank, endpoint("/v1/new", up.URL+"/v1/new-upstream", "NEW_API_KEY")))
	eventually(t, "the pushed route is served", func() bool {
		status, body := call(t, srv, "/v1/new", masterKey)
		if status == 404 {
			expect(t, "before the reload", status, body, 404, notFoundBody("/v1/new"))
			return false
		}
		expect(t, "after the reload", status, body, 200, up.okBody("/v1/new-upstream"))
		return true
	})
	if got := len(up.calls()); got != before+1 {
		t.Fatalf("upstream calls: got %d, want %d (404s must not reach it)", got, before+1)
	}
	last := up.last(t)
	if got := last.Header.Get("Authorization"); got != "Bearer nk-new-route-93c4aa10" {
		t.Errorf("upstream Authorization: got %q, want the swapped provider credential", got)
	}
	noGatewayKey(t, last)

	loaded := logs.records(t, "route table loaded")
	if len(loaded) != 2 {
		t.Fatalf("want 2 'route table loaded' lines (start, after the push), got %d: %v", len(loaded), loaded)
	}
	want := map[string]float64{routesPrefix + "/settings": 1, routesPrefix + "/routes/v1-rerank": 1, routesPrefix + "/routes/v1-new": 1}
	if got := versionsOf(t, loaded[1]); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("versions in use: got %v, want %v", got, want)
	}
	if loaded[1]["routes"] != float64(2) {
		t.Errorf("routes: got %v, want 2", loaded[1]["routes"])
	}
}

// Specs pushed as SecureString are read decrypted.
func TestSecureStringRoutesAreServed(t *testing.T) {
	a := setup(t)
	up := newUpstream(t, "A")
	a.setSecret(t, "LITELLM_MASTER_KEY", masterKey)
	a.setSecret(t, "COHERE_API_KEY", "co-rerank-5e1d0b7c")
	res := config.Parse([]byte(configYAML(endpoint("/v1/rerank", up.URL+"/v1/rerank", "COHERE_API_KEY"))))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	changes, err := ssmroutes.Plan(routesPrefix, res.Config, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ssmroutes.Apply(bounded(t), a.ssm, changes, false, true); err != nil {
		t.Fatal(err)
	}
	out, err := a.ssm.GetParameter(bounded(t), &ssm.GetParameterInput{Name: aws.String(routesPrefix + "/routes/v1-rerank")})
	if err != nil {
		t.Fatal(err)
	}
	if out.Parameter.Type != ssmtypes.ParameterTypeSecureString {
		t.Fatalf("parameter type %s", out.Parameter.Type)
	}
	srv, _ := openGateway(t, wiring.SourceOptions{}, jsonLogger(&logSink{}))
	status, body := call(t, srv, "/v1/rerank", masterKey)
	expect(t, "SecureString route", status, body, 200, up.okBody("/v1/rerank"))
	if got := up.last(t).Header.Get("Authorization"); got != "Bearer co-rerank-5e1d0b7c" {
		t.Errorf("upstream Authorization: %q", got)
	}
}

// ---- 2. a changed target takes effect ----

func TestChangedTargetTakesEffect(t *testing.T) {
	a := setup(t)
	up1, up2 := newUpstream(t, "A"), newUpstream(t, "B")
	a.setSecret(t, "LITELLM_MASTER_KEY", masterKey)
	a.setSecret(t, "COHERE_API_KEY", "co-rerank-5e1d0b7c")
	a.push(t, configYAML(endpoint("/v1/rerank", up1.URL+"/v1/rerank", "COHERE_API_KEY")))

	logs := &logSink{}
	srv, _ := openGateway(t, wiring.SourceOptions{}, jsonLogger(logs))
	status, body := call(t, srv, "/v1/rerank", masterKey)
	expect(t, "first target", status, body, 200, up1.okBody("/v1/rerank"))

	a.push(t, configYAML(endpoint("/v1/rerank", up2.URL+"/v2/rerank", "COHERE_API_KEY")))
	eventually(t, "the new target receives the calls", func() bool {
		status, body := call(t, srv, "/v1/rerank", masterKey)
		if body == up1.okBody("/v1/rerank") {
			expect(t, "before the reload", status, body, 200, up1.okBody("/v1/rerank"))
			return false
		}
		expect(t, "after the reload", status, body, 200, up2.okBody("/v2/rerank"))
		return true
	})
	n1 := len(up1.calls())
	for i := 0; i < 3; i++ {
		status, body := call(t, srv, "/v1/rerank", masterKey)
		expect(t, "new target", status, body, 200, up2.okBody("/v2/rerank"))
	}
	if got := len(up1.calls()); got != n1 {
		t.Errorf("the old target still received %d call(s) after the change", got-n1)
	}
	if got := len(up2.calls()); got != 4 {
		t.Errorf("new target calls: got %d, want 4", got)
	}
	last := up2.last(t)
	if got := last.Header.Get("Authorization"); got != "Bearer co-rerank-5e1d0b7c" {
		t.Errorf("new target Authorization: got %q", got)
	}
	noGatewayKey(t, last)
	loaded := logs.records(t, "route table loaded")
	if len(loaded) != 2 {
		t.Fatalf("want 2 'route table loaded' lines, got %d", len(loaded))
	}
	if v := versionsOf(t, loaded[1])[routesPrefix+"/routes/v1-rerank"]; v != 2 {
		t.Errorf("v1-rerank version in use: got %v, want 2", v)
	}
}

// ---- 3. SSM outage → the last good table keeps serving ----

func TestSSMOutageKeepsServingLastGoodTable(t *testing.T) {
	a := setup(t)
	up := newUpstream(t, "A")
	a.setSecret(t, "LITELLM_MASTER_KEY", masterKey)
	a.setSecret(t, "COHERE_API_KEY", "co-rerank-5e1d0b7c")
	a.push(t, configYAML(endpoint("/v1/rerank", up.URL+"/v1/rerank", "COHERE_API_KEY")))

	logs := &logSink{}
	api := newCountingSSM(t, a)
	srv := serveFrom(t, a, api, jsonLogger(logs))
	status, body := call(t, srv, "/v1/rerank", masterKey)
	expect(t, "before the outage", status, body, 200, up.okBody("/v1/rerank"))

	outage := func(n int) {
		t.Helper()
		api.down.Store(true)
		start := api.downCalls.Load()
		// Several TTLs go by, each ending in a failed reload; every request is still served.
		eventually(t, "reloads tried during the outage", func() bool {
			status, body := call(t, srv, "/v1/rerank", masterKey)
			expect(t, "during the outage", status, body, 200, up.okBody("/v1/rerank"))
			return api.downCalls.Load()-start >= 3
		})
		errs := logs.level(t, "ERROR")
		if len(errs) != n {
			t.Fatalf("want %d error line(s) after outage %d, got %d: %v", n, n, len(errs), errs)
		}
		e := errs[n-1]
		if e["msg"] != "cannot reload routes: serving the last good table" || e["prefix"] != routesPrefix {
			t.Errorf("outage error line: %v", e)
		}
		if msg, _ := e["error"].(string); !strings.HasPrefix(msg, "list parameters under "+routesPrefix+": ") {
			t.Errorf("outage error: %q", msg)
		}
		api.down.Store(false)
		eventually(t, "recovery is logged", func() bool {
			status, body := call(t, srv, "/v1/rerank", masterKey)
			expect(t, "after the outage", status, body, 200, up.okBody("/v1/rerank"))
			return len(logs.records(t, "route table reloaded after an outage")) == n
		})
	}
	outage(1)
	outage(2) // a second incident is logged again, once
	if got := len(logs.level(t, "ERROR")); got != 2 {
		t.Fatalf("error lines: got %d, want 2", got)
	}
}

func TestColdStartWithoutSSMAnswers503ThenServes(t *testing.T) {
	a := setup(t)
	up := newUpstream(t, "A")
	a.setSecret(t, "LITELLM_MASTER_KEY", masterKey)
	a.setSecret(t, "COHERE_API_KEY", "co-rerank-5e1d0b7c")
	a.push(t, configYAML(endpoint("/v1/rerank", up.URL+"/v1/rerank", "COHERE_API_KEY")))

	logs := &logSink{}
	api := newCountingSSM(t, a)
	api.down.Store(true)
	srv := serveFrom(t, a, api, jsonLogger(logs))
	status, body := call(t, srv, "/v1/rerank", masterKey)
	expect(t, "cold start during an outage", status, body, 503, noTableBody)
	status, body = call(t, srv, "/v1/unknown", masterKey)
	expect(t, "cold start, any path", status, body, 503, noTableBody)
	eventually(t, "a retry after the first failure", func() bool {
		status, body := call(t, srv, "/v1/rerank", masterKey)
		expect(t, "cold start during an outage", status, body, 503, noTableBody)
		return api.downCalls.Load() >= 2
	})
	if n := len(up.calls()); n != 0 {
		t.Fatalf("upstream called %d time(s) without a route table", n)
	}
	if got := logs.records(t, "cannot load routes: answering 503 until SSM can be read"); len(got) != 1 {
		t.Fatalf("want one cold-start error line, got %d", len(got))
	}

	api.down.Store(false)
	eventually(t, "routes load once SSM answers", func() bool {
		status, body := call(t, srv, "/v1/rerank", masterKey)
		if status == 503 {
			expect(t, "before the load", status, body, 503, noTableBody)
			return false
		}
		expect(t, "after the load", status, body, 200, up.okBody("/v1/rerank"))
		return true
	})
}

// ---- 4. an invalid spec skips only its route ----

func TestInvalidSpecSkipsOnlyThatRoute(t *testing.T) {
	a := setup(t)
	up := newUpstream(t, "A")
	a.setSecret(t, "LITELLM_MASTER_KEY", masterKey)
	a.setSecret(t, "COHERE_API_KEY", "co-rerank-5e1d0b7c")
	a.push(t, configYAML(
		endpoint("/v1/rerank", up.URL+"/v1/rerank", "COHERE_API_KEY"),
		endpoint("/v1/embed", up.URL+"/v1/embed", "COHERE_API_KEY"),
	))
	brokenJSON, badTarget := routesPrefix+"/routes/broken-json", routesPrefix+"/routes/bad-target"
	a.putParam(t, brokenJSON, `{"path": "/v1/broken", "target": `)
	a.putParam(t, badTarget, `{"path":"/v1/bad-target","target":"ftp://127.0.0.1/x","auth":true}`)

	logs := &logSink{}
	api := newCountingSSM(t, a)
	srv := serveFrom(t, a, api, jsonLogger(logs))
	start := api.calls.Load()
	eventually(t, "several reloads", func() bool {
		status, body := call(t, srv, "/v1/rerank", masterKey)
		expect(t, "valid route", status, body, 200, up.okBody("/v1/rerank"))
		status, body = call(t, srv, "/v1/embed", masterKey)
		expect(t, "valid route", status, body, 200, up.okBody("/v1/embed"))
		status, body = call(t, srv, "/v1/broken", masterKey)
		expect(t, "unparsable spec", status, body, 404, invalidRouteBody("/v1/broken"))
		status, body = call(t, srv, "/v1/bad-target", masterKey)
		expect(t, "bad target", status, body, 404, invalidRouteBody("/v1/bad-target"))
		status, body = call(t, srv, "/v1/never-configured", masterKey)
		expect(t, "no such route", status, body, 404, notFoundBody("/v1/never-configured"))
		return api.calls.Load()-start >= 3
	})

	rejected := logs.records(t, "route rejected: its spec is invalid, the other routes are served")
	if len(rejected) != 2 { // once per parameter version, not once per reload
		t.Fatalf("want 2 rejection lines, got %d: %v", len(rejected), rejected)
	}
	byParam := map[string]map[string]any{}
	for _, r := range rejected {
		byParam[r["parameter"].(string)] = r
		if r["level"] != "ERROR" || r["version"] != float64(1) {
			t.Errorf("rejection line: %v", r)
		}
	}
	if r := byParam[badTarget]; r == nil || r["reason"] != `pass_through_endpoints[0] (/v1/bad-target): target: "ftp://127.0.0.1/x" must be an absolute http:// or https:// URL` {
		t.Errorf("bad-target rejection: %v", r)
	}
	if r := byParam[brokenJSON]; r == nil || !strings.HasPrefix(r["reason"].(string), "endpoint is not valid JSON or YAML: ") {
		t.Errorf("broken-json rejection: %v", r)
	}
	loaded := logs.records(t, "route table loaded")
	if len(loaded) != 1 || loaded[0]["routes"] != float64(2) {
		t.Fatalf("route table loaded: %v", loaded)
	}
	if _, listed := versionsOf(t, loaded[0])[brokenJSON]; listed {
		t.Errorf("a rejected parameter is listed among the versions in use: %v", loaded[0])
	}

	// Fixing the parameter serves the route.
	a.putParam(t, brokenJSON, fmt.Sprintf(`{"path":"/v1/broken","target":%q,"auth":true,"headers":{"Authorization":"Bearer os.environ/COHERE_API_KEY"}}`, up.URL+"/v1/fixed"))
	eventually(t, "the fixed route is served", func() bool {
		status, _ := call(t, srv, "/v1/broken", masterKey)
		return status == 200
	})
	if got := up.last(t); got.Path != "/v1/fixed" || got.Header.Get("Authorization") != "Bearer co-rerank-5e1d0b7c" {
		t.Errorf("fixed route: upstream got %s %q", got.Path, got.Header.Get("Authorization"))
	}
}

func TestInvalidEditKeepsTheLastGoodVersion(t *testing.T) {
	a := setup(t)
	up := newUpstream(t, "A")
	a.setSecret(t, "LITELLM_MASTER_KEY", masterKey)
	a.setSecret(t, "COHERE_API_KEY", "co-rerank-5e1d0b7c")
	a.push(t, configYAML(endpoint("/v1/rerank", up.URL+"/v1/rerank", "COHERE_API_KEY")))

	logs := &logSink{}
	api := newCountingSSM(t, a)
	srv := serveFrom(t, a, api, jsonLogger(logs))
	status, body := call(t, srv, "/v1/rerank", masterKey)
	expect(t, "before the bad edit", status, body, 200, up.okBody("/v1/rerank"))

	param := routesPrefix + "/routes/v1-rerank"
	a.putParam(t, param, `{"path":"/v1/rerank","target":"not a url"}`)
	start := api.calls.Load()
	eventually(t, "several reloads", func() bool {
		status, body := call(t, srv, "/v1/rerank", masterKey)
		expect(t, "after the bad edit", status, body, 200, up.okBody("/v1/rerank"))
		return api.calls.Load()-start >= 3
	})
	kept := logs.records(t, "invalid spec: the last good version keeps serving")
	if len(kept) != 1 {
		t.Fatalf("want one line for the bad version, got %d: %v", len(kept), kept)
	}
	if kept[0]["level"] != "ERROR" || kept[0]["parameter"] != param || kept[0]["version"] != float64(2) {
		t.Errorf("kept line: %v", kept[0])
	}
	if got := logs.records(t, "route rejected: its spec is invalid, the other routes are served"); len(got) != 0 {
		t.Errorf("a route with a last good version was rejected: %v", got)
	}
}

// ---- 5. a rotated secret is used after a 401 (or 403) from the upstream ----

func testRotatedSecretAfterRejection(t *testing.T, rejectStatus int) {
	a := setup(t)
	up := newUpstream(t, "A")
	up.rejectStatus = rejectStatus
	const oldKey, newKey = "co-old-4b1e8d2a", "co-new-c7f05e93"
	up.accept.Store(ptr("Bearer " + oldKey))
	a.setSecret(t, "LITELLM_MASTER_KEY", masterKey)
	a.setSecret(t, "COHERE_API_KEY", oldKey)
	a.push(t, configYAML(endpoint("/v1/rerank", up.URL+"/v1/rerank", "COHERE_API_KEY")))

	logs := &logSink{}
	srv, _ := openGateway(t, wiring.SourceOptions{}, jsonLogger(logs)) // secrets TTL: the default 5 min
	status, body := call(t, srv, "/v1/rerank", masterKey)
	expect(t, "before the rotation", status, body, 200, up.okBody("/v1/rerank"))

	up.accept.Store(ptr("Bearer " + newKey))
	a.setSecret(t, "COHERE_API_KEY", newKey)

	status, body, hdr := callHeader(t, srv, "/v1/rerank", map[string]string{"Authorization": "Bearer " + masterKey})
	expect(t, "first call after the rotation (cached key)", status, body, rejectStatus, upstream401Body)
	if ct := hdr.Get("Content-Type"); ct != "application/json" {
		t.Errorf("relayed Content-Type: %q", ct)
	}
	if got := up.last(t).Header.Get("Authorization"); got != "Bearer "+oldKey {
		t.Fatalf("first call after the rotation sent %q, want the cached old key", got)
	}
	status, body = call(t, srv, "/v1/rerank", masterKey)
	expect(t, "next call", status, body, 200, up.okBody("/v1/rerank"))
	last := up.last(t)
	if got := last.Header.Get("Authorization"); got != "Bearer "+newKey {
		t.Fatalf("next call sent %q, want the rotated key", got)
	}
	noGatewayKey(t, last)
	if n := len(up.calls()); n != 3 {
		t.Errorf("upstream calls: got %d, want 3", n)
	}
	warns := logs.records(t, "upstream rejected the route's credentials; they will be read again on the next call")
	if len(warns) != 1 {
		t.Fatalf("want one invalidation line, got %d", len(warns))
	}
	w := warns[0]
	if w["level"] != "WARN" || w["route"] != "/v1/rerank" || w["status"] != float64(rejectStatus) || fmt.Sprint(w["secrets"]) != "[COHERE_API_KEY]" {
		t.Errorf("invalidation line: %v", w)
	}
}

func TestRotatedSecretIsUsedAfterUpstream401(t *testing.T) {
	testRotatedSecretAfterRejection(t, http.StatusUnauthorized)
}

func TestRotatedSecretIsUsedAfterUpstream403(t *testing.T) {
	testRotatedSecretAfterRejection(t, http.StatusForbidden)
}

func ptr[T any](v T) *T { return &v }

// ---- 6. a missing secret → 503 naming it; the upstream is not called ----

func TestMissingSecretAnswers503NamingIt(t *testing.T) {
	a := setup(t)
	up := newUpstream(t, "A")
	a.setSecret(t, "LITELLM_MASTER_KEY", masterKey)
	a.setSecret(t, "COHERE_API_KEY", "co-rerank-5e1d0b7c")
	a.push(t, configYAML(
		endpoint("/v1/rerank", up.URL+"/v1/rerank", "COHERE_API_KEY"),
		endpoint("/v1/missing", up.URL+"/v1/missing", "MISSING_PROVIDER_KEY"),
	))
	logs := &logSink{}
	srv, _ := openGateway(t, wiring.SourceOptions{}, jsonLogger(logs))

	want := `{"error":{"message":"The provider credential for this route is unavailable: secret \"gw-test/MISSING_PROVIDER_KEY\" is not set.","type":"service_unavailable","param":"None","code":"503"}}`
	for i := 0; i < 2; i++ { // also once the missing secret is cached as missing
		status, body := call(t, srv, "/v1/missing", masterKey)
		expect(t, "route with a missing secret", status, body, 503, want)
	}
	if n := len(up.calls()); n != 0 {
		t.Fatalf("upstream called %d time(s) for a route whose secret is missing", n)
	}
	status, body := call(t, srv, "/v1/rerank", masterKey)
	expect(t, "the other route", status, body, 200, up.okBody("/v1/rerank"))

	missing := logs.records(t, "secret missing")
	if len(missing) != 2 {
		t.Fatalf("want 2 'secret missing' lines, got %d", len(missing))
	}
	if m := missing[0]; m["level"] != "ERROR" || m["secret"] != "gw-test/MISSING_PROVIDER_KEY" || m["route"] != "/v1/missing" {
		t.Errorf("secret missing line: %v", m)
	}
}

// A JSON secret that lacks the referenced field answers 503 like a missing secret, naming the
// secret as stored (with the configured prefix), which is where the operator has to look.
func TestMissingSecretFieldAnswers503NamingTheStoredSecret(t *testing.T) {
	a := setup(t)
	up := newUpstream(t, "A")
	a.setSecret(t, "LITELLM_MASTER_KEY", masterKey)
	a.setSecret(t, "LANGFUSE", `{"public":"pk-lf-secret-0a1b2c3d"}`)
	a.push(t, configYAML(`
    - path: /api/public/ingestion
      target: `+up.URL+`/api/public/ingestion
      auth: true
      headers:
        LANGFUSE_PUBLIC_KEY: os.environ/LANGFUSE:public
        LANGFUSE_SECRET_KEY: os.environ/LANGFUSE:secret`))
	logs := &logSink{}
	srv, _ := openGateway(t, wiring.SourceOptions{}, jsonLogger(logs))

	status, body := call(t, srv, "/api/public/ingestion", masterKey)
	if n := len(up.calls()); n != 0 {
		t.Fatalf("upstream called %d time(s) for a route whose secret field is missing", n)
	}
	expect(t, "route whose secret lacks the field", status, body, 503,
		`{"error":{"message":"The provider credential for this route is unavailable: secret \"gw-test/LANGFUSE:secret\" is not set.","type":"service_unavailable","param":"None","code":"503"}}`)
	if strings.Contains(body, "pk-lf-secret-0a1b2c3d") || strings.Contains(logs.String(), "pk-lf-secret-0a1b2c3d") {
		t.Errorf("a secret value leaked")
	}
}

func TestMissingMasterKeySecretAnswers503(t *testing.T) {
	a := setup(t)
	up := newUpstream(t, "A")
	a.setSecret(t, "COHERE_API_KEY", "co-rerank-5e1d0b7c")
	a.push(t, configYAML(endpoint("/v1/rerank", up.URL+"/v1/rerank", "COHERE_API_KEY")))
	logs := &logSink{}
	srv, _ := openGateway(t, wiring.SourceOptions{}, jsonLogger(logs))

	status, body := call(t, srv, "/v1/rerank", masterKey)
	expect(t, "master key secret missing", status, body, 503, keysUnavailable)
	if n := len(up.calls()); n != 0 {
		t.Fatalf("upstream called %d time(s)", n)
	}
	// A second failing call is the same incident: logged once.
	status, body = call(t, srv, "/v1/rerank", masterKey)
	expect(t, "master key secret still missing", status, body, 503, keysUnavailable)
	errs := logs.records(t, "key verification is unavailable")
	if len(errs) != 1 || !strings.Contains(fmt.Sprint(errs[0]["error"]), `secret "gw-test/LITELLM_MASTER_KEY" is not set`) {
		t.Errorf("key verification is unavailable lines: %v", errs)
	}
}

// ---- 7. secrets never appear in a log line ----

func TestSecretsNeverAppearInLogs(t *testing.T) {
	a := setup(t)
	up := newUpstream(t, "A")
	const (
		cohereOld = "co-old-secret-1f2e3d4c"
		cohereNew = "co-new-secret-9a8b7c6d"
		lfPublic  = "pk-lf-secret-0a1b2c3d"
		lfSecret  = "sk-lf-secret-4e5f6a7b"
	)
	a.setSecret(t, "LITELLM_MASTER_KEY", masterKey)
	a.setSecret(t, "COHERE_API_KEY", cohereOld)
	a.setSecret(t, "LANGFUSE", fmt.Sprintf(`{"public":%q,"secret":%q}`, lfPublic, lfSecret))
	lfBasic := "Basic " + base64.StdEncoding.EncodeToString([]byte(lfPublic+":"+lfSecret))
	a.push(t, configYAML(
		endpoint("/v1/rerank", up.URL+"/v1/rerank", "COHERE_API_KEY"),
		endpoint("/v1/missing", up.URL+"/v1/missing", "MISSING_PROVIDER_KEY"),
		`
    - path: /api/public/ingestion
      target: `+up.URL+`/api/public/ingestion
      auth: true
      custom_auth_parser: langfuse
      headers:
        LANGFUSE_PUBLIC_KEY: os.environ/LANGFUSE:public
        LANGFUSE_SECRET_KEY: os.environ/LANGFUSE:secret`,
	))
	a.putParam(t, routesPrefix+"/routes/broken", `{"path":"/v1/broken","target":"ftp://127.0.0.1/x"}`)

	logs := &logSink{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, _ := openGateway(t, wiring.SourceOptions{}, log, proxy.WithDetailedDebug(true))

	// A successful call.
	status, body := call(t, srv, "/v1/rerank", masterKey)
	expect(t, "success", status, body, 200, up.okBody("/v1/rerank"))
	// Langfuse: the gateway key as the Basic user, the provider pair built from a JSON secret.
	status, body, _ = callHeader(t, srv, "/api/public/ingestion", map[string]string{
		"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(masterKey+":client-secret")),
	})
	expect(t, "langfuse", status, body, 200, up.okBody("/api/public/ingestion"))
	if got := up.last(t).Header.Get("Authorization"); got != lfBasic {
		t.Fatalf("langfuse upstream Authorization: got %q, want %q", got, lfBasic)
	}
	// A rotation: 401 with the cached key, then the new key.
	up.accept.Store(ptr("Bearer " + cohereNew))
	a.setSecret(t, "COHERE_API_KEY", cohereNew)
	status, body = call(t, srv, "/v1/rerank", masterKey)
	expect(t, "rotation 401", status, body, 401, upstream401Body)
	status, body = call(t, srv, "/v1/rerank", masterKey)
	expect(t, "after the rotation", status, body, 200, up.okBody("/v1/rerank"))
	if got := up.last(t).Header.Get("Authorization"); got != "Bearer "+cohereNew {
		t.Fatalf("after the rotation the upstream got %q", got)
	}
	// A missing secret, an invalid route, a wrong key.
	status, _ = call(t, srv, "/v1/missing", masterKey)
	if status != 503 {
		t.Fatalf("missing secret: %d", status)
	}
	status, _ = call(t, srv, "/v1/broken", masterKey)
	if status != 404 {
		t.Fatalf("invalid route: %d", status)
	}
	status, body = call(t, srv, "/v1/rerank", "sk-wrong-key")
	expect(t, "wrong key", status, body, 401, invalidKeyBody)

	out := logs.String()
	for _, msg := range []string{
		`msg="client request"`, `msg="upstream request"`, `msg="upstream response"`, `msg="secret missing"`,
		`msg="route rejected: its spec is invalid, the other routes are served"`,
		`msg="upstream rejected the route's credentials; they will be read again on the next call"`,
	} {
		if !strings.Contains(out, msg) {
			t.Errorf("the captured logs lack %s: the run did not exercise what it should\n%s", msg, out)
		}
	}
	for name, secret := range map[string]string{
		"master key": masterKey, "old provider key": cohereOld, "new provider key": cohereNew,
		"langfuse public key": lfPublic, "langfuse secret key": lfSecret,
		"langfuse Basic credentials": strings.TrimPrefix(lfBasic, "Basic "),
	} {
		for i, line := range strings.Split(out, "\n") {
			if strings.Contains(line, secret) {
				t.Errorf("log line %d holds the %s: %s", i+1, name, line)
			}
		}
	}
}

// ---- 8. a rotated master key is accepted ----

func TestRotatedMasterKeyIsAcceptedAfterSecretsTTL(t *testing.T) {
	a := setup(t)
	up := newUpstream(t, "A")
	const newMaster = "sk-master-rotated-2d9e6f10"
	a.setSecret(t, "LITELLM_MASTER_KEY", masterKey)
	a.setSecret(t, "COHERE_API_KEY", "co-rerank-5e1d0b7c")
	a.push(t, configYAML(endpoint("/v1/rerank", up.URL+"/v1/rerank", "COHERE_API_KEY")))
	srv, _ := openGateway(t, wiring.SourceOptions{SecretsTTL: 300 * time.Millisecond}, jsonLogger(&logSink{}))

	status, body := call(t, srv, "/v1/rerank", masterKey)
	expect(t, "old master key", status, body, 200, up.okBody("/v1/rerank"))
	status, body = call(t, srv, "/v1/rerank", newMaster)
	expect(t, "new master key before the rotation", status, body, 401, invalidKeyBody)

	a.setSecret(t, "LITELLM_MASTER_KEY", newMaster)
	eventually(t, "the rotated master key is accepted", func() bool {
		status, body := call(t, srv, "/v1/rerank", newMaster)
		if status == 401 {
			expect(t, "before the secrets TTL", status, body, 401, invalidKeyBody)
			return false
		}
		expect(t, "after the secrets TTL", status, body, 200, up.okBody("/v1/rerank"))
		return true
	})
	status, body = call(t, srv, "/v1/rerank", masterKey)
	expect(t, "old master key after the rotation", status, body, 401, invalidKeyBody)
	noGatewayKey(t, up.last(t))
	for name, vv := range up.last(t).Header {
		for _, v := range vv {
			if strings.Contains(v, newMaster) {
				t.Errorf("upstream received the new gateway key in %s", name)
			}
		}
	}
}

func TestRotatedMasterKeyIsAcceptedAfterInvalidate(t *testing.T) {
	a := setup(t)
	up := newUpstream(t, "A")
	const newMaster = "sk-master-rotated-2d9e6f10"
	a.setSecret(t, "LITELLM_MASTER_KEY", masterKey)
	a.setSecret(t, "COHERE_API_KEY", "co-rerank-5e1d0b7c")
	a.push(t, configYAML(endpoint("/v1/rerank", up.URL+"/v1/rerank", "COHERE_API_KEY")))
	srv, s := openGateway(t, wiring.SourceOptions{}, jsonLogger(&logSink{})) // secrets TTL 5 min
	res, ok := s.Secrets.(*awssecrets.Resolver)
	if !ok {
		t.Fatalf("secrets resolver is %T, want *awssecrets.Resolver", s.Secrets)
	}

	status, body := call(t, srv, "/v1/rerank", masterKey)
	expect(t, "old master key", status, body, 200, up.okBody("/v1/rerank"))
	a.setSecret(t, "LITELLM_MASTER_KEY", newMaster)
	status, body = call(t, srv, "/v1/rerank", masterKey)
	expect(t, "old master key within the TTL (cached)", status, body, 200, up.okBody("/v1/rerank"))

	res.Invalidate("LITELLM_MASTER_KEY")
	status, body = call(t, srv, "/v1/rerank", newMaster)
	expect(t, "new master key after Invalidate", status, body, 200, up.okBody("/v1/rerank"))
	status, body = call(t, srv, "/v1/rerank", masterKey)
	expect(t, "old master key after Invalidate", status, body, 401, invalidKeyBody)
}
