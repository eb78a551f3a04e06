package builtin_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/passthru/gateway/shared/auth"
	"github.com/passthru/gateway/shared/builtin"
	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/route"
	"github.com/passthru/gateway/shared/secrets"
	"github.com/passthru/gateway/shared/usage/usagetest"
	"github.com/passthru/gateway/shared/wiring"
)

// bedrockUpstream stands for bedrock-runtime or bedrock-agent-runtime: it records each request
// as it arrived on the wire and answers in Bedrock's shapes (event streams for the streaming
// actions).
type bedrockUpstream struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []wireRequest
}

func newBedrockUpstream(t *testing.T) *bedrockUpstream {
	u := &bedrockUpstream{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h := r.Header.Clone()
		u.mu.Lock()
		u.reqs = append(u.reqs, wireRequest{r.Method, r.RequestURI, r.Host, h, r.ContentLength, body})
		u.mu.Unlock()
		bedrockRespond(w, r)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *bedrockUpstream) take(t *testing.T) (wireRequest, bool) {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.reqs) == 0 {
		return wireRequest{}, false
	}
	r := u.reqs[len(u.reqs)-1]
	u.reqs = nil
	return r, true
}

// esFrame encodes one event-stream message with the AWS SDK's encoder.
func esFrame(t testing.TB, eventType string, payload []byte) []byte {
	var h eventstream.Headers
	h.Set(":event-type", eventstream.StringValue(eventType))
	h.Set(":content-type", eventstream.StringValue("application/json"))
	h.Set(":message-type", eventstream.StringValue("event"))
	var b bytes.Buffer
	if err := eventstream.NewEncoder().Encode(&b, eventstream.Message{Headers: h, Payload: payload}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// invokeChunk is an InvokeModelWithResponseStream chunk: a model event, base64 in "bytes".
func invokeChunk(t testing.TB, event string) []byte {
	p, _ := json.Marshal(map[string]string{"bytes": base64.StdEncoding.EncodeToString([]byte(event))})
	return esFrame(t, "chunk", p)
}

// Claude on Bedrock, streamed: Anthropic events, the last one carrying Bedrock's metrics.
func invokeStreamFrames(t testing.TB) [][]byte {
	return [][]byte{
		invokeChunk(t, `{"type":"message_start","message":{"id":"msg_1","model":"claude-sonnet-4-5","usage":{"input_tokens":11,"output_tokens":1}}}`),
		invokeChunk(t, `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}`),
		invokeChunk(t, `{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":11,"outputTokenCount":5,"invocationLatency":420,"firstByteLatency":210}}`),
	}
}

func converseStreamFrames(t testing.TB) [][]byte {
	return [][]byte{
		esFrame(t, "messageStart", []byte(`{"role":"assistant"}`)),
		esFrame(t, "contentBlockDelta", []byte(`{"contentBlockIndex":0,"delta":{"text":"Hi"}}`)),
		esFrame(t, "messageStop", []byte(`{"stopReason":"end_turn"}`)),
		esFrame(t, "metadata", []byte(`{"usage":{"inputTokens":7,"outputTokens":3,"totalTokens":10},"metrics":{"latencyMs":300}}`)),
	}
}

func bedrockRespond(w http.ResponseWriter, r *http.Request) {
	var frames [][]byte
	switch {
	case strings.HasSuffix(r.URL.Path, "/invoke-with-response-stream"):
		frames = invokeStreamFrames(nil)
	case strings.HasSuffix(r.URL.Path, "/converse-stream"):
		frames = converseStreamFrames(nil)
	case strings.HasSuffix(r.URL.Path, "/converse"):
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"output":{"message":{"role":"assistant","content":[{"text":"Hi"}]}},"stopReason":"end_turn","usage":{"inputTokens":9,"outputTokens":2,"totalTokens":11}}`)
		return
	default:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-Requestid", "req-1")
		_, _ = io.WriteString(w, `{"ok":true}`)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
	for _, f := range frames {
		_, _ = w.Write(f)
		w.(http.Flusher).Flush()
	}
}

// staticCreds counts how often the credentials are read from their source.
type staticCreds struct {
	retrievals atomic.Int64
	keys       awsKeys
	err        error
}

func (s *staticCreds) Retrieve(context.Context) (aws.Credentials, error) {
	s.retrievals.Add(1)
	if s.err != nil {
		return aws.Credentials{}, s.err
	}
	return credentials.NewStaticCredentialsProvider(s.keys.id, s.keys.secret, s.keys.token).Retrieve(context.Background())
}

// signerFor is a Bedrock signer reading creds (as the default chain's provider), counting
// how often the chain is loaded.
func signerFor(creds aws.CredentialsProvider, loads *atomic.Int64, log *slog.Logger) *builtin.BedrockSigner {
	return builtin.NewBedrockSigner(func(context.Context) (aws.CredentialsProvider, error) {
		if loads != nil {
			loads.Add(1)
		}
		return creds, nil
	}, log)
}

// bedrockGateway serves the built-in routes with /bedrock's runtime and agent runtime at the
// given upstreams, region us-east-1.
func bedrockGateway(t *testing.T, runtime, agent string, o builtin.Options, extraEnv map[string]string) (*httptest.Server, *usagetest.Sink) {
	t.Helper()
	env := map[string]string{"AWS_REGION": "us-east-1", builtin.BedrockRuntimeEndpointEnv: runtime, builtin.BedrockAgentRuntimeEndpointEnv: agent}
	for k, v := range extraEnv {
		env[k] = v
	}
	o.Env = func(k string) string { return env[k] }
	res := config.Parse([]byte("general_settings:\n  master_key: " + master + "\n"))
	table, _, err := builtin.NewTable(res.Config, o)
	if err != nil {
		t.Fatal(err)
	}
	sink := usagetest.NewSink()
	h := wiring.NewHandler(wiring.Sources{Routes: table, Secrets: secrets.Inline{}, Keys: auth.NewMasterKey(master)}, sink, slog.New(slog.DiscardHandler), false)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, sink
}

const (
	claudeInvoke = `{"anthropic_version":"bedrock-2023-05-31","anthropic_beta":["context-1m-2025-08-07"],"max_tokens":64,"messages":[{"role":"user","content":"Hi"}]}`
	converseBody = `{"messages":[{"role":"user","content":[{"text":"Hi"}]}],"inferenceConfig":{"maxTokens":64}}`
)

// TestBedrockSignedCalls: each kind of call reaches its service with the client's path bytes
// and body, only the allowed headers and a SigV4 signature that an independent verifier
// accepts for the right region; the stream is relayed byte for byte; the record has the tokens.
func TestBedrockSignedCalls(t *testing.T) {
	runtime, agent := newBedrockUpstream(t), newBedrockUpstream(t)
	creds := &staticCreds{keys: testKeys}
	gw, sink := bedrockGateway(t, runtime.srv.URL, agent.srv.URL, builtin.Options{Bedrock: signerFor(creds, nil, nil)}, nil)
	sigV4Hack := "AWS4-HMAC-SHA256 Credential=Bearer " + master + "/20260101/us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature=00"
	tests := []struct {
		name      string
		call      call
		up        *bedrockUpstream
		uri       string            // as the upstream received it
		region    string            // the signature's
		headers   map[string]string // every upstream header but Authorization, X-Amz-Date, Content-Length
		signed    string            // the signature's SignedHeaders
		body      []byte            // the response, when it must be exact
		model     string
		in, out   int64
		streaming bool
	}{
		{name: "invoke, model id with %3A, Claude Code's headers, Bearer gateway key (AWS_BEARER_TOKEN_BEDROCK)",
			call: call{target: "/bedrock/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke", body: claudeInvoke, header: map[string]string{
				"Authorization": "Bearer " + master, "Content-Type": "application/json", "Accept": "application/json",
				"X-Amzn-Bedrock-Service-Tier": "priority", "X-Amz-Date": "20200101T000000Z", "X-Amz-Security-Token": "client-token",
				"X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD", "X-Custom": "dropped", "Anthropic-Beta": "dropped"}},
			up: runtime, uri: "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke", region: "us-east-1",
			headers: map[string]string{"Content-Type": "application/json", "Accept": "application/json", "X-Amzn-Bedrock-Service-Tier": "priority",
				"X-Amz-Security-Token": testKeys.token},
			signed: "accept;content-length;content-type;host;x-amz-date;x-amz-security-token;x-amzn-bedrock-service-tier"},
		{name: "converse, gateway key in x-litellm-api-key, guardrail headers",
			call: call{target: "/bedrock/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse", body: converseBody, header: map[string]string{
				"X-Litellm-Api-Key": "Bearer " + master, "Content-Type": "application/json",
				"X-Amzn-Bedrock-Guardrailidentifier": "gr-1", "X-Amzn-Bedrock-Guardrailversion": "2"}},
			up: runtime, uri: "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse", region: "us-east-1",
			headers: map[string]string{"Content-Type": "application/json", "X-Amzn-Bedrock-Guardrailidentifier": "gr-1",
				"X-Amzn-Bedrock-Guardrailversion": "2", "X-Amz-Security-Token": testKeys.token},
			signed: "content-length;content-type;host;x-amz-date;x-amz-security-token;x-amzn-bedrock-guardrailidentifier;x-amzn-bedrock-guardrailversion",
			model:  "anthropic.claude-3-5-haiku-20241022-v1:0", in: 9, out: 2},
		{name: "invoke-with-response-stream (Claude Code), event stream byte for byte",
			call: call{target: "/bedrock/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke-with-response-stream", body: claudeInvoke, header: map[string]string{
				"Authorization": "Bearer " + master, "Content-Type": "application/json", "X-Amzn-Bedrock-Accept": "application/json"}},
			up: runtime, uri: "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke-with-response-stream", region: "us-east-1",
			headers: map[string]string{"Content-Type": "application/json", "X-Amzn-Bedrock-Accept": "application/json", "X-Amz-Security-Token": testKeys.token},
			signed:  "content-length;content-type;host;x-amz-date;x-amz-security-token;x-amzn-bedrock-accept",
			body:    bytes.Join(invokeStreamFrames(t), nil), model: "us.anthropic.claude-sonnet-4-5-20250929-v1:0", in: 11, out: 5, streaming: true},
		{name: "converse-stream, gateway key in a SigV4 Credential=Bearer",
			call: call{target: "/bedrock/model/amazon.nova-lite-v1%3A0/converse-stream", body: converseBody, header: map[string]string{
				"Authorization": sigV4Hack, "Content-Type": "application/json"}},
			up: runtime, uri: "/model/amazon.nova-lite-v1%3A0/converse-stream", region: "us-east-1",
			headers: map[string]string{"Content-Type": "application/json", "X-Amz-Security-Token": testKeys.token},
			signed:  "content-length;content-type;host;x-amz-date;x-amz-security-token",
			body:    bytes.Join(converseStreamFrames(t), nil), model: "amazon.nova-lite-v1:0", in: 7, out: 3, streaming: true},
		{name: "ARN model id (%3A, %2F): its region signs and the path keeps the client's bytes",
			call: call{target: "/bedrock/model/arn%3Aaws%3Abedrock%3Aeu-west-1%3A123456789012%3Aapplication-inference-profile%2Fabc123/converse", body: converseBody,
				header: map[string]string{"Authorization": "Bearer " + master, "Content-Type": "application/json"}},
			up: runtime, uri: "/model/arn%3Aaws%3Abedrock%3Aeu-west-1%3A123456789012%3Aapplication-inference-profile%2Fabc123/converse", region: "eu-west-1",
			headers: map[string]string{"Content-Type": "application/json", "X-Amz-Security-Token": testKeys.token},
			signed:  "content-length;content-type;host;x-amz-date;x-amz-security-token",
			model:   "arn:aws:bedrock:eu-west-1:123456789012:application-inference-profile/abc123", in: 9, out: 2},
		{name: "ARN sent with literal ':' and '/' as well",
			call: call{target: "/bedrock/model/arn:aws:bedrock:ap-southeast-2:123456789012:inference-profile/apac.amazon.nova-micro-v1:0/converse", body: converseBody,
				header: map[string]string{"Authorization": "Bearer " + master, "Content-Type": "application/json"}},
			up: runtime, uri: "/model/arn:aws:bedrock:ap-southeast-2:123456789012:inference-profile/apac.amazon.nova-micro-v1:0/converse", region: "ap-southeast-2",
			headers: map[string]string{"Content-Type": "application/json", "X-Amz-Security-Token": testKeys.token},
			signed:  "content-length;content-type;host;x-amz-date;x-amz-security-token",
			model:   "arn:aws:bedrock:ap-southeast-2:123456789012:inference-profile/apac.amazon.nova-micro-v1:0", in: 9, out: 2},
		{name: "agent runtime: knowledge base retrieve, x-pass- header",
			call: call{target: "/bedrock/knowledgebases/KB12345678/retrieve", body: `{"retrievalQuery":{"text":"refund policy"}}`,
				header: map[string]string{"Authorization": "Bearer " + master, "Content-Type": "application/json",
					"X-Pass-X-Request-Tag": "t1", "X-Pass-X-Amz-Date": "20200101T000000Z"}},
			up: agent, uri: "/knowledgebases/KB12345678/retrieve", region: "us-east-1",
			// x-pass- goes along unsigned; it can set no X-Amz- header.
			headers: map[string]string{"Content-Type": "application/json", "X-Amz-Security-Token": testKeys.token, "X-Request-Tag": "t1"},
			signed:  "content-length;content-type;host;x-amz-date;x-amz-security-token"},
		{name: "agent runtime: InvokeAgent with its source ARN header",
			call: call{target: "/bedrock/agents/AG1/agentAliases/AL1/sessions/s-1/text", body: `{"inputText":"hi"}`,
				header: map[string]string{"Authorization": "Bearer " + master, "Content-Type": "application/json", "X-Amz-Source-Arn": "arn:aws:iam::123456789012:role/x"}},
			up: agent, uri: "/agents/AG1/agentAliases/AL1/sessions/s-1/text", region: "us-east-1",
			headers: map[string]string{"Content-Type": "application/json", "X-Amz-Source-Arn": "arn:aws:iam::123456789012:role/x", "X-Amz-Security-Token": testKeys.token},
			signed:  "content-length;content-type;host;x-amz-date;x-amz-security-token;x-amz-source-arn"},
		{name: "agent runtime: a query, signed in canonical order",
			call: call{target: "/bedrock/sessions/s-1/invocations/?nextToken=a%2Fb%3D&maxResults=2", body: "",
				header: map[string]string{"Authorization": "Bearer " + master}},
			up: agent, uri: "/sessions/s-1/invocations/?maxResults=2&nextToken=a%2Fb%3D", region: "us-east-1",
			headers: map[string]string{"X-Amz-Security-Token": testKeys.token},
			signed:  "host;x-amz-date;x-amz-security-token"},
		{name: "rerank goes to the agent runtime",
			call: call{target: "/bedrock/rerank", body: `{"queries":[{"type":"TEXT","textQuery":{"text":"q"}}]}`,
				header: map[string]string{"Authorization": "Bearer " + master, "Content-Type": "application/json"}},
			up: agent, uri: "/rerank", region: "us-east-1",
			headers: map[string]string{"Content-Type": "application/json", "X-Amz-Security-Token": testKeys.token},
			signed:  "content-length;content-type;host;x-amz-date;x-amz-security-token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, resp := tt.call.do(t, gw.URL)
			got, called := tt.up.take(t)
			if status != 200 || !called {
				t.Fatalf("status %d %q, upstream called %v", status, resp, called)
			}
			if got.requestURI != tt.uri || string(got.body) != tt.call.body {
				t.Errorf("upstream got %s %q, want %s %q", got.requestURI, got.body, tt.uri, tt.call.body)
			}
			if err := verifySigV4(got, testKeys, tt.region, "bedrock", time.Now()); err != nil {
				t.Errorf("signature: %v", err)
			}
			if _, sh, _ := strings.Cut(first(got.header, "Authorization"), "SignedHeaders="); !strings.HasPrefix(sh, tt.signed+",") {
				t.Errorf("signed headers %q, want %s", sh, tt.signed)
			}
			hdr := map[string]string{} // User-Agent: none (the gateway sends no default)
			for name, vv := range got.header {
				switch name {
				case "Authorization", "X-Amz-Date", "Content-Length", "Accept-Encoding":
				default:
					hdr[name] = strings.Join(vv, ",")
				}
			}
			if !mapsEqual(hdr, tt.headers) {
				t.Errorf("upstream headers %v, want %v", hdr, tt.headers)
			}
			if leaked(seen{uri: got.requestURI, header: got.header, body: got.body}, master) {
				t.Errorf("the gateway key reached the upstream")
			}
			if tt.body != nil && resp != string(tt.body) {
				t.Errorf("client got %q, want the upstream's bytes %q", resp, tt.body)
			}
			rec := sink.Next(t)
			if rec.Provider != "bedrock" || rec.Status != 200 || rec.Streamed != tt.streaming {
				t.Errorf("record provider %q status %d streamed %v", rec.Provider, rec.Status, rec.Streamed)
			}
			if tt.model != "" && (rec.Model != tt.model || rec.Input == nil || *rec.Input != tt.in || rec.Output == nil || *rec.Output != tt.out) {
				t.Errorf("record %s %v/%v, want %s %d/%d", rec.Model, show(rec.Input), show(rec.Output), tt.model, tt.in, tt.out)
			}
		})
	}
	if n := creds.retrievals.Load(); n != 1 {
		t.Errorf("the credentials were read %d times for %d calls, want once (cached)", n, len(tests))
	}
}

func show(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

// The verifier is no rubber stamp: a request signed for another region, or whose path was
// re-encoded on the way (decoded "%3A", or escaped once more), or signed over its path only
// once (LiteLLM #14763: DisableURIPathEscaping, the S3 rule), or with another body, fails it.
func TestSigV4VerifierCatchesWhatAWSWouldRefuse(t *testing.T) {
	runtime := newBedrockUpstream(t)
	gw, _ := bedrockGateway(t, runtime.srv.URL, runtime.srv.URL, builtin.Options{Bedrock: signerFor(&staticCreds{keys: testKeys}, nil, nil)}, nil)
	status, _ := call{target: "/bedrock/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/invoke", body: claudeInvoke,
		header: map[string]string{"Authorization": "Bearer " + master, "Content-Type": "application/json"}}.do(t, gw.URL)
	good, called := runtime.take(t)
	if status != 200 || !called {
		t.Fatalf("status %d", status)
	}
	now := time.Now()
	if err := verifySigV4(good, testKeys, "us-east-1", "bedrock", now); err != nil {
		t.Fatalf("the gateway's request does not verify: %v", err)
	}
	mutate := func(f func(r *wireRequest)) wireRequest {
		r := good
		r.header = map[string][]string{}
		for k, v := range good.header {
			r.header[k] = v
		}
		f(&r)
		return r
	}
	bad := map[string]struct {
		r      wireRequest
		region string
	}{
		"verified for another region": {good, "us-west-2"},
		"path decoded on the way (%3A -> :)": {mutate(func(r *wireRequest) {
			r.requestURI = strings.ReplaceAll(r.requestURI, "%3A", ":")
		}), "us-east-1"},
		"path escaped once more on the way (%3A -> %253A)": {mutate(func(r *wireRequest) {
			r.requestURI = strings.ReplaceAll(r.requestURI, "%3A", "%253A")
		}), "us-east-1"},
		"another body":    {mutate(func(r *wireRequest) { r.body = append([]byte(nil), append(r.body, ' ')...); r.contentLen++ }), "us-east-1"},
		"another service": {good, "us-east-1"},
	}
	for name, tt := range bad {
		service := "bedrock"
		if name == "another service" {
			service = "bedrock-runtime"
		}
		if err := verifySigV4(tt.r, testKeys, tt.region, service, now); err == nil {
			t.Errorf("%s: verified, want a failure", name)
		}
	}

	// The SDK signer itself: its default (path escaped again) verifies, the S3 rule does not.
	for _, disable := range []bool{false, true} {
		req, _ := http.NewRequest(http.MethodPost, "https://bedrock-runtime.us-east-1.amazonaws.com/model/x.y-v1%3A0/converse", strings.NewReader(converseBody))
		req.Header.Set("Content-Type", "application/json")
		c, _ := credentials.NewStaticCredentialsProvider(testKeys.id, testKeys.secret, testKeys.token).Retrieve(context.Background())
		sum := sha256Hex([]byte(converseBody))
		if err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = disable }).
			SignHTTP(context.Background(), c, req, sum, "bedrock", "us-east-1", now); err != nil {
			t.Fatal(err)
		}
		w := wireRequest{method: "POST", requestURI: req.URL.RequestURI(), host: req.URL.Host, header: req.Header, contentLen: req.ContentLength, body: []byte(converseBody)}
		if err := verifySigV4(w, testKeys, "us-east-1", "bedrock", now); (err == nil) == disable {
			t.Errorf("DisableURIPathEscaping %v: verify error %v", disable, err)
		}
	}
}

// Without AWS credentials a call is answered 401 naming them and nothing goes upstream; the
// SDK's reason is logged once. A table built without a signer answers the same.
func TestBedrockWithoutCredentials(t *testing.T) {
	runtime := newBedrockUpstream(t)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	missing := &staticCreds{err: errors.New("no EC2 IMDS role found")}
	const want = `{"error":{"message":"The gateway has no AWS credentials for /bedrock: the AWS SDK's default credential chain found none (locally set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, in the gateway's environment; on Lambda the function's role signs).","type":"auth_error","param":"None","code":"401"}}`
	for name, o := range map[string]builtin.Options{"chain finds none": {Bedrock: signerFor(missing, nil, log)}, "no signer": {}} {
		gw, sink := bedrockGateway(t, runtime.srv.URL, runtime.srv.URL, o, nil)
		for range 2 {
			status, resp := call{target: "/bedrock/model/m%3A0/converse", body: converseBody,
				header: map[string]string{"Authorization": "Bearer " + master}}.do(t, gw.URL)
			if _, called := runtime.take(t); status != 401 || resp != want || called {
				t.Errorf("%s: %d %s (upstream called %v)", name, status, resp, called)
			}
			if rec := sink.Next(t); rec.ErrorClass != "no_credential" || rec.Provider != "bedrock" {
				t.Errorf("%s: record %+v", name, rec)
			}
		}
	}
	if n := strings.Count(logs.String(), `msg="no AWS credentials for /bedrock" error="failed to refresh cached credentials, no EC2 IMDS role found"`); n != 1 {
		t.Errorf("logged %d times, want once:\n%s", n, logs.String())
	}
	// A bad gateway key is still the caller's 401, before any credential is looked at.
	gw, _ := bedrockGateway(t, runtime.srv.URL, runtime.srv.URL, builtin.Options{}, nil)
	if status, resp := (call{target: "/bedrock/model/m/converse", body: "{}"}).do(t, gw.URL); status != 401 || strings.Contains(resp, "AWS credentials") {
		t.Errorf("no gateway key: %d %s", status, resp)
	}
}

// Off (GATEWAY_BEDROCK not on, or an environment the route cannot use) is a 404 saying why.
func TestBedrockOff(t *testing.T) {
	runtime := newBedrockUpstream(t)
	tests := []struct {
		name string
		o    builtin.Options
		env  map[string]string
		want string
	}{
		{"GATEWAY_BEDROCK off", builtin.Options{BedrockOff: true}, nil, builtin.BedrockOffMessage},
		{"a region that is not one", builtin.Options{}, map[string]string{"AWS_REGION_NAME": "us-east-1.evil.example"},
			`The built-in /bedrock route is off: AWS_REGION_NAME \"us-east-1.evil.example\" is not an AWS region.`},
		{"an endpoint that is no URL", builtin.Options{}, map[string]string{builtin.BedrockAgentRuntimeEndpointEnv: "ftp://x"},
			"The built-in /bedrock route is off: AWS_BEDROCK_AGENT_RUNTIME_ENDPOINT is not an http(s) URL."},
	}
	for _, tt := range tests {
		gw, _ := bedrockGateway(t, runtime.srv.URL, runtime.srv.URL, tt.o, tt.env)
		status, resp := call{target: "/bedrock/model/m/converse", body: converseBody, header: map[string]string{"Authorization": "Bearer " + master}}.do(t, gw.URL)
		want := `{"error":{"message":"` + tt.want + `","type":"not_found_error","param":"None","code":"404"}}`
		if _, called := runtime.take(t); status != 404 || resp != want || called {
			t.Errorf("%s: %d %s (upstream called %v), want 404 %s", tt.name, status, resp, called, want)
		}
	}
}

// Bad paths are the client's 400, and nothing goes upstream: no API path, an ARN whose region
// is not a region (it would become the host).
func TestBedrockBadPaths(t *testing.T) {
	runtime := newBedrockUpstream(t)
	gw, _ := bedrockGateway(t, runtime.srv.URL, runtime.srv.URL, builtin.Options{Bedrock: signerFor(&staticCreds{keys: testKeys}, nil, nil)}, nil)
	for target, msg := range map[string]string{
		"/bedrock":  `no Bedrock API path: call /bedrock/model/{modelId}/{action} or an agent-runtime path`,
		"/bedrock/": `no Bedrock API path: call /bedrock/model/{modelId}/{action} or an agent-runtime path`,
		"/bedrock/model/arn%3Aaws%3Abedrock%3Aevil.example%2F%3A1%3Ax/converse": `the model ARN \"arn:aws:bedrock:evil.example/:1:x\" names no AWS region`,
		"/bedrock/model/arn%3Aaws%3As3%3Aus-east-1%3A1%3Ax/converse":            `the model ARN \"arn:aws:s3:us-east-1:1:x\" names no AWS region`,
	} {
		status, resp := call{target: target, body: "{}", header: map[string]string{"Authorization": "Bearer " + master}}.do(t, gw.URL)
		want := `{"error":{"message":"Invalid request URL: ` + msg + `","type":"invalid_request_error","param":"None","code":"400"}}`
		if _, called := runtime.take(t); status != 400 || resp != want || called {
			t.Errorf("%s: %d %s (upstream called %v), want %s", target, status, resp, called, want)
		}
	}
}

// The AWS credentials are resolved at the first call, not when tables are built (no init
// cost), then read from the SDK's cache: N concurrent calls make one read, and a table rebuilt
// (SSM refresh) keeps the same signer.
func TestBedrockCredentialsResolvedOnceLazily(t *testing.T) {
	runtime := newBedrockUpstream(t)
	creds := &staticCreds{keys: testKeys}
	var loads atomic.Int64
	o := builtin.Options{Bedrock: signerFor(creds, &loads, nil)}
	gw, _ := bedrockGateway(t, runtime.srv.URL, runtime.srv.URL, o, nil)
	gw2, _ := bedrockGateway(t, runtime.srv.URL, runtime.srv.URL, o, nil) // a rebuilt table
	if loads.Load() != 0 || creds.retrievals.Load() != 0 {
		t.Fatalf("credentials read before any call: %d loads, %d reads", loads.Load(), creds.retrievals.Load())
	}
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			base := gw.URL
			if i%2 == 1 {
				base = gw2.URL
			}
			if status, _ := (call{target: "/bedrock/model/m%3A0/converse", body: converseBody, header: map[string]string{"Authorization": "Bearer " + master}}).do(t, base); status != 200 {
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	if failed.Load() != 0 || loads.Load() != 1 || creds.retrievals.Load() != 1 {
		t.Errorf("%d failed; the chain was loaded %d times and read %d times, want once each", failed.Load(), loads.Load(), creds.retrievals.Load())
	}
}

// An event stream is relayed as it arrives, message by message, even when the upstream
// declares its length (which otherwise lets the relay buffer).
func TestBedrockEventStreamFlushedPerMessage(t *testing.T) {
	frames := invokeStreamFrames(t)
	total := len(bytes.Join(frames, nil))
	clientGotFirst := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
		w.Header().Set("Content-Length", strconv.Itoa(total))
		_, _ = w.Write(frames[0])
		w.(http.Flusher).Flush()
		select {
		case <-clientGotFirst:
		case <-time.After(5 * time.Second):
		}
		for _, f := range frames[1:] {
			_, _ = w.Write(f)
		}
	}))
	t.Cleanup(up.Close)
	gw, _ := bedrockGateway(t, up.URL, up.URL, builtin.Options{Bedrock: signerFor(&staticCreds{keys: testKeys}, nil, nil)}, nil)
	req, _ := http.NewRequest(http.MethodPost, gw.URL+"/bedrock/model/m%3A0/invoke-with-response-stream", strings.NewReader(claudeInvoke))
	req.Header.Set("Authorization", "Bearer "+master)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	msg, err := eventstream.NewDecoder().Decode(resp.Body, nil)
	if err != nil || time.Since(start) > 3*time.Second {
		t.Fatalf("first message after %v: %v", time.Since(start), err)
	}
	close(clientGotFirst)
	var b bytes.Buffer
	_ = eventstream.NewEncoder().Encode(&b, msg)
	rest, _ := io.ReadAll(resp.Body)
	if got := append(b.Bytes(), rest...); !bytes.Equal(got, bytes.Join(frames, nil)) {
		t.Errorf("relayed %d bytes, not the upstream's %d", len(got), total)
	}
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// bedrockAuthorizer returns the Authorizer of the /bedrock route of a table built with o.
func bedrockAuthorizer(t testing.TB, o builtin.Options) route.Authorizer {
	t.Helper()
	res := config.Parse([]byte("general_settings:\n  master_key: " + master + "\n"))
	table, _, err := builtin.NewTable(res.Config, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range table.Routes() {
		if r.Path == "/bedrock" {
			return r.Builtin.Authorizer
		}
	}
	t.Fatal("no /bedrock route")
	return nil
}

// BenchmarkBedrockSign is the per-call cost of SigV4 with warm credentials: hashing the body,
// the canonical request and the HMAC chain. reads/op shows that no call reads the credentials
// again (the SDK's cache serves them), let alone calls AWS.
func BenchmarkBedrockSign(b *testing.B) {
	for _, size := range []int{1 << 10, 64 << 10} {
		b.Run(strconv.Itoa(size>>10)+"KiB", func(b *testing.B) {
			creds := &staticCreds{keys: testKeys}
			env := map[string]string{"AWS_REGION": "us-east-1"}
			a := bedrockAuthorizer(b, builtin.Options{Env: func(k string) string { return env[k] }, Bedrock: signerFor(creds, nil, nil)})
			body := bytes.Repeat([]byte("x"), size)
			req, _ := http.NewRequest(http.MethodPost, "https://bedrock-runtime.us-east-1.amazonaws.com/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke", nil)
			req.Header.Set("Content-Type", "application/json")
			if err := a.Authorize(context.Background(), req, body); err != nil { // warm the cache
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(size))
			b.ResetTimer()
			for range b.N {
				if err := a.Authorize(context.Background(), req, body); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(creds.retrievals.Load()-1)/float64(b.N), "reads/op")
		})
	}
}
