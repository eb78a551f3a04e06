//go:build !noawsbackends

package guardrail

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// bedrockTestKey are the credentials the checker signs with and the mock verifies against.
var bedrockTestKey = sigv4Key{AccessKeyID: "AKIDGUARDRAILTEST", SecretAccessKey: "guardrail-test-secret", SessionToken: "guardrail-test-session"}

// bedrockCall is one request the mock received, with its verified signature scope.
type bedrockCall struct {
	Method, RequestURI, ContentType string
	Body                            map[string]any
	Scope                           sigv4Scope
}

// bedrockMock is Bedrock runtime on 127.0.0.1: it verifies each request's SigV4 signature
// against bedrockTestKey (403 InvalidSignatureException otherwise, as AWS answers) and
// answers with reply.
type bedrockMock struct {
	*httptest.Server
	mu    sync.Mutex
	calls []bedrockCall
	reply func(w http.ResponseWriter, r *http.Request)
}

func newBedrockMock(t testing.TB, reply func(w http.ResponseWriter, r *http.Request)) *bedrockMock {
	m := &bedrockMock{reply: reply}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		scope, err := sigv4Verify(r, raw, bedrockTestKey, time.Now())
		if err != nil {
			w.Header().Set("X-Amzn-Errortype", "InvalidSignatureException")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_ = json.NewEncoder(w).Encode(map[string]string{"message": "The request signature we calculated does not match the signature you provided."})
			t.Logf("mock: %v", err)
			return
		}
		call := bedrockCall{Method: r.Method, RequestURI: r.RequestURI, ContentType: r.Header.Get("Content-Type"), Scope: scope}
		if err := json.Unmarshal(raw, &call.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		m.mu.Lock()
		m.calls = append(m.calls, call)
		m.mu.Unlock()
		m.reply(w, r)
	}))
	t.Cleanup(m.Close)
	return m
}

func (m *bedrockMock) Calls() []bedrockCall {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]bedrockCall(nil), m.calls...)
}

// bedrockJSON answers with a JSON body, as Bedrock does.
func bedrockJSON(status int, body string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// bedrockError answers like an AWS restJson1 service error.
func bedrockError(status int, code, message string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Amzn-Errortype", code)
		bedrockJSON(status, `{"message":"`+message+`"}`)(w, r)
	}
}

// bedrockDeps gives the checker an AWS config with the test credentials, the mock as endpoint
// and no retries (each test sees exactly one request per call).
func bedrockDeps(endpoint string, key sigv4Key) Deps {
	return Deps{AWS: func(context.Context) (aws.Config, error) {
		cfg := aws.Config{
			Region:      "us-east-1",
			Credentials: credentials.NewStaticCredentialsProvider(key.AccessKeyID, key.SecretAccessKey, key.SessionToken),
			Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
		}
		if endpoint != "" {
			cfg.BaseEndpoint = aws.String(endpoint)
		}
		return cfg, nil
	}}
}

func bedrockDef(params map[string]any) Def {
	p := map[string]any{"guardrail": "bedrock", "mode": "pre_call", "guardrailIdentifier": "gr123abc", "guardrailVersion": "DRAFT"}
	for k, v := range params {
		if v == nil {
			delete(p, k)
			continue
		}
		p[k] = v
	}
	return Def{Name: "pii-guard", Kind: KindBedrock, Modes: []string{"pre_call"}, Params: p}
}

