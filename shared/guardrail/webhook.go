package guardrail

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/passthru/gateway/shared/secrets"
)

// KindWebhook is litellm_params.guardrail of LiteLLM's generic guardrail API.
const KindWebhook = "generic_guardrail_api"

// webhookPath is the path LiteLLM appends to api_base (unless api_base already ends with it).
const webhookPath = "/beta/litellm_basic_guardrail_api"

const (
	webhookDefaultTimeout = 10 * time.Second
	webhookMaxTimeout     = 300 * time.Second
	// webhookMaxResponse caps the answer read: it holds at most the checked texts again.
	webhookMaxResponse = 32 << 20
	// webhookMaxReason caps a blocked_reason passed on to the client and the record.
	webhookMaxReason = 500
	// webhookDefaultReason is LiteLLM's message for a BLOCKED answer without a reason.
	webhookDefaultReason = "Content violates policy"
)

// Header names the gateway sets itself: a configured value would corrupt the framing.
var webhookReservedHeaders = []string{"Host", "Content-Length", "Transfer-Encoding", "Connection", "Te", "Trailer", "Upgrade"}

// webhookChecker calls a guardrail service that speaks LiteLLM's generic guardrail API
// (https://docs.litellm.ai/docs/adding_provider/generic_guardrail_api).
type webhookChecker struct {
	name    string
	url     string
	headers []webhookHeader
	timeout time.Duration
	// LiteLLM's two fail-open knobs: unreachable_fallback (network errors, timeouts, 502/503/504)
	// and fail_on_error: false (any error). fail_open: true is the second.
	openUnreachable bool
	openOnError     bool
	extra           json.RawMessage // additional_provider_specific_params, encoded once
	secrets         secrets.Resolver
	client          *http.Client
	log             *slog.Logger // nil: slog.Default() at the time of the line, so the wiring's SetDefault applies
}

type webhookHeader struct {
	name  string
	value secrets.Template
}

// NewWebhook builds the checker of a `guardrail: generic_guardrail_api` definition. Params:
// api_base (required), headers (values may end in an os.environ/ reference, resolved per call
// through deps.Secrets), timeout (seconds, default 10), fail_open / unreachable_fallback /
// fail_on_error (default: fail closed), additional_provider_specific_params (sent as is).
func NewWebhook(d Def, deps Deps) (Checker, error) {
	p := newCheckerParams(d)
	c := &webhookChecker{name: d.Name, secrets: deps.Secrets}
	var err error
	if c.url, err = webhookURL(p); err != nil {
		return nil, err
	}
	if c.headers, err = webhookHeaders(p); err != nil {
		return nil, err
	}
	if c.timeout, err = p.seconds("timeout", webhookDefaultTimeout, webhookMaxTimeout); err != nil {
		return nil, err
	}
	if c.openUnreachable, c.openOnError, err = webhookFailOpen(p); err != nil {
		return nil, err
	}
	extra, err := p.object("additional_provider_specific_params")
	if err != nil {
		return nil, err
	}
	if extra == nil {
		extra = map[string]any{}
	}
	if c.extra, err = json.Marshal(extra); err != nil {
		return nil, p.errorf("additional_provider_specific_params", "cannot be sent as JSON: %v", err)
	}
	c.client = webhookClient(deps.HTTP)
	return c, nil
}

// webhookURL reads api_base and appends LiteLLM's path. Credentials, a query or a fragment in
// the URL are refused: the URL appears in errors and logs, and LiteLLM appends the path to
// the end of the string.
func webhookURL(p checkerParams) (string, error) {
	base, err := p.str("api_base")
	if err != nil {
		return "", err
	}
	if base == "" {
		return "", p.errorf("api_base", "required (the guardrail service's base URL)")
	}
	if strings.Contains(base, secrets.RefPrefix) {
		return "", p.errorf("api_base", "os.environ/ references are not supported here; write the URL, and put credentials in headers")
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", p.errorf("api_base", "want an absolute http(s) URL")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return "", p.errorf("api_base", "want a URL without credentials, query or fragment (put credentials in headers)")
	}
	if strings.HasSuffix(base, webhookPath) {
		return base, nil
	}
	return strings.TrimRight(base, "/") + webhookPath, nil
}

