package sdktest

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"

	"github.com/passthru/gateway/shared/usage/usagetest"
	"github.com/passthru/gateway/shared/wiring"
)

// The AWS credentials the gateway signs Bedrock calls with (the function role's, on Lambda).
const (
	bedrockAccessKey = "AKIDSDKTESTBEDROCK"
	bedrockSecretKey = "bedrock-sdktest-secret"
	bedrockModelID   = "anthropic.claude-3-5-sonnet-20240620-v1:0"
)

// answerBedrock answers Converse with JSON and ConverseStream with an AWS event stream, the
// messages eventGap apart, as bedrock-runtime does.
func answerBedrock(w http.ResponseWriter, r *http.Request, _ []byte) {
	switch {
	case strings.HasSuffix(r.URL.Path, "/converse"):
		writeJSON(w, 200, `{"output":{"message":{"role":"assistant","content":[{"text":"Hello from Bedrock"}]}},"stopReason":"end_turn","usage":{"inputTokens":7,"outputTokens":4,"totalTokens":11},"metrics":{"latencyMs":12}}`)
	case strings.HasSuffix(r.URL.Path, "/converse-stream"):
		w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
		w.WriteHeader(200)
		enc := eventstream.NewEncoder()
		for i, ev := range []struct{ typ, payload string }{
			{"messageStart", `{"role":"assistant"}`},
			{"contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"Hello "}}`},
			{"contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"from Bedrock"}}`},
			{"contentBlockStop", `{"contentBlockIndex":0}`},
			{"messageStop", `{"stopReason":"end_turn"}`},
			{"metadata", `{"usage":{"inputTokens":7,"outputTokens":3,"totalTokens":10},"metrics":{"latencyMs":9}}`},
		} {
			if i > 0 {
				time.Sleep(eventGap)
			}
			var buf bytes.Buffer
			_ = enc.Encode(&buf, eventstream.Message{Headers: eventstream.Headers{
				{Name: ":event-type", Value: eventstream.StringValue(ev.typ)},
				{Name: ":content-type", Value: eventstream.StringValue("application/json")},
				{Name: ":message-type", Value: eventstream.StringValue("event")},
			}, Payload: []byte(ev.payload)})
			_, _ = w.Write(buf.Bytes())
			w.(http.Flusher).Flush()
		}
	default:
		badRequest(w, r)
	}
}

// TestBedrockSDK: @aws-sdk/client-bedrock-runtime in Bedrock API-key mode (the gateway key as
// its bearer token, endpoint = the gateway's /bedrock) runs Converse and ConverseStream; the
// gateway re-signs each call with its own AWS credentials (SigV4, service bedrock), keeps the
// model id's %3A, relays the event stream the SDK decodes, and records the tokens.
func TestBedrockSDK(t *testing.T) {
	requireSDKs(t)
	mock := startMock(t, answerBedrock)
	for name, value := range map[string]string{
		"AWS_ACCESS_KEY_ID": bedrockAccessKey, "AWS_SECRET_ACCESS_KEY": bedrockSecretKey, "AWS_SESSION_TOKEN": "",
		"AWS_REGION": "us-east-1", "AWS_REGION_NAME": "", "AWS_PROFILE": "", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
		"AWS_BEDROCK_RUNTIME_ENDPOINT": mock.URL,
	} {
		t.Setenv(name, value)
	}
	sink := usagetest.NewSink()
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	src, err := wiring.OpenSources(context.Background(), wiring.SourceOptions{
		ConfigYAML: "general_settings:\n  master_key: " + masterKey + "\n", Secrets: "env", Bedrock: true}, log)
	if err != nil {
		t.Fatal(err)
	}
	gw := httptest.NewServer(wiring.NewHandler(src, sink, log, false))
	t.Cleanup(gw.Close)

	res := runScript(t, "bedrock.mjs", gw.URL, masterKey)
	checkCalls(t, []expectCall{
		{call: "converse", text: "Hello from Bedrock", usage: `{"inputTokens":7,"outputTokens":4}`},
		{call: "converseStream", text: "Hello from Bedrock", chunks: 6, usage: `{"inputTokens":7,"outputTokens":3}`},
	}, res)

	ups := mock.take()
	if len(ups) != 2 {
		t.Fatalf("the upstream got %d requests, want 2", len(ups))
	}
	for i, action := range []string{"converse", "converse-stream"} {
		u := ups[i]
		if u.Method != "POST" || u.Path != "/model/"+bedrockModelID+"/"+action {
			t.Errorf("upstream %d: %s %s, want POST /model/%s/%s", i, u.Method, u.Path, bedrockModelID, action)
		}
		var body struct {
			Messages []json.RawMessage `json:"messages"`
		}
		if err := json.Unmarshal(u.Body, &body); err != nil || len(body.Messages) != 1 {
			t.Errorf("upstream %d: body %s, want the SDK's Converse request", i, u.Body)
		}
		authz := u.Header.Get("Authorization")
		if !strings.HasPrefix(authz, "AWS4-HMAC-SHA256 Credential="+bedrockAccessKey+"/") || !strings.Contains(authz, "/us-east-1/bedrock/aws4_request") {
			t.Errorf("upstream %d: Authorization %q, want the gateway's SigV4 signature for bedrock in us-east-1", i, authz)
		}
		if where := leaks(u, masterKey); len(where) > 0 {
			t.Errorf("upstream %d: the gateway key went upstream in %v", i, where)
		}
	}
	checkRecords(t, "master_key", []expectCall{
		{provider: "bedrock", model: bedrockModelID, in: n(7), out: n(4), status: 200},
		{provider: "bedrock", model: bedrockModelID, in: n(7), out: n(3), streamed: true, status: 200},
	}, sink)
	if strings.Contains(logs.String(), bedrockSecretKey) || strings.Contains(logs.String(), masterKey) {
		t.Errorf("a secret reached the gateway's log")
	}
}