func newTestBedrock(t *testing.T, m *bedrockMock, params map[string]any) Checker {
	t.Helper()
	c, err := NewBedrock(bedrockDef(params), bedrockDeps(m.URL, bedrockTestKey))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func jsonEqual(t *testing.T, got any, want string) {
	t.Helper()
	var w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	g, _ := json.Marshal(got)
	wb, _ := json.Marshal(w)
	if string(g) != string(wb) {
		t.Errorf("got  %s\nwant %s", g, wb)
	}
}

// The request: the documented path, one text block per text (empty texts left out), INPUT
// for the request side and OUTPUT for the response side, signed for service bedrock in the
// config's region with the session token.
func TestBedrockSendsSignedApplyGuardrail(t *testing.T) {
	m := newBedrockMock(t, bedrockJSON(200, `{"action":"NONE","assessments":[],"outputs":[],"usage":{"topicPolicyUnits":1}}`))
	c := newTestBedrock(t, m, nil)
	for _, tc := range []struct {
		source Source
		want   string
	}{
		{Request, `{"content":[{"text":{"text":"what is my balance?"}},{"text":{"text":"acct 42"}}],"source":"INPUT"}`},
		{Response, `{"content":[{"text":{"text":"what is my balance?"}},{"text":{"text":"acct 42"}}],"source":"OUTPUT"}`},
	} {
		v, err := c.Check(context.Background(), Input{Source: tc.source, Texts: []string{"what is my balance?", "", "acct 42"}, CallID: "c1"})
		if err != nil {
			t.Fatal(err)
		}
		if v.Action != Allow || v.Texts != nil || v.Reason != "" {
			t.Errorf("%s: verdict %+v, want a bare Allow", tc.source, v)
		}
		calls := m.Calls()
		got := calls[len(calls)-1]
		if got.Method != "POST" || got.RequestURI != "/guardrail/gr123abc/version/DRAFT/apply" || got.ContentType != "application/json" {
			t.Errorf("%s: %s %s (%s), want POST /guardrail/gr123abc/version/DRAFT/apply (application/json)", tc.source, got.Method, got.RequestURI, got.ContentType)
		}
		if got.Scope.Region != "us-east-1" || got.Scope.Service != "bedrock" {
			t.Errorf("%s: signed for %s/%s, want us-east-1/bedrock", tc.source, got.Scope.Region, got.Scope.Service)
		}
		jsonEqual(t, got.Body, tc.want)
	}
	if n := len(m.Calls()); n != 2 {
		t.Errorf("%d calls, want 2", n)
	}
}

// Nothing to check, no call: Bedrock refuses an empty content list.
func TestBedrockSkipsEmptyInput(t *testing.T) {
	m := newBedrockMock(t, bedrockJSON(200, `{"action":"NONE"}`))
	c := newTestBedrock(t, m, nil)
	for _, texts := range [][]string{nil, {}, {"", ""}} {
		v, err := c.Check(context.Background(), Input{Source: Request, Texts: texts})
		if err != nil || v.Action != Allow {
			t.Errorf("texts %q: %+v, %v; want Allow", texts, v, err)
		}
	}
	if n := len(m.Calls()); n != 0 {
		t.Errorf("%d calls for empty input, want 0", n)
	}
}

// An ARN identifier is percent-encoded in the path (arn%3Aaws...%2F...), and the signature,
// which encodes the path a second time, still verifies; the ARN's region is the call's.
func TestBedrockARNIdentifierSigned(t *testing.T) {
	m := newBedrockMock(t, bedrockJSON(200, `{"action":"NONE"}`))
	c := newTestBedrock(t, m, map[string]any{"guardrailIdentifier": "arn:aws:bedrock:eu-west-1:123456789012:guardrail/ab12cd34", "guardrailVersion": 3})
	if _, err := c.Check(context.Background(), Input{Source: Request, Texts: []string{"hi"}}); err != nil {
		t.Fatal(err)
	}
	got := m.Calls()[0]
	if want := "/guardrail/arn%3Aaws%3Abedrock%3Aeu-west-1%3A123456789012%3Aguardrail%2Fab12cd34/version/3/apply"; got.RequestURI != want {
		t.Errorf("path %s, want %s", got.RequestURI, want)
	}
	if got.Scope.Region != "eu-west-1" {
		t.Errorf("signed for region %s, want the ARN's eu-west-1", got.Scope.Region)
	}
}

// A signature the mock cannot verify (wrong secret) is refused, so the verifier is not a
// rubber stamp, and the checker reports AWS's error.
func TestBedrockWrongSecretRefused(t *testing.T) {
	m := newBedrockMock(t, bedrockJSON(200, `{"action":"NONE"}`))
	wrong := bedrockTestKey
	wrong.SecretAccessKey = "not-the-secret"
	c, err := NewBedrock(bedrockDef(nil), bedrockDeps(m.URL, wrong))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Check(context.Background(), Input{Source: Request, Texts: []string{"hi"}})
	if err == nil || !strings.Contains(err.Error(), "InvalidSignatureException") || !strings.Contains(err.Error(), `guardrail "pii-guard"`) {
		t.Errorf("error %v, want InvalidSignatureException naming the guardrail", err)
	}
	if strings.Contains(err.Error(), wrong.SecretAccessKey) {
		t.Error("the error holds the secret key")
	}
}

// Assessments as Bedrock returns them: a denied topic (BLOCKED), PII that was anonymized,
// a custom word whose match is the user's text.
const (
	bedrockTopicBlocked = `{"topicPolicy":{"topics":[{"name":"Investments","type":"DENY","action":"BLOCKED","detected":true}]}}`
	bedrockPIIMasked    = `{"sensitiveInformationPolicy":{"piiEntities":[{"match":"jane@example.com","type":"EMAIL","action":"ANONYMIZED","detected":true}],"regexes":[{"name":"account-number","match":"acct 42","regex":"acct \\d+","action":"ANONYMIZED","detected":true}]}}`
	bedrockWordBlocked  = `{"wordPolicy":{"customWords":[{"match":"supersecretword","action":"BLOCKED","detected":true}],"managedWordLists":[{"match":"darn","type":"PROFANITY","action":"BLOCKED","detected":true}]},"contentPolicy":{"filters":[{"type":"VIOLENCE","confidence":"HIGH","filterStrength":"HIGH","action":"BLOCKED","detected":true}]}}`
)

func bedrockIntervened(outputs []string, assessments ...string) string {
	return `{"action":"GUARDRAIL_INTERVENED","actionReason":"Guardrail blocked.","assessments":[` + strings.Join(assessments, ",") +
		`],"outputs":[` + bedrockOutputs(outputs) + `],"usage":{"topicPolicyUnits":1}}`
}

func bedrockOutputs(texts []string) string {
	parts := make([]string, len(texts))
	for i, t := range texts {
		b, _ := json.Marshal(map[string]string{"text": t})
		parts[i] = string(b)
	}
	return strings.Join(parts, ",")
}

func TestBedrockVerdicts(t *testing.T) {
	texts := []string{"mail jane@example.com", "", "acct 42"}
	tests := []struct {
		name   string
		params map[string]any
		source Source
		reply  string
		want   Verdict
	}{
		{"none allows", nil, Request, `{"action":"NONE","assessments":[],"outputs":[]}`, Verdict{Action: Allow}},
		{"denied topic blocks", nil, Request, bedrockIntervened([]string{"Sorry, I cannot help with that."}, bedrockTopicBlocked),
			Verdict{Action: Block, Reason: "Violated guardrail policy: topic Investments (BLOCKED)"}},
		{"words and content filter block, matches never shown", nil, Response, bedrockIntervened([]string{"blocked"}, bedrockWordBlocked),
			Verdict{Action: Block, Reason: "Violated guardrail policy: content VIOLENCE (BLOCKED); custom word (BLOCKED); managed words PROFANITY (BLOCKED)"}},
		{"anonymized with mask_request_content masks, one text per block, empty text kept", map[string]any{"mask_request_content": true}, Request,
			bedrockIntervened([]string{"mail {EMAIL}", "{account-number}"}, bedrockPIIMasked),
			Verdict{Action: Mask, Texts: []string{"mail {EMAIL}", "", "{account-number}"}, Reason: "Masked by guardrail policy: PII EMAIL (ANONYMIZED); regex account-number (ANONYMIZED)"}},
		{"anonymized on the response with mask_response_content masks", map[string]any{"mask_response_content": "true"}, Response,
			bedrockIntervened([]string{"mail {EMAIL}", "{account-number}"}, bedrockPIIMasked),
			Verdict{Action: Mask, Texts: []string{"mail {EMAIL}", "", "{account-number}"}, Reason: "Masked by guardrail policy: PII EMAIL (ANONYMIZED); regex account-number (ANONYMIZED)"}},
		{"anonymized without the mask flag blocks", nil, Request, bedrockIntervened([]string{"mail {EMAIL}", "{account-number}"}, bedrockPIIMasked),
			Verdict{Action: Block, Reason: "Violated guardrail policy: PII EMAIL (ANONYMIZED); regex account-number (ANONYMIZED) (set mask_request_content to pass the masked text on)"}},
		{"the request flag does not mask the response", map[string]any{"mask_request_content": true}, Response, bedrockIntervened([]string{"a", "b"}, bedrockPIIMasked),
			Verdict{Action: Block, Reason: "Violated guardrail policy: PII EMAIL (ANONYMIZED); regex account-number (ANONYMIZED) (set mask_response_content to pass the masked text on)"}},
		{"blocked beats masked", map[string]any{"mask_request_content": true}, Request, bedrockIntervened([]string{"x", "y"}, bedrockPIIMasked, bedrockTopicBlocked),
			Verdict{Action: Block, Reason: "Violated guardrail policy: PII EMAIL (ANONYMIZED); regex account-number (ANONYMIZED); topic Investments (BLOCKED)"}},
		{"outputs that do not map one to one block", map[string]any{"mask_request_content": true}, Request, bedrockIntervened([]string{"mail {EMAIL}\n{account-number}"}, bedrockPIIMasked),
			Verdict{Action: Block, Reason: "Violated guardrail policy: PII EMAIL (ANONYMIZED); regex account-number (ANONYMIZED) (the guardrail returned 1 masked texts for 2 checked)"}},
		{"intervened without assessments blocks", nil, Request, `{"action":"GUARDRAIL_INTERVENED","assessments":null,"outputs":null}`,
			Verdict{Action: Block, Reason: "Violated guardrail policy (set mask_request_content to pass the masked text on)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newBedrockMock(t, bedrockJSON(200, tc.reply))
			c := newTestBedrock(t, m, tc.params)
			got, err := c.Check(context.Background(), Input{Source: tc.source, Texts: texts})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("verdict\n got  %#v\n want %#v", got, tc.want)
			}
			for _, secret := range []string{"jane@example.com", "acct 42", "supersecretword", "darn"} {
				if strings.Contains(got.Reason, secret) {
					t.Errorf("reason %q holds the matched text %q", got.Reason, secret)
				}
			}
		})
	}
}

