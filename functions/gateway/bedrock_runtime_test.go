package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// The function's role credentials as Lambda puts them in the environment.
const (
	lambdaKeyID  = "ASIALAMBDAROLE000001"
	lambdaSecret = "lambda/role/secret+0000000000000000000000"
	lambdaToken  = "IQoJb3JpZ2luX2VjEJr//lambda-session-token=="
)

// bedrockFrame is one event-stream message as Bedrock sends it, encoded by the AWS SDK.
func bedrockFrame(t *testing.T, eventType string, payload string) []byte {
	var h eventstream.Headers
	h.Set(":event-type", eventstream.StringValue(eventType))
	h.Set(":content-type", eventstream.StringValue("application/json"))
	h.Set(":message-type", eventstream.StringValue("event"))
	var b bytes.Buffer
	if err := eventstream.NewEncoder().Encode(&b, eventstream.Message{Headers: h, Payload: []byte(payload)}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func invokeStreamChunk(t *testing.T, event string) []byte {
	p, _ := json.Marshal(map[string]string{"bytes": base64.StdEncoding.EncodeToString([]byte(event))})
	return bedrockFrame(t, "chunk", string(p))
}

// resign recomputes the signature of a request as the server received it (the wire path and
// the signed headers' values, the body's hash) with the SDK's signer, at the request's own
// X-Amz-Date: equal Authorization headers mean AWS would accept it.
func resign(r *http.Request, body []byte) (got, want string) {
	got = r.Header.Get("Authorization")
	_, list, _ := strings.Cut(got, "SignedHeaders=")
	list, _, _ = strings.Cut(list, ",")
	req, err := http.NewRequest(r.Method, "http://"+r.Host+r.RequestURI, bytes.NewReader(body))
	if err != nil {
		return got, err.Error()
	}
	for _, h := range strings.Split(list, ";") {
		if h != "host" && h != "content-length" && h != "x-amz-security-token" && h != "x-amz-date" {
			req.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	at, _ := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	c := aws.Credentials{AccessKeyID: lambdaKeyID, SecretAccessKey: lambdaSecret, SessionToken: lambdaToken}
	sum := sha256Hex(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), c, req, sum, "bedrock", "us-east-1", at); err != nil {
		return got, err.Error()
	}
	return got, req.Header.Get("Authorization")
}

// TestBedrockStreamUnderRuntimeAPI: the real bootstrap, on Lambda with GATEWAY_BEDROCK=on and
// the role's credentials in its environment, signs a Bedrock call and relays the event stream
// byte for byte, each message reaching the runtime before the next leaves the upstream,
// through the Function URL (invoke-with-response-stream) and through the REST API
// (converse-stream) with a "%3A" model id kept as sent.
func TestBedrockStreamUnderRuntimeAPI(t *testing.T) {
	const gap = 150 * time.Millisecond
	invoke := [][]byte{
		invokeStreamChunk(t, `{"type":"message_start","message":{"id":"msg_1","model":"claude-3-5-sonnet-20240620","usage":{"input_tokens":12,"output_tokens":1}}}`),
		invokeStreamChunk(t, `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}`),
		invokeStreamChunk(t, `{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":12,"outputTokenCount":6,"invocationLatency":400,"firstByteLatency":200}}`),
	}
	converse := [][]byte{
		bedrockFrame(t, "messageStart", `{"role":"assistant"}`),
		bedrockFrame(t, "contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"Hello"}}`),
		bedrockFrame(t, "messageStop", `{"stopReason":"end_turn"}`),
		bedrockFrame(t, "metadata", `{"usage":{"inputTokens":8,"outputTokens":4,"totalTokens":12},"metrics":{"latencyMs":300}}`),
	}
	type received struct{ uri, sig, want, token string }
	var mu sync.Mutex
	var got []received
	sent := make(chan time.Time, 16)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		sig, want := resign(r, body)
		mu.Lock()
		got = append(got, received{r.RequestURI, sig, want, r.Header.Get("X-Amz-Security-Token")})
		mu.Unlock()
		frames := converse
		if strings.HasSuffix(r.URL.Path, "/invoke-with-response-stream") {
			frames = invoke
		}
		w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
		w.Header().Set("X-Amzn-Requestid", "bedrock-req-1")
		for i, f := range frames {
			if i > 0 {
				time.Sleep(gap)
			}
			sent <- time.Now()
			_, _ = w.Write(f)
			w.(http.Flusher).Flush()
		}
	}))
	defer up.Close()
	rt := startRuntime(t)
	fn := startFunction(t, buildBootstrap(t), strings.TrimPrefix(rt.URL, "http://"), up.URL,
		"AWS_LAMBDA_FUNCTION_NAME=gateway", "AWS_REGION=us-east-1", "GATEWAY_BEDROCK=on", "AWS_BEDROCK_RUNTIME_ENDPOINT="+up.URL,
		"AWS_ACCESS_KEY_ID="+lambdaKeyID, "AWS_SECRET_ACCESS_KEY="+lambdaSecret, "AWS_SESSION_TOKEN="+lambdaToken)

	for _, tt := range []struct {
		event, uri string
		frames     [][]byte
	}{
		{"../../events/function-url-bedrock-invoke-stream.json", "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/invoke-with-response-stream", invoke},
		{"../../events/rest-bedrock-converse-stream.json", "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream", converse},
	} {
		rt.events <- mustRead(t, tt.event)
		res := rt.await(t)
		var all []byte
		for _, c := range res.chunks {
			all = append(all, c.data...)
		}
		prelude, body, ok := bytes.Cut(all, make([]byte, 8))
		if !ok || !bytes.Contains(prelude, []byte(`"statusCode":200`)) || !bytes.Contains(prelude, []byte(`"Content-Type":"application/vnd.amazon.eventstream"`)) {
			t.Fatalf("%s: prelude %q", tt.event, prelude)
		}
		if want := bytes.Join(tt.frames, nil); !bytes.Equal(body, want) {
			t.Errorf("%s: body %d bytes, not the upstream's %d byte for byte", tt.event, len(body), len(want))
		}
		var sentAt []time.Time
		for range tt.frames {
			sentAt = append(sentAt, <-sent)
		}
		arrived := frameArrivals(res, len(prelude)+8, tt.frames)
		for i := range len(tt.frames) - 1 {
			if !arrived[i].Before(sentAt[i+1]) {
				t.Errorf("%s: message %d reached the runtime only after message %d was sent: buffered", tt.event, i, i+1)
			}
		}
		if e := res.trailer.Get("Lambda-Runtime-Function-Error-Type"); e != "" {
			t.Errorf("%s: error trailer %s", tt.event, e)
		}
		mu.Lock()
		r := got[len(got)-1]
		mu.Unlock()
		if r.uri != tt.uri || r.sig == "" || r.sig != r.want || r.token != lambdaToken {
			t.Errorf("%s: upstream got %s signed %q (recomputed %q), token %q", tt.event, r.uri, r.sig, r.want, r.token)
		}
	}
	// Usage from the streams: Bedrock's invocation metrics, Converse's metadata.
	tokens := func(out string) bool {
		return strings.Contains(out, `"InputTokens":12,"OutputTokens":6`) && strings.Contains(out, `"InputTokens":8,"OutputTokens":4`)
	}
	out := eventually(t, fn, tokens)
	if !tokens(out) || strings.Count(out, `"Route":"/bedrock","Provider":"bedrock"`) != 2 {
		t.Errorf("want two EMF lines for /bedrock, provider bedrock, with the streams' tokens:\n%s", out)
	}
	if strings.Contains(out, lambdaSecret) || strings.Contains(out, lambdaToken) {
		t.Errorf("the function logged the role's credentials")
	}
}

// frameArrivals finds when the last byte of each frame reached the runtime, the body starting
// at offset bodyAt of the posted response.
func frameArrivals(res result, bodyAt int, frames [][]byte) []time.Time {
	var ends []int
	end := bodyAt
	for _, f := range frames {
		end += len(f)
		ends = append(ends, end)
	}
	var out []time.Time
	n := 0
	for _, c := range res.chunks {
		n += len(c.data)
		for len(out) < len(ends) && n >= ends[len(out)] {
			out = append(out, c.at)
		}
	}
	for len(out) < len(ends) {
		out = append(out, time.Now().Add(time.Hour)) // never arrived
	}
	return out
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
