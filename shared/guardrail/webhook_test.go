package guardrail

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passthru/gateway/shared/secrets"
)

// webhookSecret is the value behind os.environ/GUARD_KEY; it must never show in an error,
// a reason or a log line.
const webhookSecret = "gk-live-7f3a9c0e5b"

// webhookCall is one request the mock received.
type webhookCall struct {
	Method, Path string
	Header       http.Header
	Body         string
}

type webhookMock struct {
	*httptest.Server
	mu    sync.Mutex
	calls []webhookCall
}

func newWebhookMock(t testing.TB, reply http.HandlerFunc) *webhookMock {
	m := &webhookMock{}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		m.mu.Lock()
		m.calls = append(m.calls, webhookCall{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: string(b)})
		m.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(b))
		reply(w, r)
	}))
	t.Cleanup(m.Close)
	return m
}

func (m *webhookMock) Calls() []webhookCall {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]webhookCall(nil), m.calls...)
}

func webhookReply(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// webhookHang answers only when the request is given up (bounded, so a broken timeout
// cannot hang the test).
func webhookHang(w http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(5 * time.Second):
	}
}

func webhookDef(params map[string]any) Def {
	p := map[string]any{"guardrail": "generic_guardrail_api", "mode": []any{"pre_call", "post_call"}}
	for k, v := range params {
		p[k] = v
	}
	return Def{Name: "vendor-guard", Kind: KindWebhook, Modes: []string{"pre_call", "post_call"}, Params: p}
}

var webhookSecrets = secrets.Inline{"GUARD_KEY": webhookSecret}

// newTestWebhook builds a checker whose log lines go to the returned buffer.
func newTestWebhook(t *testing.T, params map[string]any) (Checker, *bytes.Buffer) {
	t.Helper()
	c, err := NewWebhook(webhookDef(params), Deps{Secrets: webhookSecrets})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	c.(*webhookChecker).log = slog.New(slog.NewJSONHandler(&logs, nil))
	return c, &logs
}

// The request is LiteLLM's contract: POST {api_base}/beta/litellm_basic_guardrail_api with
// every GenericGuardrailAPIRequest field, the configured headers with their secrets resolved,
// and additional_provider_specific_params as configured.
func TestWebhookSendsLiteLLMContract(t *testing.T) {
	m := newWebhookMock(t, webhookReply(200, `{"action":"NONE"}`))
	c, _ := newTestWebhook(t, map[string]any{
		"api_base":                            m.URL + "/pii/",
		"headers":                             map[string]any{"x-api-key": "os.environ/GUARD_KEY", "Authorization": "Bearer os.environ/GUARD_KEY", "X-Service-Name": "gateway"},
		"additional_provider_specific_params": map[string]any{"threshold": 0.8, "lang": "en", "entities": []any{"EMAIL"}},
	})
	tests := []struct {
		in   Input
		want string
	}{
		{Input{Source: Request, Texts: []string{"my ssn is 123-45-6789", "second"}, CallID: "call-1", KeyHash: "9f86d0", Route: "/v1/rerank"},
			`{"texts":["my ssn is 123-45-6789","second"],"images":null,"tools":null,"structured_messages":null,` +
				`"request_data":{"user_api_key_hash":"9f86d0","user_api_key_request_route":"/v1/rerank"},"input_type":"request",` +
				`"litellm_call_id":"call-1","litellm_trace_id":null,"additional_provider_specific_params":{"entities":["EMAIL"],"lang":"en","threshold":0.8}}`},
		{Input{Source: Response},
			`{"texts":[],"images":null,"tools":null,"structured_messages":null,"request_data":{},"input_type":"response",` +
				`"litellm_call_id":null,"litellm_trace_id":null,"additional_provider_specific_params":{"entities":["EMAIL"],"lang":"en","threshold":0.8}}`},
	}
	for i, tc := range tests {
		v, err := c.Check(context.Background(), tc.in)
		if err != nil || !reflect.DeepEqual(v, Verdict{Action: Allow}) {
			t.Fatalf("call %d: %+v, %v", i, v, err)
		}
		got := m.Calls()[i]
		if got.Method != "POST" || got.Path != "/pii/beta/litellm_basic_guardrail_api" {
			t.Errorf("call %d: %s %s", i, got.Method, got.Path)
		}
		if got.Body != tc.want {
			t.Errorf("call %d body\n got  %s\n want %s", i, got.Body, tc.want)
		}
		for name, want := range map[string]string{"Content-Type": "application/json", "X-Api-Key": webhookSecret,
			"Authorization": "Bearer " + webhookSecret, "X-Service-Name": "gateway"} {
			if g := got.Header.Get(name); g != want {
				t.Errorf("call %d header %s = %q, want %q", i, name, g, want)
			}
		}
	}
}

