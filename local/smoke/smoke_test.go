package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"

	"github.com/passthru/gateway/local/mock"
	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/motoserver"
	"github.com/passthru/gateway/shared/route"
	"github.com/passthru/gateway/shared/usage"
	"github.com/passthru/gateway/shared/wiring"
)

func TestMain(m *testing.M) { os.Exit(motoserver.Main(m)) }

// lambdaConfig is the config bundled with the function, whose routes a deployed stack serves.
const lambdaConfig = "../../functions/gateway/config.yaml"

const testKey = "sk-smoke-master"

// The defaults call routes the bundled Lambda config serves, with a key (so a call without one
// gets 401), and the unknown path matches none of them.
func TestDefaultsMatchTheLambdaConfig(t *testing.T) {
	res := config.LoadFile(lambdaConfig)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	table, err := route.NewTable(res.Config)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{defaultStreamPath, defaultRerankPath} {
		m := table.Lookup(http.MethodPost, path)
		if m.Route == nil || m.Route.Auth == config.AuthPublic {
			t.Errorf("POST %s: route %+v, want a keyed route of %s", path, m.Route, lambdaConfig)
		}
	}
	if m := table.Lookup(http.MethodGet, defaultUnknownPath); m.Route != nil || len(m.Allowed) > 0 {
		t.Errorf("GET %s matches %+v", defaultUnknownPath, m)
	}
}