func TestBedrockErrors(t *testing.T) {
	tests := []struct {
		name   string
		params map[string]any
		reply  func(w http.ResponseWriter, r *http.Request)
		want   []string
	}{
		{"access denied", nil, bedrockError(403, "AccessDeniedException", "User is not authorized to perform: bedrock:ApplyGuardrail"),
			[]string{`guardrail "pii-guard": bedrock ApplyGuardrail gr123abc version DRAFT:`, "AccessDeniedException", "bedrock:ApplyGuardrail"}},
		{"unknown guardrail", nil, bedrockError(404, "ResourceNotFoundException", "Guardrail not found"), []string{"ResourceNotFoundException"}},
		{"validation", nil, bedrockError(400, "ValidationException", "bad version"), []string{"ValidationException"}},
		{"throttled", nil, bedrockError(429, "ThrottlingException", "Too many requests"), []string{"ThrottlingException"}},
		{"server error", nil, bedrockError(500, "InternalServerException", "oops"), []string{"InternalServerException"}},
		{"unknown action", nil, bedrockJSON(200, `{"action":"MAYBE"}`), []string{`returned the unknown action "MAYBE"`}},
		{"not JSON", nil, bedrockJSON(200, `<html>`), []string{`guardrail "pii-guard": bedrock ApplyGuardrail`}},
		{"timeout", map[string]any{"timeout": 0.2}, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, []string{"timed out"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newBedrockMock(t, tc.reply)
			c := newTestBedrock(t, m, tc.params)
			start := time.Now()
			v, err := c.Check(context.Background(), Input{Source: Request, Texts: []string{"hi"}})
			if err == nil {
				t.Fatalf("verdict %+v, want an error", v)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("took %s", d)
			}
		})
	}
}