// api_base that already ends with the path is used as is (LiteLLM does the same).
func TestWebhookFullPathNotDoubled(t *testing.T) {
	m := newWebhookMock(t, webhookReply(200, `{"action":"NONE"}`))
	c, _ := newTestWebhook(t, map[string]any{"api_base": m.URL + "/beta/litellm_basic_guardrail_api"})
	if _, err := c.Check(context.Background(), Input{Source: Request, Texts: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	if p := m.Calls()[0].Path; p != "/beta/litellm_basic_guardrail_api" {
		t.Errorf("path %s", p)
	}
}

func TestWebhookVerdicts(t *testing.T) {
	texts := []string{"call me at 555-0100", "fine"}
	long := strings.Repeat("é", 400) // 800 bytes
	tests := []struct {
		name, reply string
		want        Verdict
	}{
		{"none", `{"action":"NONE"}`, Verdict{Action: Allow}},
		{"none ignores texts", `{"action":"NONE","texts":["x","y"]}`, Verdict{Action: Allow}},
		{"blocked with reason", `{"action":"BLOCKED","blocked_reason":"PII detected: PHONE"}`, Verdict{Action: Block, Reason: "PII detected: PHONE"}},
		{"blocked without reason", `{"action":"BLOCKED"}`, Verdict{Action: Block, Reason: "Content violates policy"}},
		{"blocked, any case, extra fields", `{"action":"blocked","blocked_reason":"no","score":0.99}`, Verdict{Action: Block, Reason: "no"}},
		{"blocked reason cleaned", `{"action":"BLOCKED","blocked_reason":"bad\nthing\u0000here  "}`, Verdict{Action: Block, Reason: "bad thing here"}},
		{"blocked reason cut", `{"action":"BLOCKED","blocked_reason":"` + long + `"}`, Verdict{Action: Block, Reason: strings.Repeat("é", 250) + "…"}},
		{"intervened with texts masks", `{"action":"GUARDRAIL_INTERVENED","texts":["call me at [PHONE]","fine"]}`,
			Verdict{Action: Mask, Texts: []string{"call me at [PHONE]", "fine"}, Reason: "Modified by guardrail"}},
		{"intervened with the same texts allows", `{"action":"GUARDRAIL_INTERVENED","texts":["call me at 555-0100","fine"]}`, Verdict{Action: Allow}},
		{"intervened without texts allows (LiteLLM keeps the originals)", `{"action":"GUARDRAIL_INTERVENED"}`, Verdict{Action: Allow}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newWebhookMock(t, webhookReply(200, tc.reply))
			c, _ := newTestWebhook(t, map[string]any{"api_base": m.URL})
			got, err := c.Check(context.Background(), Input{Source: Request, Texts: texts})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("verdict\n got  %#v\n want %#v", got, tc.want)
			}
		})
	}
}

