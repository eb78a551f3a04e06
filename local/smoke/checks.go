package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// frontDoor is one way into the function: the Function URL or the REST API (with its stage).
type frontDoor struct {
	name string // "function-url" or "rest-api"
	base string // without a trailing slash
}

// url joins a gateway path onto the front door. It does not clean or re-encode the path: the
// check sends exactly what it was given.
func (d frontDoor) url(path string) string { return d.base + path }

// frontDoors are the URLs given, the stack's outputs filling in those that are not.
func frontDoors(ctx context.Context, o options) ([]frontDoor, error) {
	fn, api := o.functionURL, o.apiURL
	if o.stack != "" && (fn == "" || api == "") {
		outFn, outAPI, err := stackURLs(ctx, o.stack)
		if err != nil {
			return nil, err
		}
		fn, api = or(fn, outFn), or(api, outAPI)
	}
	var doors []frontDoor
	for _, d := range []frontDoor{{"function-url", fn}, {"rest-api", api}} {
		if d.base == "" {
			continue
		}
		u, err := url.Parse(d.base)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("%s %q is not an http(s) URL", d.name, d.base)
		}
		d.base = strings.TrimSuffix(d.base, "/")
		doors = append(doors, d)
	}
	return doors, nil
}

func or(s, fallback string) string {
	if s != "" {
		return s
	}
	return fallback
}

// check is one call to a front door; it returns what it saw, or why it failed.
type check struct {
	name string
	run  func(ctx context.Context, c *caller, d frontDoor, out io.Writer) (string, error)
}

var checks = []check{
	{"stream", checkStream},
	{"rerank", checkRerank},
	{"no-key", checkNoKey},
	{"unknown-path", checkUnknownPath},
}

// runChecks runs every check on every front door, printing PASS or FAIL for each, then a
// summary; it returns the names of the failed checks.
func runChecks(ctx context.Context, o options, doors []frontDoor, out io.Writer) []string {
	c := newCaller(o)
	fmt.Fprintf(out, "rule: a stream passes with at least %d events whose first and last arrivals are at least %dms apart, and at most half of them in the final %dms\n",
		o.rule.minEvents, o.rule.minSpread.Milliseconds(), o.rule.burst.Milliseconds())
	var failed []string
	passed := 0
	for _, d := range doors {
		fmt.Fprintf(out, "\n%s: %s\n", d.name, d.base)
		for _, ch := range checks {
			name := d.name + " " + ch.name
			detail, err := ch.run(ctx, c, d, out)
			if err != nil {
				failed = append(failed, name)
				fmt.Fprintf(out, "FAIL %s: %v\n", name, err)
				continue
			}
			passed++
			fmt.Fprintf(out, "PASS %s: %s\n", name, detail)
		}
	}
	fmt.Fprintf(out, "\nsmoke: %d passed, %d failed", passed, len(failed))
	if len(failed) > 0 {
		fmt.Fprintf(out, ": %s", strings.Join(failed, ", "))
	}
	fmt.Fprintln(out)
	if len(doors) < 2 {
		fmt.Fprintln(out, "smoke: only one front door was checked (give both -url and -api-url, or -stack)")
	}
	return failed
}

// caller sends the checks' requests.
type caller struct {
	o      options
	client *http.Client
}

func newCaller(o options) *caller {
	// No transparent gzip: arrival times must be those of the bytes the front door sent.
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DisableCompression = true
	return &caller{o: o, client: &http.Client{Transport: t}}
}

// send makes one request, with the gateway key when withKey. The caller closes the body.
func (c *caller) send(ctx context.Context, method, u, body string, withKey bool, header ...string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, strings.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("User-Agent", "gateway-smoke/1")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, h := range header {
		name, value, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	if withKey {
		req.Header.Set("Authorization", "Bearer "+c.o.key)
	}
	return c.client.Do(req) // its error names the method and URL

}

// answer is a whole non-streamed response.
type answer struct {
	status  int
	header  http.Header
	body    []byte
	elapsed time.Duration
}

func (c *caller) call(ctx context.Context, method, u, body string, withKey bool) (answer, error) {
	ctx, cancel := context.WithTimeout(ctx, c.o.timeout)
	defer cancel()
	start := time.Now()
	resp, err := c.send(ctx, method, u, body, withKey)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return answer{}, fmt.Errorf("%s %q: read the answer: %w", method, u, err)
	}
	return answer{resp.StatusCode, resp.Header, b, time.Since(start)}, nil
}