func TestRuleJudge(t *testing.T) {
	r := rule{minEvents: 5, minSpread: 500 * time.Millisecond, burst: 50 * time.Millisecond}
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	for _, tc := range []struct {
		name string
		at   []time.Duration
		want string // the verdict; an error starts with "error: "
	}{
		{"streamed evenly", ms(800, 1000, 1200, 1400, 1600),
			"streamed: 5 events from +800ms to +1600ms, spread 800ms, 1 in the final 50ms"},
		{"streamed with a final burst of two", ms(800, 1000, 1300, 1580, 1600),
			"streamed: 5 events from +800ms to +1600ms, spread 800ms, 2 in the final 50ms"},
		{"spread exactly the minimum", ms(100, 200, 300, 400, 600),
			"streamed: 5 events from +100ms to +600ms, spread 500ms, 1 in the final 50ms"},
		{"all together", ms(3000, 3000, 3001, 3001, 3002),
			"error: buffered: 5 events from +3000ms to +3002ms, spread 2ms, 5 in the final 50ms (spread under 500ms: the events arrived together)"},
		{"together over a slow link", ms(3000, 3000, 3200, 3200, 3400),
			"error: buffered: 5 events from +3000ms to +3400ms, spread 400ms, 1 in the final 50ms (spread under 500ms: the events arrived together)"},
		{"first event let through, the rest held", ms(200, 3000, 3000, 3001, 3001),
			"error: buffered: 5 events from +200ms to +3001ms, spread 2801ms, 4 in the final 50ms (more than half of the events held back to the end)"},
		{"half in the final burst passes", ms(0, 200, 400, 1000, 1000, 1000),
			"streamed: 6 events from +0ms to +1000ms, spread 1000ms, 3 in the final 50ms"},
		{"too few events", ms(0, 1000, 2000, 3000),
			"error: only 4 event(s), fewer than 5: cannot tell streaming from buffering"},
		{"none", nil, "error: only 0 event(s), fewer than 5: cannot tell streaming from buffering"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.judge(tc.at)
			if err != nil {
				got = "error: " + err.Error()
			}
			if got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestReadEvents(t *testing.T) {
	body := ": keep-alive\r\n\r\nevent: a\r\ndata: 1\r\n\r\ndata: 2\n\n\n\ndata: 3\ndata: 3b\n\n: ping\n\ndata: cr\rdata: cr2\r\rdata: last, no blank line"
	var got []string
	at, err := readEvents(strings.NewReader(body), time.Now(), func(_ time.Duration, lines []string) {
		got = append(got, strings.Join(lines, "|"))
	})
	want := []string{"event: a|data: 1", "data: 2", "data: 3|data: 3b", "data: cr|data: cr2", "data: last, no blank line"}
	if err != nil || len(at) != len(want) || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events %q at %v, err %v; want %q", got, at, err, want)
	}
	cut := io.MultiReader(strings.NewReader("data: 1\n\n"), iotestErr{})
	if at, err := readEvents(cut, time.Now(), func(time.Duration, []string) {}); len(at) != 1 || err == nil || err.Error() != "connection reset" {
		t.Fatalf("cut stream: %v, %v", at, err)
	}
}

type iotestErr struct{}

func (iotestErr) Read([]byte) (int, error) { return 0, fmt.Errorf("connection reset") }

// gap is the mock upstream's pause between streamed events: its stream's spread is 4 gaps
// (5 events), 800 ms, well over the default -min-spread of 500 ms.
const gap = 200 * time.Millisecond

// lambdaGateway serves the real handler with the bundled Lambda config, its provider targets
// pointed at the mock upstream, and its secrets inline.
func lambdaGateway(t *testing.T) http.Handler {
	t.Helper()
	upstream := httptest.NewServer(mock.Handler(gap))
	t.Cleanup(upstream.Close)
	data, err := os.ReadFile(lambdaConfig)
	if err != nil {
		t.Fatal(err)
	}
	yaml := strings.NewReplacer(
		"https://api.cohere.com", upstream.URL,
		"https://api.anthropic.com", upstream.URL+"/anthropic",
	).Replace(string(data))
	if !strings.Contains(yaml, upstream.URL+"/v1/rerank") || !strings.Contains(yaml, upstream.URL+"/anthropic") {
		t.Fatalf("the Lambda config's targets changed; update the test:\n%s", data)
	}
	log := wiring.NewLogger(io.Discard, "text", false)
	src, err := wiring.OpenSources(context.Background(), wiring.SourceOptions{
		ConfigYAML: yaml, Secrets: "inline",
		SecretsInline: `{"LITELLM_MASTER_KEY":"` + testKey + `","COHERE_API_KEY":"co","ANTHROPIC_API_KEY":"ant","OPENAI_API_KEY":"oai","LANGFUSE_PUBLIC_KEY":"pk","LANGFUSE_SECRET_KEY":"sk"}`,
	}, log)
	if err != nil {
		t.Fatal(err)
	}
	return wiring.NewHandler(src, usage.Discard{}, log, false)
}

// stage serves h under a REST API stage path, as API Gateway does (the event's path has no
// stage), so the test also proves the checks join paths onto a base URL with a stage.
func stage(h http.Handler) http.Handler { return http.StripPrefix("/dev", h) }

// buffering holds the whole response until the handler returns, as a front door that does
// not stream (a BUFFERED integration or invoke mode) does.
func buffering(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

// firstThenHold lets the headers and the first write through at once and holds the rest until
// the handler returns.
func firstThenHold(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hw := &holdWriter{ResponseWriter: w}
		h.ServeHTTP(hw, r)
		_, _ = w.Write(hw.held.Bytes())
	})
}

type holdWriter struct {
	http.ResponseWriter
	writes int
	held   bytes.Buffer
}

func (h *holdWriter) Write(b []byte) (int, error) {
	if h.writes++; h.writes == 1 {
		n, err := h.ResponseWriter.Write(b)
		http.NewResponseController(h.ResponseWriter).Flush()
		return n, err
	}
	return h.held.Write(b)
}

func (h *holdWriter) Flush() {
	if h.writes <= 1 {
		http.NewResponseController(h.ResponseWriter).Flush()
	}
}

// apiGatewayRoutes answers every path but the given ones itself, as a REST API without a
// catch-all resource does: 403 Missing Authentication Token.
func apiGatewayRoutes(h http.Handler, served ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, p := range served {
			if r.URL.Path == p {
				h.ServeHTTP(w, r)
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"message":"Missing Authentication Token"}`)
	})
}

func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL
}

// smoke runs the command with key as SMOKE_KEY.
func smoke(t *testing.T, key string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := func(name string) string {
		if name == keyEnv {
			return key
		}
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	code := run(ctx, args, env, &out, &errOut)
	return code, out.String(), errOut.String()
}

var (
	eventTime = regexp.MustCompile(`\+ *[0-9]+ms`)
	millis    = regexp.MustCompile(`[0-9]+ms`)
)

// normalize replaces the servers' addresses by names and every duration by #ms, the only parts
// of the output that change from run to run.
func normalize(out string, urls map[string]string) string {
	for u, name := range urls {
		out = strings.ReplaceAll(out, u, name)
	}
	return millis.ReplaceAllString(eventTime.ReplaceAllString(out, "+#ms"), "#ms")
}

// verdicts are the PASS and FAIL lines and the summary of a normalized output.
func verdicts(out string) string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "PASS ") || strings.HasPrefix(l, "FAIL ") || strings.HasPrefix(l, "smoke: ") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

const (
	streamed = "streamed: 5 events from +#ms to +#ms, spread #ms, 1 in the final #ms"
	rerankOK = "POST /v1/rerank: 200 with 2 results in #ms"
	noKeyOK  = `POST /v1/rerank without a key: 401 {"error":{"message":"Authentication Error, No api key passed in.","type":"auth_error","param":"None","code":"401"}}`
	unknowOK = `GET /smoke-test/no-such-route: 404 {"error":{"message":"Pass-through endpoint /smoke-test/no-such-route not found.","type":"not_found_error","param":"None","code":"404"}}`
	badKey   = `status 401, want 200: {"error":{"message":"Authentication Error, Invalid proxy server token passed.","type":"auth_error","param":"None","code":"401"}}`
)

// door is the four verdicts of a front door, each "" when it passes.
func door(name, stream, rerank, noKey, unknown string) string {
	line := func(check, fail, pass string) string {
		if fail != "" {
			return "FAIL " + name + " " + check + ": " + fail + "\n"
		}
		return "PASS " + name + " " + check + ": " + pass + "\n"
	}
	return line("stream", stream, streamed) + line("rerank", rerank, rerankOK) + line("no-key", noKey, noKeyOK) + line("unknown-path", unknown, unknowOK)
}

// The judging logic end to end: the real handler with the bundled Lambda config behind two
// loopback "front doors", as they should be and as they go wrong.
func TestSmokeAgainstALocalGateway(t *testing.T) {
	gw := lambdaGateway(t)
	fnOK := door("function-url", "", "", "", "")
	for _, tc := range []struct {
		name     string
		key      string
		fn, api  http.Handler // the Function URL, and the REST API at its stage /dev
		code     int
		verdicts string
	}{
		{"both front doors stream", testKey, gw, stage(gw), 0,
			fnOK + door("rest-api", "", "", "", "") + "smoke: 8 passed, 0 failed\n"},
		{"the REST API buffers", testKey, gw, stage(buffering(gw)), 1,
			fnOK + door("rest-api", "buffered: 5 events from +#ms to +#ms, spread #ms, 5 in the final #ms (spread under #ms: the events arrived together)", "", "", "") +
				"smoke: 7 passed, 1 failed: rest-api stream\n"},
		{"the REST API lets the first event through and holds the rest", testKey, gw, stage(firstThenHold(gw)), 1,
			fnOK + door("rest-api", "buffered: 5 events from +#ms to +#ms, spread #ms, 4 in the final #ms (more than half of the events held back to the end)", "", "", "") +
				"smoke: 7 passed, 1 failed: rest-api stream\n"},
		{"the REST API has no catch-all route", testKey, gw, stage(apiGatewayRoutes(gw, defaultStreamPath, defaultRerankPath)), 1,
			fnOK + door("rest-api", "", "", "", `status 403, want 404: {"message":"Missing Authentication Token"}`) +
				"smoke: 7 passed, 1 failed: rest-api unknown-path\n"},
		{"the key is wrong", "sk-wrong-key", gw, stage(gw), 1,
			door("function-url", badKey, badKey, "", "") + door("rest-api", badKey, badKey, "", "") +
				"smoke: 4 passed, 4 failed: function-url stream, function-url rerank, rest-api stream, rest-api rerank\n"},
		{"the stream is cut", testKey, cutAfter(gw, 2), stage(gw), 1,
			door("function-url", "stream cut after 2 event(s) (+#ms): unexpected EOF", "", "", "") + door("rest-api", "", "", "", "") +
				"smoke: 7 passed, 1 failed: function-url stream\n"},
		{"the function fails", testKey, lambdaError(), stage(gw), 1,
			door("function-url",
				`status 502, want 200: {"Message":"Internal Server Error"}`, `status 502, want 200: {"Message":"Internal Server Error"}`,
				`status 502, want 401: {"Message":"Internal Server Error"}`, `status 502, want 404: {"Message":"Internal Server Error"}`) +
				door("rest-api", "", "", "", "") +
				"smoke: 4 passed, 4 failed: function-url stream, function-url rerank, function-url no-key, function-url unknown-path\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fn, api := serve(t, tc.fn), serve(t, tc.api)
			code, out, stderr := smoke(t, tc.key, "-url", fn+"/", "-api-url", api+"/dev/")
			t.Logf("output:\n%s", out) // go test -v shows a real run of each case
			got := normalize(out, map[string]string{fn: "FN", api: "API"})
			if code != tc.code || stderr != "" || verdicts(got) != tc.verdicts {
				t.Errorf("exit %d (want %d), stderr %q, output:\n%s\nwant verdicts:\n%s", code, tc.code, stderr, got, tc.verdicts)
			}
			if strings.Contains(out, tc.key) {
				t.Error("the key was printed")
			}
		})
	}
}

// cutAfter aborts a streamed response after its first n writes, as a runtime that ends the
// stream with an error does: the client sees the body end without its last chunk.
func cutAfter(h http.Handler, n int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != defaultStreamPath {
			h.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(&cutWriter{ResponseWriter: w, left: n}, r)
	})
}

type cutWriter struct {
	http.ResponseWriter
	left int
}

func (c *cutWriter) Write(b []byte) (int, error) {
	if c.left == 0 {
		panic(http.ErrAbortHandler)
	}
	c.left--
	return c.ResponseWriter.Write(b)
}

func (c *cutWriter) Flush() { http.NewResponseController(c.ResponseWriter).Flush() }

// lambdaError answers like the Lambda service when the function fails: 502 without the
// gateway's call id.
func lambdaError() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, `{"Message":"Internal Server Error"}`)
	})
}

// The whole output of a passing run: each event with its arrival time, each verdict.
func TestSmokeOutput(t *testing.T) {
	gw := lambdaGateway(t)
	fn := serve(t, gw)
	code, out, stderr := smoke(t, testKey, "-url", fn)
	events := `  POST /anthropic/v1/messages: 200 text/event-stream, headers at +#ms
  +#ms  event: message_start | data: {"type":"message_start","message":{"id":"msg_1","type":"message","role"…
  +#ms  event: content_block_delta | data: {"type":"content_block_delta","index":0,"delta":{"type":"text_del…
  +#ms  event: content_block_delta | data: {"type":"content_block_delta","index":0,"delta":{"type":"text_del…
  +#ms  event: message_delta | data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"ou…
  +#ms  event: message_stop | data: {"type":"message_stop"}
`
	want := "rule: a stream passes with at least 5 events whose first and last arrivals are at least #ms apart, and at most half of them in the final #ms\n\n" +
		"function-url: FN\n" + events + door("function-url", "", "", "", "") +
		"\nsmoke: 4 passed, 0 failed\nsmoke: only one front door was checked (give both -url and -api-url, or -stack)\n"
	if got := normalize(out, map[string]string{fn: "FN"}); code != 0 || stderr != "" || got != want {
		t.Errorf("exit %d, stderr %q, output:\n%s\nwant:\n%s", code, stderr, got, want)
	}
	// The arrival times printed are those judged: in order, from the first to the last.
	var at []int
	for _, m := range regexp.MustCompile(`(?m)^  \+ *([0-9]+)ms  event: `).FindAllStringSubmatch(out, -1) {
		v, _ := strconv.Atoi(m[1])
		at = append(at, v)
	}
	judged := regexp.MustCompile(`streamed: 5 events from \+([0-9]+)ms to \+([0-9]+)ms,`).FindStringSubmatch(out)
	if len(at) != 5 || judged == nil || fmt.Sprint(at[0]) != judged[1] || fmt.Sprint(at[4]) != judged[2] || !slices.IsSorted(at) {
		t.Errorf("printed arrivals %v ms, judged %v", at, judged)
	}
}

func TestCommandLine(t *testing.T) {
	for _, tc := range []struct {
		name   string
		key    string
		args   []string
		code   int
		stderr string
	}{
		{"no front door", testKey, nil, 2, "smoke: give -url and -api-url, or -stack\nRun 'smoke -h' for its flags.\n"},
		{"no key", "", []string{"-url", "http://127.0.0.1:1"}, 2,
			"smoke: set SMOKE_KEY to a gateway key granted /anthropic/v1/messages and /v1/rerank\nRun 'smoke -h' for its flags.\n"},
		{"unknown flag", testKey, []string{"-bogus"}, 2, "smoke: flag provided but not defined: -bogus\nRun 'smoke -h' for its flags.\n"},
		{"stray argument", testKey, []string{"-url", "http://x", "extra"}, 2, "smoke: unexpected argument \"extra\"\nRun 'smoke -h' for its flags.\n"},
		{"bad header", testKey, []string{"-url", "http://x", "-header", "novalue"}, 2,
			"smoke: invalid value \"novalue\" for flag -header: \"novalue\" is not name: value\nRun 'smoke -h' for its flags.\n"},
		{"one event is not a stream", testKey, []string{"-url", "http://x", "-min-events", "1"}, 2, "smoke: -min-events must be at least 2\nRun 'smoke -h' for its flags.\n"},
		{"not a URL", testKey, []string{"-url", "ftp://x"}, 1, "smoke: function-url \"ftp://x\" is not an http(s) URL\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := smoke(t, tc.key, tc.args...)
			if code != tc.code || out != "" || stderr != tc.stderr {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, stderr %q", code, out, stderr, tc.code, tc.stderr)
			}
		})
	}
	code, out, stderr := smoke(t, "", "-h")
	if code != 0 || stderr != "" || !strings.HasPrefix(out, "usage: SMOKE_KEY=KEY smoke (-url FUNCTION_URL | -api-url REST_API_URL | -stack NAME) [flags]\n") {
		t.Errorf("-h: exit %d, stderr %q, stdout:\n%s", code, stderr, out)
	}
	for _, f := range []string{"-url", "-api-url", "-stack", "-stream-path", "-stream-body", "-header", "-rerank-path", "-rerank-body", "-unknown-path", "-timeout", "-min-events", "-min-spread", "-burst"} {
		if !strings.Contains(out, "\n  "+f+" ") {
			t.Errorf("-h does not list %s", f)
		}
	}
}

// Custom -header values replace the default anthropic-version, and are all sent.
func TestHeaderFlag(t *testing.T) {
	o, err := parseFlags([]string{"-url", "http://x", "-header", "x-a: 1", "-header", "x-b: 2"}, func(string) string { return testKey }, io.Discard)
	if err != nil || strings.Join(o.headers.values, ";") != "x-a: 1;x-b: 2" {
		t.Fatalf("%v %q", err, o.headers.values)
	}
	if o, _ := parseFlags([]string{"-url", "http://x"}, func(string) string { return testKey }, io.Discard); strings.Join(o.headers.values, ";") != "anthropic-version: 2023-06-01" {
		t.Fatalf("default headers %q", o.headers.values)
	}
}

// -stack reads both front doors from the stack's outputs (moto's CloudFormation here).
func TestStackOutputs(t *testing.T) {
	motoserver.Require(t)
	gw := lambdaGateway(t)
	fn, api := serve(t, gw), serve(t, stage(gw))
	cf := cloudformation.NewFromConfig(motoserver.Config(t))
	template := `{"Resources":{"Topic":{"Type":"AWS::SNS::Topic"}},"Outputs":{` +
		`"FunctionUrl":{"Value":"` + fn + `/"},"ApiUrl":{"Value":"` + api + `/dev/"},"FunctionName":{"Value":"gw"}}}`
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("llm-gateway-dev"), TemplateBody: &template}); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := smoke(t, testKey, "-stack", "llm-gateway-dev")
	got := normalize(out, map[string]string{fn: "FN", api: "API"})
	if code != 0 || stderr != "" || !strings.Contains(got, "\nfunction-url: FN\n") || !strings.Contains(got, "\nrest-api: API/dev\n") ||
		!strings.HasSuffix(got, "\nsmoke: 8 passed, 0 failed\n") {
		t.Errorf("exit %d, stderr %q, output:\n%s", code, stderr, got)
	}
	// A URL given explicitly wins over the stack's.
	code, out, _ = smoke(t, testKey, "-stack", "llm-gateway-dev", "-api-url", fn)
	if got := normalize(out, map[string]string{fn: "FN", api: "API"}); code != 0 || !strings.Contains(got, "\nrest-api: FN\n") {
		t.Errorf("-api-url with -stack: exit %d, output:\n%s", code, got)
	}
	code, out, stderr = smoke(t, testKey, "-stack", "no-such-stack")
	if code != 1 || out != "" || !strings.HasPrefix(stderr, "smoke: read the outputs of stack no-such-stack: ") || !strings.Contains(stderr, "does not exist") {
		t.Errorf("missing stack: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
}