// Every failure, under each fail-open setting: the default and unreachable_fallback:
// fail_closed return an error; unreachable_fallback: fail_open allows only when the service
// is unreachable (network error, timeout, 502/503/504, as LiteLLM documents); fail_open: true
// and fail_on_error: false allow on every failure. An allowed failure says so in the reason
// and in one log line.
func TestWebhookFailOpenAndClosed(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	failures := []struct {
		name        string
		reply       http.HandlerFunc // nil: nothing listens
		unreachable bool
		cause       string
	}{
		{"timeout", webhookHang, true, "timed out after 200ms"},
		{"connection refused", nil, true, "unreachable"},
		{"500", webhookReply(500, `{"detail":"x-api-key `+webhookSecret+` rejected"}`), false, "answered 500"},
		{"502", webhookReply(502, "bad gateway"), true, "answered 502"},
		{"503", webhookReply(503, ""), true, "answered 503"},
		{"504", webhookReply(504, ""), true, "answered 504"},
		{"401", webhookReply(401, `{"error":"bad key"}`), false, "answered 401"},
		{"redirect not followed", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://127.0.0.1:1/steal", http.StatusTemporaryRedirect)
		}, false, "answered 307"},
		{"invalid JSON", webhookReply(200, `{"action":`), false, "invalid JSON"},
		{"no action", webhookReply(200, `{}`), false, "without an action"},
		{"unknown action", webhookReply(200, `{"action":"MAYBE"}`), false, `unknown action "MAYBE"`},
		{"wrong number of texts", webhookReply(200, `{"action":"GUARDRAIL_INTERVENED","texts":["only one"]}`), false, "returned 1 texts for 2 checked"},
	}
	settings := []struct {
		name                     string
		params                   map[string]any
		openUnreachable, openAll bool
	}{
		{"default", nil, false, false},
		{"unreachable_fallback fail_closed", map[string]any{"unreachable_fallback": "fail_closed"}, false, false},
		{"unreachable_fallback fail_open", map[string]any{"unreachable_fallback": "fail_open"}, true, false},
		{"fail_open true", map[string]any{"fail_open": true}, true, true},
		{"fail_on_error false", map[string]any{"fail_on_error": "false"}, true, true},
	}
	for _, f := range failures {
		url := deadURL
		if f.reply != nil {
			url = newWebhookMock(t, f.reply).URL
		}
		for _, s := range settings {
			t.Run(f.name+"/"+s.name, func(t *testing.T) {
				// 200 ms for the hanging service; a generous 2 s elsewhere, so that a loaded
				// machine cannot turn another failure into a timeout.
				timeout := 2.0
				if f.name == "timeout" {
					timeout = 0.2
				}
				params := map[string]any{"api_base": url, "timeout": timeout, "headers": map[string]any{"x-api-key": "os.environ/GUARD_KEY"}}
				for k, v := range s.params {
					params[k] = v
				}
				c, logs := newTestWebhook(t, params)
				start := time.Now()
				v, err := c.Check(context.Background(), Input{Source: Request, Texts: []string{"a", "b"}, CallID: "call-9"})
				if d := time.Since(start); d > 4*time.Second {
					t.Errorf("took %s", d)
				}
				open := s.openAll || (f.unreachable && s.openUnreachable)
				if !open {
					if err == nil || !strings.HasPrefix(err.Error(), `guardrail "vendor-guard": generic guardrail API `) || !strings.Contains(err.Error(), f.cause) {
						t.Errorf("got %+v, %v; want an error naming the guardrail and %q", v, err, f.cause)
					}
					if logs.Len() != 0 {
						t.Errorf("logged %s", logs)
					}
				} else {
					if err != nil || v.Action != Allow || !strings.HasPrefix(v.Reason, "guardrail failed open: generic guardrail API ") || !strings.Contains(v.Reason, f.cause) {
						t.Errorf("got %+v, %v; want Allow with a fail-open reason naming %q", v, err, f.cause)
					}
					var line map[string]any
					if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
						t.Fatalf("log %q: %v", logs, err)
					}
					if line["level"] != "ERROR" || line["msg"] != "guardrail failed open: the call proceeds unchecked" ||
						line["guardrail"] != "vendor-guard" || line["call_id"] != "call-9" || line["input_type"] != "request" {
						t.Errorf("log line %s", logs)
					}
				}
				for _, text := range []string{logs.String(), v.Reason, errString(err)} {
					if strings.Contains(text, webhookSecret) {
						t.Errorf("the secret leaked: %s", text)
					}
				}
			})
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// A secret that cannot be read is an error that names it (never a value); with fail_open
// the call proceeds and the log names the missing secret.
func TestWebhookMissingSecret(t *testing.T) {
	m := newWebhookMock(t, webhookReply(200, `{"action":"NONE"}`))
	params := map[string]any{"api_base": m.URL, "headers": map[string]any{"x-api-key": "os.environ/NO_SUCH_KEY"}}
	c, _ := newTestWebhook(t, params)
	_, err := c.Check(context.Background(), Input{Source: Request, Texts: []string{"a"}})
	if err == nil || err.Error() != `guardrail "vendor-guard": header X-Api-Key: secret "NO_SUCH_KEY" is not set` {
		t.Errorf("error %v", err)
	}
	params["fail_open"] = true
	c, logs := newTestWebhook(t, params)
	v, err := c.Check(context.Background(), Input{Source: Request, Texts: []string{"a"}})
	if err != nil || v.Action != Allow || !strings.Contains(logs.String(), `secret \"NO_SUCH_KEY\" is not set`) {
		t.Errorf("fail_open: %+v, %v, log %s", v, err, logs)
	}
	if n := len(m.Calls()); n != 0 {
		t.Errorf("%d calls without the header, want 0", n)
	}
}

// When the caller gives up (client gone), the call ends at once with an error, even with
// fail_open: there is no call left to let through.
func TestWebhookCallerCancelNeverFailsOpen(t *testing.T) {
	m := newWebhookMock(t, webhookHang)
	c, logs := newTestWebhook(t, map[string]any{"api_base": m.URL, "fail_open": true})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	v, err := c.Check(ctx, Input{Source: Request, Texts: []string{"a"}})
	if err == nil || v.Action != "" || logs.Len() != 0 {
		t.Errorf("got %+v, %v, log %q; want an error and no fail-open", v, err, logs)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %s", d)
	}
}

// deps.HTTP is used (its transport), but never follows redirects, and the caller's client is
// not changed.
func TestWebhookUsesGivenClient(t *testing.T) {
	m := newWebhookMock(t, webhookReply(200, `{"action":"NONE"}`))
	var trips atomic.Int32
	given := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		trips.Add(1)
		return http.DefaultTransport.RoundTrip(r)
	})}
	c, err := NewWebhook(webhookDef(map[string]any{"api_base": m.URL}), Deps{HTTP: given})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Check(context.Background(), Input{Source: Request, Texts: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	if trips.Load() != 1 || given.CheckRedirect != nil {
		t.Errorf("%d trips through the given client, CheckRedirect changed: %v", trips.Load(), given.CheckRedirect != nil)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestNewWebhookValidates(t *testing.T) {
	tests := []struct {
		params map[string]any
		want   string
	}{
		{map[string]any{}, `guardrail "vendor-guard": api_base: required (the guardrail service's base URL)`},
		{map[string]any{"api_base": 42}, `guardrail "vendor-guard": api_base: want an absolute http(s) URL`},
		{map[string]any{"api_base": "guard.internal:8080"}, `guardrail "vendor-guard": api_base: want an absolute http(s) URL`},
		{map[string]any{"api_base": "https://user:pw@guard.example"}, `guardrail "vendor-guard": api_base: want a URL without credentials, query or fragment (put credentials in headers)`},
		{map[string]any{"api_base": "https://guard.example/?key=1"}, `guardrail "vendor-guard": api_base: want a URL without credentials, query or fragment (put credentials in headers)`},
		{map[string]any{"api_base": "os.environ/GUARD_URL"}, `guardrail "vendor-guard": api_base: os.environ/ references are not supported here; write the URL, and put credentials in headers`},
		{map[string]any{"api_base": "https://g", "headers": []any{"x"}}, `guardrail "vendor-guard": headers: want a map, got a list`},
		{map[string]any{"api_base": "https://g", "headers": map[string]any{"bad header": "v"}}, `guardrail "vendor-guard": headers: "bad header" is not a valid header name`},
		{map[string]any{"api_base": "https://g", "headers": map[string]any{"host": "v"}}, `guardrail "vendor-guard": headers: Host is set by the gateway`},
		{map[string]any{"api_base": "https://g", "headers": map[string]any{"x-k": map[string]any{}}}, `guardrail "vendor-guard": headers: X-K: want a non-empty string value`},
		{map[string]any{"api_base": "https://g", "headers": map[string]any{"x-k": "a\r\nb"}}, `guardrail "vendor-guard": headers: X-K: the value holds a line break`},
		{map[string]any{"api_base": "https://g", "headers": map[string]any{"x-k": "a", "X-K": "b"}}, `guardrail "vendor-guard": headers: X-K is given twice`},
		{map[string]any{"api_base": "https://g", "timeout": -1}, `guardrail "vendor-guard": timeout: want more than 0 and at most 300 seconds, got -1`},
		{map[string]any{"api_base": "https://g", "timeout": 301}, `guardrail "vendor-guard": timeout: want more than 0 and at most 300 seconds, got 301`},
		{map[string]any{"api_base": "https://g", "fail_open": "sometimes"}, `guardrail "vendor-guard": fail_open: want true or false, got a string`},
		{map[string]any{"api_base": "https://g", "unreachable_fallback": "fail_maybe"}, `guardrail "vendor-guard": unreachable_fallback: want fail_open or fail_closed, got "fail_maybe"`},
		{map[string]any{"api_base": "https://g", "fail_open": true, "unreachable_fallback": "fail_closed"}, `guardrail "vendor-guard": unreachable_fallback: fail_closed contradicts fail_open: true / fail_on_error: false`},
		{map[string]any{"api_base": "https://g", "fail_open": true, "fail_on_error": true}, `guardrail "vendor-guard": fail_open: contradicts fail_on_error`},
		{map[string]any{"api_base": "https://g", "additional_provider_specific_params": "x"}, `guardrail "vendor-guard": additional_provider_specific_params: want a map, got a string`},
	}
	for _, tc := range tests {
		_, err := NewWebhook(webhookDef(tc.params), Deps{Secrets: webhookSecrets})
		if err == nil || err.Error() != tc.want {
			t.Errorf("params %v:\n got  %v\n want %s", tc.params, err, tc.want)
		}
	}
	// The load validates definitions with partial Deps: building needs no secret resolver, and
	// a call whose header refers to a secret is then an error.
	m := newWebhookMock(t, webhookReply(200, `{"action":"NONE"}`))
	c, err := NewWebhook(webhookDef(map[string]any{"api_base": m.URL, "headers": map[string]any{"x-k": "os.environ/K"}}), Deps{})
	if err != nil {
		t.Fatalf("no resolver: %v", err)
	}
	_, err = c.Check(context.Background(), Input{Source: Request, Texts: []string{"a"}})
	if want := `guardrail "vendor-guard": header X-K: refers to a secret, and no secret resolver was given`; err == nil || err.Error() != want {
		t.Errorf("call without resolver: %v", err)
	}
	if len(m.Calls()) != 0 {
		t.Error("called without the header")
	}
}