// webhookHeaders reads the headers map: names are HTTP tokens, values scalars.
func webhookHeaders(p checkerParams) ([]webhookHeader, error) {
	m, err := p.object("headers")
	if err != nil || len(m) == 0 {
		return nil, err
	}
	out := make([]webhookHeader, 0, len(m))
	for name := range m {
		if !webhookToken(name) {
			return nil, p.errorf("headers", "%q is not a valid header name", name)
		}
		canon := http.CanonicalHeaderKey(name)
		if slices.Contains(webhookReservedHeaders, canon) {
			return nil, p.errorf("headers", "%s is set by the gateway", canon)
		}
		s, err := checkerParams{name: p.name, m: m}.str(name)
		if err != nil || s == "" {
			return nil, p.errorf("headers", "%s: want a non-empty string value", canon)
		}
		if slices.ContainsFunc(out, func(h webhookHeader) bool { return h.name == canon }) {
			return nil, p.errorf("headers", "%s is given twice", canon)
		}
		if strings.ContainsAny(s, "\r\n\x00") {
			return nil, p.errorf("headers", "%s: the value holds a line break", canon)
		}
		out = append(out, webhookHeader{name: canon, value: secrets.ParseTemplate(s)})
	}
	slices.SortFunc(out, func(a, b webhookHeader) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

// webhookToken reports whether s is an RFC 9110 token (a valid header name).
func webhookToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r > unicode.MaxASCII || !(r == '-' || r == '_' || r == '.' || r == '!' || r == '#' || r == '$' || r == '%' ||
			r == '&' || r == '\'' || r == '*' || r == '+' || r == '^' || r == '`' || r == '|' || r == '~' ||
			('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')) {
			return false
		}
	}
	return true
}

// webhookFailOpen reads the fail-open knobs. LiteLLM documents unreachable_fallback (default
// fail_closed) for network errors, timeouts and 502/503/504, and fail_on_error (default true)
// for every error; fail_open: true (other LiteLLM guardrails' spelling) equals
// fail_on_error: false. A BLOCKED answer always blocks: only a failure can fail open.
func webhookFailOpen(p checkerParams) (unreachable, onError bool, err error) {
	failOpen, err := p.boolean("fail_open", false)
	if err != nil {
		return false, false, err
	}
	failOnError, err := p.boolean("fail_on_error", true)
	if err != nil {
		return false, false, err
	}
	fallback, err := p.str("unreachable_fallback")
	if err != nil {
		return false, false, err
	}
	switch fallback {
	case "", "fail_closed", "fail_open":
	default:
		return false, false, p.errorf("unreachable_fallback", "want fail_open or fail_closed, got %q", fallback)
	}
	onError = failOpen || !failOnError
	if onError && fallback == "fail_closed" {
		return false, false, p.errorf("unreachable_fallback", "fail_closed contradicts fail_open: true / fail_on_error: false")
	}
	if p.has("fail_open") && p.has("fail_on_error") && failOpen == failOnError {
		return false, false, p.errorf("fail_open", "contradicts fail_on_error")
	}
	return onError || fallback == "fail_open", onError, nil
}