// The AWS config is loaded on the first call, not at construction, and a failed load is
// tried again on the next call.
func TestBedrockLoadsAWSConfigLazily(t *testing.T) {
	m := newBedrockMock(t, bedrockJSON(200, `{"action":"NONE"}`))
	loads := 0
	ok := bedrockDeps(m.URL, bedrockTestKey).AWS
	deps := Deps{AWS: func(ctx context.Context) (aws.Config, error) {
		loads++
		if loads == 1 {
			return aws.Config{}, errors.New("no credentials yet")
		}
		return ok(ctx)
	}}
	c, err := NewBedrock(bedrockDef(nil), deps)
	if err != nil || loads != 0 {
		t.Fatalf("NewBedrock: %v, %d loads; want no load", err, loads)
	}
	if _, err := c.Check(context.Background(), Input{Source: Request, Texts: []string{"hi"}}); err == nil || err.Error() != `guardrail "pii-guard": loading the AWS configuration: no credentials yet` {
		t.Errorf("first call: %v", err)
	}
	for range 2 {
		if v, err := c.Check(context.Background(), Input{Source: Request, Texts: []string{"hi"}}); err != nil || v.Action != Allow {
			t.Errorf("later call: %+v, %v", v, err)
		}
	}
	if loads != 2 {
		t.Errorf("%d loads, want 2 (the failure, then one that is kept)", loads)
	}
}