// expect checks the status and that the gateway itself answered: every answer of the gateway
// carries x-litellm-call-id, an error of API Gateway or of the Lambda service does not (API
// Gateway answers a path without a resource itself, 403 {"message":"Missing Authentication
// Token"}: https://repost.aws/knowledge-center/api-gateway-authentication-token-errors).
func expect(a answer, status int, contentType string) error {
	switch {
	case a.status != status:
		return fmt.Errorf("status %d, want %d: %s", a.status, status, excerpt(a.body))
	case a.header.Get("X-Litellm-Call-Id") == "":
		return fmt.Errorf("status %d without x-litellm-call-id: the gateway did not answer: %s", a.status, excerpt(a.body))
	case !strings.HasPrefix(a.header.Get("Content-Type"), contentType):
		return fmt.Errorf("status %d with Content-Type %q, want %s", a.status, a.header.Get("Content-Type"), contentType)
	}
	return nil
}

// excerpt is the start of a body, for a failure message. The gateway's bodies carry no
// secrets (its errors never name one, and the key is never echoed).
func excerpt(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	if s == "" {
		return "(empty body)"
	}
	return s
}

func checkRerank(ctx context.Context, c *caller, d frontDoor, _ io.Writer) (string, error) {
	a, err := c.call(ctx, http.MethodPost, d.url(c.o.rerankPath), c.o.rerankBody, true)
	if err != nil {
		return "", err
	}
	if err := expect(a, http.StatusOK, "application/json"); err != nil {
		return "", err
	}
	var r struct {
		Results []json.RawMessage `json:"results"`
	}
	if err := json.Unmarshal(a.body, &r); err != nil || len(r.Results) == 0 {
		return "", fmt.Errorf("status 200 but no results: %s", excerpt(a.body))
	}
	return fmt.Sprintf("POST %s: 200 with %d results in %dms", c.o.rerankPath, len(r.Results), a.elapsed.Milliseconds()), nil
}

// litellmError is LiteLLM's error body, every field compared.
type litellmError struct {
	Error struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Param   string `json:"param"`
		Code    string `json:"code"`
	} `json:"error"`
}

// errorAnswer checks a LiteLLM-shaped error: status, type, param "None", code, and message.
func errorAnswer(a answer, status int, typ string, message func(string) bool) error {
	if err := expect(a, status, "application/json"); err != nil {
		return err
	}
	var e litellmError
	if err := json.Unmarshal(a.body, &e); err != nil {
		return fmt.Errorf("status %d but not LiteLLM's error JSON: %s", status, excerpt(a.body))
	}
	code := fmt.Sprint(status)
	if e.Error.Type != typ || e.Error.Param != "None" || e.Error.Code != code || !message(e.Error.Message) {
		return fmt.Errorf("status %d but not the expected error (type %s, param None, code %s): %s", status, typ, code, excerpt(a.body))
	}
	return nil
}

// noKeyMessage is LiteLLM's message for a call without a key (shared/auth.ErrNoKey).
const noKeyMessage = "Authentication Error, No api key passed in."

func checkNoKey(ctx context.Context, c *caller, d frontDoor, _ io.Writer) (string, error) {
	a, err := c.call(ctx, http.MethodPost, d.url(c.o.rerankPath), c.o.rerankBody, false)
	if err != nil {
		return "", err
	}
	if err := errorAnswer(a, http.StatusUnauthorized, "auth_error", func(m string) bool { return m == noKeyMessage }); err != nil {
		return "", err
	}
	return fmt.Sprintf("POST %s without a key: 401 %s", c.o.rerankPath, a.body), nil
}

func checkUnknownPath(ctx context.Context, c *caller, d frontDoor, _ io.Writer) (string, error) {
	a, err := c.call(ctx, http.MethodGet, d.url(c.o.unknownPath), "", true)
	if err != nil {
		return "", err
	}
	namesPath := func(m string) bool { return strings.Contains(m, c.o.unknownPath) }
	if err := errorAnswer(a, http.StatusNotFound, "not_found_error", namesPath); err != nil {
		return "", err
	}
	return fmt.Sprintf("GET %s: 404 %s", c.o.unknownPath, a.body), nil
}