// webhookClient returns a client that never follows redirects: a redirect would resend the
// texts and the configured (secret) headers to wherever the Location points.
func webhookClient(base *http.Client) *http.Client {
	var c http.Client
	if base != nil {
		c = *base
	} else {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64 // the default 2 reconnects under load
		t.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
		t.TLSHandshakeTimeout = 5 * time.Second
		c.Transport = t
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// webhookRequest is LiteLLM's GenericGuardrailAPIRequest. Every field is sent, null when
// unused, as pydantic's model_dump does: a service that parses with LiteLLM's own model
// requires them.
type webhookRequest struct {
	Texts              []string           `json:"texts"`
	Images             []string           `json:"images"`
	Tools              []any              `json:"tools"`
	StructuredMessages []any              `json:"structured_messages"`
	RequestData        webhookRequestData `json:"request_data"`
	InputType          Source             `json:"input_type"`
	CallID             *string            `json:"litellm_call_id"`
	TraceID            *string            `json:"litellm_trace_id"`
	Additional         json.RawMessage    `json:"additional_provider_specific_params"`
}

// webhookRequestData is LiteLLM's GenericGuardrailAPIMetadata, as far as the gateway knows it.
type webhookRequestData struct {
	UserAPIKeyHash string `json:"user_api_key_hash,omitempty"`
	Route          string `json:"user_api_key_request_route,omitempty"`
}

// webhookResponse is LiteLLM's GenericGuardrailAPIResponse.
type webhookResponse struct {
	Action        *string  `json:"action"`
	BlockedReason string   `json:"blocked_reason"`
	Texts         []string `json:"texts"`
}

// webhookFailure is an error of the call, classified for the fail-open knobs.
type webhookFailure struct {
	unreachable bool // network error, timeout, 502/503/504
	err         error
}

func (f *webhookFailure) Error() string { return f.err.Error() }
func (f *webhookFailure) Unwrap() error { return f.err }

// Check implements Checker.
func (c *webhookChecker) Check(ctx context.Context, in Input) (Verdict, error) {
	v, err := c.call(ctx, in)
	if err == nil {
		return v, nil
	}
	if ctx.Err() != nil { // the caller gave up (client gone, deadline): nothing to fail open to
		return Verdict{}, fmt.Errorf("guardrail %q: %w", c.name, err)
	}
	var f *webhookFailure
	if errors.As(err, &f) && (c.openOnError || (f.unreachable && c.openUnreachable)) {
		c.logger().Error("guardrail failed open: the call proceeds unchecked", "guardrail", c.name,
			"call_id", in.CallID, "input_type", string(in.Source), "error", err.Error())
		return Verdict{Action: Allow, Reason: "guardrail failed open: " + err.Error()}, nil
	}
	return Verdict{}, fmt.Errorf("guardrail %q: %w", c.name, err)
}

func (c *webhookChecker) logger() *slog.Logger {
	if c.log != nil {
		return c.log
	}
	return slog.Default()
}

// call makes one webhook call and maps its answer.
func (c *webhookChecker) call(ctx context.Context, in Input) (Verdict, error) {
	body, err := c.requestBody(in)
	if err != nil {
		return Verdict{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return Verdict{}, &webhookFailure{err: fmt.Errorf("generic guardrail API request: %w", err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if err := c.setHeaders(ctx, req.Header); err != nil {
		return Verdict{}, &webhookFailure{err: err}
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return Verdict{}, &webhookFailure{unreachable: true, err: webhookTransportError(c.url, c.timeout, err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // keep the connection reusable
		switch resp.StatusCode {
		case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return Verdict{}, &webhookFailure{unreachable: true, err: fmt.Errorf("generic guardrail API %s answered %d", c.url, resp.StatusCode)}
		}
		// The body is not quoted: a service may echo request headers, which hold secrets.
		return Verdict{}, &webhookFailure{err: fmt.Errorf("generic guardrail API %s answered %d", c.url, resp.StatusCode)}
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, webhookMaxResponse+1))
	if err != nil {
		return Verdict{}, &webhookFailure{unreachable: true, err: webhookTransportError(c.url, c.timeout, err)}
	}
	if len(raw) > webhookMaxResponse {
		return Verdict{}, &webhookFailure{err: fmt.Errorf("generic guardrail API %s answered more than %d bytes", c.url, webhookMaxResponse)}
	}
	return c.verdict(in, raw)
}

func (c *webhookChecker) requestBody(in Input) ([]byte, error) {
	texts := in.Texts
	if texts == nil {
		texts = []string{}
	}
	r := webhookRequest{
		Texts:       texts,
		RequestData: webhookRequestData{UserAPIKeyHash: in.KeyHash, Route: in.Route},
		InputType:   in.Source,
		Additional:  c.extra,
	}
	if r.InputType != Response {
		r.InputType = Request
	}
	if in.CallID != "" {
		r.CallID = &in.CallID
	}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, &webhookFailure{err: fmt.Errorf("encoding the generic guardrail API request: %w", err)}
	}
	return b, nil
}

// setHeaders renders the configured headers. A secret that cannot be read is named in the
// error; its value never is.
func (c *webhookChecker) setHeaders(ctx context.Context, h http.Header) error {
	for _, hd := range c.headers {
		if hd.value.IsSecret() && c.secrets == nil { // built with partial Deps (validation only)
			return fmt.Errorf("header %s: refers to a secret, and no secret resolver was given", hd.name)
		}
		v, err := hd.value.Render(ctx, c.secrets)
		if err != nil {
			return fmt.Errorf("header %s: %w", hd.name, err)
		}
		h.Set(hd.name, v)
	}
	return nil
}

// webhookTransportError says "timed out after 10s" for our own deadline, and keeps the
// transport's error otherwise (it names the URL, which holds no credentials).
func webhookTransportError(u string, timeout time.Duration, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("generic guardrail API %s timed out after %s", u, timeout)
	}
	return fmt.Errorf("generic guardrail API %s unreachable: %w", u, err)
}

// verdict maps the service's answer. BLOCKED blocks; NONE allows; GUARDRAIL_INTERVENED with
// texts masks (one text per checked text, else the answer breaks the contract), without texts
// it changes nothing, as in LiteLLM. An answer without an action breaks the contract here
// (LiteLLM reads it as NONE): a 200 from the wrong service must not pass as a verdict.
func (c *webhookChecker) verdict(in Input, raw []byte) (Verdict, error) {
	var r webhookResponse
	if err := json.Unmarshal(raw, &r); err != nil {
		return Verdict{}, &webhookFailure{err: fmt.Errorf("generic guardrail API %s answered with invalid JSON: %v", c.url, err)}
	}
	if r.Action == nil {
		return Verdict{}, &webhookFailure{err: fmt.Errorf("generic guardrail API %s answered without an action", c.url)}
	}
	switch action := strings.ToUpper(strings.TrimSpace(*r.Action)); action {
	case "BLOCKED":
		return Verdict{Action: Block, Reason: webhookReason(r.BlockedReason)}, nil
	case "NONE":
		return Verdict{Action: Allow}, nil
	case "GUARDRAIL_INTERVENED":
		if r.Texts == nil || slices.Equal(r.Texts, in.Texts) {
			return Verdict{Action: Allow}, nil
		}
		if len(r.Texts) != len(in.Texts) {
			return Verdict{}, &webhookFailure{err: fmt.Errorf("generic guardrail API %s returned %d texts for %d checked", c.url, len(r.Texts), len(in.Texts))}
		}
		return Verdict{Action: Mask, Texts: r.Texts, Reason: "Modified by guardrail"}, nil
	default:
		return Verdict{}, &webhookFailure{err: fmt.Errorf("generic guardrail API %s answered the unknown action %.40q", c.url, action)}
	}
}

// webhookReason cleans a blocked_reason for the client and the record: control characters
// become spaces, and it is cut at webhookMaxReason bytes (on a rune boundary).
func webhookReason(s string) string {
	s = strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s))
	if s == "" {
		return webhookDefaultReason
	}
	if len(s) > webhookMaxReason {
		cut := webhookMaxReason
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