func TestBedrockNoRegion(t *testing.T) {
	c, err := NewBedrock(bedrockDef(nil), Deps{AWS: func(context.Context) (aws.Config, error) { return aws.Config{}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Check(context.Background(), Input{Source: Request, Texts: []string{"hi"}})
	if err == nil || err.Error() != `guardrail "pii-guard": no AWS region: set aws_region_name or AWS_REGION` {
		t.Errorf("error %v", err)
	}
}

// aws_bedrock_runtime_endpoint (LiteLLM's name) points the client at another endpoint when
// the AWS config has none; aws_region_name may be LiteLLM's os.environ/AWS_REGION.
func TestBedrockEndpointAndRegionParams(t *testing.T) {
	m := newBedrockMock(t, bedrockJSON(200, `{"action":"NONE"}`))
	t.Setenv("GUARDRAIL_TEST_REGION", "ap-southeast-2")
	c, err := NewBedrock(bedrockDef(map[string]any{"aws_bedrock_runtime_endpoint": m.URL + "/", "aws_region_name": "os.environ/GUARDRAIL_TEST_REGION"}), bedrockDeps("", bedrockTestKey))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Check(context.Background(), Input{Source: Request, Texts: []string{"hi"}}); err != nil {
		t.Fatal(err)
	}
	if got := m.Calls()[0].Scope.Region; got != "ap-southeast-2" {
		t.Errorf("region %s, want ap-southeast-2 from the environment", got)
	}
}

func TestNewBedrockValidates(t *testing.T) {
	tests := []struct {
		params map[string]any
		want   string
	}{
		{map[string]any{"guardrailIdentifier": nil}, `guardrail "pii-guard": guardrailIdentifier: required (the guardrail's id or ARN)`},
		{map[string]any{"guardrailIdentifier": "  "}, `guardrail "pii-guard": guardrailIdentifier: required (the guardrail's id or ARN)`},
		{map[string]any{"guardrailIdentifier": []any{"a"}}, `guardrail "pii-guard": guardrailIdentifier: want a string, got a list`},
		{map[string]any{"guardrailVersion": nil}, `guardrail "pii-guard": guardrailVersion: required (DRAFT or a version number)`},
		{map[string]any{"guardrailVersion": true}, `guardrail "pii-guard": guardrailVersion: want a string, got a bool`},
		{map[string]any{"guardrailVersion": "v1"}, `guardrail "pii-guard": guardrailVersion: "v1" is neither DRAFT nor a version number`},
		{map[string]any{"guardrailVersion": "draft"}, `guardrail "pii-guard": guardrailVersion: "draft" is neither DRAFT nor a version number`},
		{map[string]any{"guardrailVersion": 0}, `guardrail "pii-guard": guardrailVersion: "0" is neither DRAFT nor a version number`},
		{map[string]any{"guardrailIdentifier": "GR-123"}, `guardrail "pii-guard": guardrailIdentifier: "GR-123" is neither a guardrail id nor a guardrail ARN`},
		{map[string]any{"guardrailIdentifier": "arn:aws:bedrock:us-east-1:123:guardrail/x"}, `guardrail "pii-guard": guardrailIdentifier: "arn:aws:bedrock:us-east-1:123:guardrail/x" is neither a guardrail id nor a guardrail ARN`},
		{map[string]any{"guardrailIdentifier": "arn:aws:bedrock:eu-west-1:123456789012:guardrail/ab12", "aws_region_name": "us-east-1"}, `guardrail "pii-guard": aws_region_name: us-east-1, but guardrailIdentifier is in eu-west-1`},
		{map[string]any{"aws_region_name": "US East"}, `guardrail "pii-guard": aws_region_name: "US East" is not an AWS region name`},
		{map[string]any{"mask_request_content": "yes please"}, `guardrail "pii-guard": mask_request_content: want true or false, got a string`},
		{map[string]any{"mask_response_content": 1}, `guardrail "pii-guard": mask_response_content: want true or false, got a number`},
		{map[string]any{"timeout": 0}, `guardrail "pii-guard": timeout: want more than 0 and at most 300 seconds, got 0`},
		{map[string]any{"timeout": "soon"}, `guardrail "pii-guard": timeout: want a number of seconds, got "soon"`},
		{map[string]any{"aws_bedrock_runtime_endpoint": "https://user:pw@bedrock.example"}, `guardrail "pii-guard": aws_bedrock_runtime_endpoint: want an http(s) URL without credentials, query or fragment`},
		{map[string]any{"aws_bedrock_runtime_endpoint": "bedrock.example"}, `guardrail "pii-guard": aws_bedrock_runtime_endpoint: want an http(s) URL without credentials, query or fragment`},
		{map[string]any{"aws_secret_access_key": "os.environ/AWS_SECRET"}, `guardrail "pii-guard": aws_secret_access_key: not supported: the gateway signs ApplyGuardrail with the function's role (template parameter BedrockGuardrails)`},
		{map[string]any{"aws_role_name": "arn:aws:iam::1:role/x"}, `guardrail "pii-guard": aws_role_name: not supported: the gateway signs ApplyGuardrail with the function's role (template parameter BedrockGuardrails)`},
	}
	for _, tc := range tests {
		_, err := NewBedrock(bedrockDef(tc.params), bedrockDeps("", bedrockTestKey))
		if err == nil || err.Error() != tc.want {
			t.Errorf("params %v:\n got  %v\n want %s", tc.params, err, tc.want)
		}
	}
	// The load validates definitions with partial Deps: building needs no AWS configuration,
	// and a call without one is an error.
	c, err := NewBedrock(bedrockDef(nil), Deps{})
	if err != nil {
		t.Fatalf("no AWS: %v", err)
	}
	if _, err := c.Check(context.Background(), Input{Source: Request, Texts: []string{"hi"}}); err == nil ||
		err.Error() != `guardrail "pii-guard": bedrock needs the AWS configuration, and none was given` {
		t.Errorf("call without AWS: %v", err)
	}
}

// AWS_ENDPOINT_URL_BEDROCK_RUNTIME, the SDK's service-specific endpoint variable, points the
// checker at another endpoint through the standard config load (what the wiring does), with
// credentials and region from the environment.
func TestBedrockEndpointFromEnvironment(t *testing.T) {
	m := newBedrockMock(t, bedrockJSON(200, `{"action":"NONE"}`))
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1") // moto, in run-aws-local: the specific variable wins
	t.Setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", m.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", bedrockTestKey.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", bedrockTestKey.SecretAccessKey)
	t.Setenv("AWS_SESSION_TOKEN", bedrockTestKey.SessionToken)
	t.Setenv("AWS_REGION", "us-west-2")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	deps := Deps{AWS: func(ctx context.Context) (aws.Config, error) { return awsconfig.LoadDefaultConfig(ctx) }}
	c, err := NewBedrock(bedrockDef(nil), deps)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Check(context.Background(), Input{Source: Request, Texts: []string{"hi"}}); err != nil {
		t.Fatal(err)
	}
	if got := m.Calls()[0].Scope.Region; got != "us-west-2" {
		t.Errorf("signed for %s, want AWS_REGION us-west-2", got)
	}
}

// aws_region_name: os.environ/NAME with NAME unset falls back to the AWS config's region.
func TestBedrockRegionReferenceUnset(t *testing.T) {
	m := newBedrockMock(t, bedrockJSON(200, `{"action":"NONE"}`))
	t.Setenv("GUARDRAIL_TEST_REGION", "")
	c := newTestBedrock(t, m, map[string]any{"aws_region_name": "os.environ/GUARDRAIL_TEST_REGION"})
	if _, err := c.Check(context.Background(), Input{Source: Request, Texts: []string{"hi"}}); err != nil {
		t.Fatal(err)
	}
	if got := m.Calls()[0].Scope.Region; got != "us-east-1" {
		t.Errorf("region %s, want the config's us-east-1", got)
	}
}

// BenchmarkCheckerBedrock is here, not with the other checkers' benchmarks: the local-only build
// (-tags noawsbackends) has no Bedrock checker.
func BenchmarkCheckerBedrock(b *testing.B) {
	const reply = `{"action":"NONE","assessments":[],"outputs":[],"usage":{"topicPolicyUnits":1,"contentPolicyUnits":1}}`
	s := benchMock(b, reply)
	b.Run("baseline-post", func(b *testing.B) { benchBaseline(b, s.URL, 1100) })
	b.Run("check", func(b *testing.B) {
		c, err := NewBedrock(bedrockDef(nil), bedrockDeps(s.URL, bedrockTestKey))
		if err != nil {
			b.Fatal(err)
		}
		benchCheck(b, c)
	})
	b.Run("in-memory", func(b *testing.B) {
		deps := bedrockDeps("http://bedrock.invalid", bedrockTestKey)
		load := deps.AWS
		deps.AWS = func(ctx context.Context) (aws.Config, error) {
			cfg, err := load(ctx)
			cfg.HTTPClient = benchTransport(reply)
			return cfg, err
		}
		c, err := NewBedrock(bedrockDef(nil), deps)
		if err != nil {
			b.Fatal(err)
		}
		benchCheck(b, c)
	})
}

// Both checkers are used by every request at once (run with -race).
func TestCheckersConcurrent(t *testing.T) {
	wm := newWebhookMock(t, func(w http.ResponseWriter, r *http.Request) {
		var req webhookRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		out := make([]string, len(req.Texts))
		for i, s := range req.Texts {
			out[i] = strings.ToUpper(s)
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"action": "GUARDRAIL_INTERVENED", "texts": out})
	})
	web, _ := newTestWebhook(t, map[string]any{"api_base": wm.URL, "headers": map[string]any{"x-api-key": "os.environ/GUARD_KEY"}})
	bm := newBedrockMock(t, func(w http.ResponseWriter, r *http.Request) {
		bedrockJSON(200, `{"action":"NONE"}`)(w, r)
	})
	bed := newTestBedrock(t, bm, nil)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			text := strings.Repeat("x", i+1)
			v, err := web.Check(context.Background(), Input{Source: Request, Texts: []string{text}})
			if err != nil || v.Action != Mask || v.Texts[0] != strings.ToUpper(text) {
				t.Errorf("webhook %d: %+v, %v", i, v, err)
			}
			if v, err := bed.Check(context.Background(), Input{Source: Response, Texts: []string{text}}); err != nil || v.Action != Allow {
				t.Errorf("bedrock %d: %+v, %v", i, v, err)
			}
		}()
	}
	wg.Wait()
	if len(bm.Calls()) != 16 || len(wm.Calls()) != 16 {
		t.Errorf("%d bedrock and %d webhook calls, want 16 each", len(bm.Calls()), len(wm.Calls()))
	}
}
