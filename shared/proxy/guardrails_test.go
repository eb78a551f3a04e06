package proxy_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/passthru/gateway/shared/auth"
	"github.com/passthru/gateway/shared/guardrail"
	"github.com/passthru/gateway/shared/proxy"
	"github.com/passthru/gateway/shared/usage"
)

// guardConfig defines a content filter "pii" (SSN blocks, email masks) in the given modes and a
// rerank route using it on fields.
func guardConfig(modes, fields, extra string) string {
	return `
guardrails:
  - guardrail_name: pii
    litellm_params:
      guardrail: litellm_content_filter
      mode: ` + modes + `
      patterns:
        - {pattern_type: prebuilt, pattern_name: us_ssn, action: BLOCK}
        - {pattern_type: prebuilt, pattern_name: email, action: MASK}
  - guardrail_name: broken
    litellm_params: {guardrail: bedrock, guardrailVersion: "1"}
general_settings:
  master_key: sk-1234
  pass_through_endpoints:
    - path: /v1/rerank
      target: "{{UP}}/v1/rerank"
      auth: true
      guardrails: ` + fields + `
` + extra
}

const rerankFields = `{pii: {request_fields: [query, "documents[*]"], response_fields: ["results[*].text"]}}`

var withGuards = proxy.WithGuardrails(guardrail.Deps{Secrets: testSecrets})

func post(t *testing.T, g *gw, path, body string) (*http.Response, []byte) {
	return do(t, "POST", g.URL+path, strings.NewReader(body), map[string]string{"Authorization": "Bearer " + masterKey, "Content-Type": "application/json"})
}

func wantGuardrails(t *testing.T, rec usage.Record, want ...string) {
	t.Helper()
	var got []string
	for _, r := range rec.Guardrails {
		got = append(got, r.Name+"/"+r.Mode+"/"+r.Action+"/"+r.Reason)
		if r.LatencyMS < 0 {
			t.Errorf("latency %v", r.LatencyMS)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("record guardrails = %q, want %q", got, want)
	}
}

// TestPreCallBlock: an SSN in a targeted field is 400 in LiteLLM's shape, naming the guardrail
// and pattern but not the number; the upstream is never called.
func TestPreCallBlock(t *testing.T) {
	up := startUpstream(t, jsonReply(200, `{}`))
	g := startGateway(t, guardConfig("pre_call", rerankFields, ""), up.URL, withGuards)
	resp, body := post(t, g, "/v1/rerank", `{"query":"ssn 123-45-6789","documents":["a"]}`)
	wantStatus(t, resp, body, 400)
	wantBody(t, body, errorJSON("400", "invalid_request_error", "Blocked by guardrail pii: Content blocked: us_ssn pattern detected"))
	if up.count() != 0 {
		t.Error("upstream called")
	}
	rec := g.usage.Next(t)
	wantGuardrails(t, rec, "pii/pre_call/blocked/Content blocked: us_ssn pattern detected")
	if rec.ErrorClass != "guardrail_blocked" || rec.Status != 400 || rec.CostSource != usage.CostNoUpstreamCall ||
		rec.BytesIn != int64(len(`{"query":"ssn 123-45-6789","documents":["a"]}`)) {
		t.Errorf("record %+v", rec)
	}
	if strings.Contains(g.logs.String(), "123-45-6789") {
		t.Error("the SSN reached the log")
	}
}

// TestPreCallMask: emails in query and documents[*] (a string document, and the strings inside
// an object document) are masked in exactly those fields; every other byte of the body goes
// upstream as sent; a field not targeted is not checked.
func TestPreCallMask(t *testing.T) {
	up := startUpstream(t, jsonReply(200, `{"results":[]}`))
	g := startGateway(t, guardConfig("pre_call", rerankFields, ""), up.URL, withGuards)
	in := `{"model": "rerank-v3.5", "query":"mail jane@example.com", "documents":["x@y.io and z", 42, {"text":"k@l.io"}], "note":"m@n.io"}`
	resp, body := post(t, g, "/v1/rerank", in)
	wantStatus(t, resp, body, 200)
	wantBody(t, up.last(t).Body, `{"model": "rerank-v3.5", "query":"mail [EMAIL_REDACTED]", "documents":["[EMAIL_REDACTED] and z", 42, {"text":"[EMAIL_REDACTED]"}], "note":"m@n.io"}`)
	if cl := up.last(t).Header.Get("Content-Length"); cl != fmt.Sprint(len(up.last(t).Body)) {
		t.Errorf("Content-Length %s for %d bytes", cl, len(up.last(t).Body))
	}
	wantGuardrails(t, g.usage.Next(t), "pii/pre_call/masked/sensitive content masked")
}

// TestWholeBody: without fields the guardrail reads every string of a JSON body, keys and
// values, and a mask rewrites just the strings it changed (the body's layout as sent).
func TestWholeBody(t *testing.T) {
	up := startUpstream(t, jsonReply(200, `{}`))
	g := startGateway(t, guardConfig("pre_call", "[pii]", ""), up.URL, withGuards)
	resp, body := post(t, g, "/v1/rerank", "{\n  \"query\": \"a@b.io\",\n  \"n\": 1\n}")
	wantStatus(t, resp, body, 200)
	wantBody(t, up.last(t).Body, "{\n  \"query\": \"[EMAIL_REDACTED]\",\n  \"n\": 1\n}")
	resp, body = post(t, g, "/v1/rerank", `{"anything":{"deep":["078-05-1120"]}}`)
	wantStatus(t, resp, body, 400)
}

// TestDuringCall: the check runs beside the upstream call; a block answers 400 although the
// upstream answered, and a pass relays the answer.
func TestDuringCall(t *testing.T) {
	up := startUpstream(t, jsonReply(200, `{"results":[{"text":"ok"}]}`))
	g := startGateway(t, guardConfig("during_call", rerankFields, ""), up.URL, withGuards)
	resp, body := post(t, g, "/v1/rerank", `{"query":"123-45-6789"}`)
	wantStatus(t, resp, body, 400)
	wantBody(t, body, errorJSON("400", "invalid_request_error", "Blocked by guardrail pii: Content blocked: us_ssn pattern detected"))
	if up.count() != 1 {
		t.Errorf("upstream called %d times, want 1 (in parallel)", up.count())
	}
	rec := g.usage.Next(t)
	wantGuardrails(t, rec, "pii/during_call/blocked/Content blocked: us_ssn pattern detected")
	if !rec.CostUnknown || rec.CostUSD != nil { // the upstream ran: its cost is not a refusal's 0
		t.Errorf("record %+v", rec)
	}
	resp, body = post(t, g, "/v1/rerank", `{"query":"fine"}`)
	wantStatus(t, resp, body, 200)
	wantBody(t, body, `{"results":[{"text":"ok"}]}`)
	wantGuardrails(t, g.usage.Next(t), "pii/during_call/none/")
}

// TestPostCall: a block is LiteLLM's 200 content_filter body; a mask rewrites the targeted
// fields with a correct Content-Length; an upstream error status is not checked.
func TestPostCall(t *testing.T) {
	reply := `{"model":"rerank-v3.5","results":[{"text":"call 123-45-6789"}]}`
	status := 200
	up := startUpstream(t, func(w http.ResponseWriter, r *http.Request) { jsonReply(status, reply)(w, r) })
	g := startGateway(t, guardConfig("post_call", rerankFields, ""), up.URL, withGuards)
	resp, body := post(t, g, "/v1/rerank", `{"query":"123-45-6789"}`) // the request side is not checked
	wantStatus(t, resp, body, 200)
	wantBody(t, body, `{"error":{"guardrail_name":"pii","message":"Content blocked: us_ssn pattern detected","model":"rerank-v3.5","type":"content_filter"}}`)
	if resp.Header.Get("Content-Length") != fmt.Sprint(len(body)) {
		t.Errorf("Content-Length %q", resp.Header.Get("Content-Length"))
	}
	wantGuardrails(t, g.usage.Next(t), "pii/post_call/blocked/Content blocked: us_ssn pattern detected")

	reply = `{"results": [{"text": "mail a@b.io", "score": 1}], "meta": {}}`
	resp, body = post(t, g, "/v1/rerank", `{}`)
	wantStatus(t, resp, body, 200)
	wantBody(t, body, `{"results": [{"text": "mail [EMAIL_REDACTED]", "score": 1}], "meta": {}}`)
	if resp.Header.Get("Content-Length") != fmt.Sprint(len(body)) {
		t.Errorf("Content-Length %q for %d bytes", resp.Header.Get("Content-Length"), len(body))
	}
	g.usage.Next(t)

	status, reply = 422, `{"message":"bad 123-45-6789"}`
	resp, body = post(t, g, "/v1/rerank", `{}`)
	wantStatus(t, resp, body, 422)
	wantBody(t, body, reply)
	wantGuardrails(t, g.usage.Next(t))
}

func sseReply(events ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, e := range events {
			_, _ = io.WriteString(w, e)
			w.(http.Flusher).Flush()
		}
	}
}

// TestPostCallStreaming: a stream passes unchecked (and recorded as skipped) unless the route
// opts in; with guardrail_streaming each event is checked: masked in place, and a block ends the
// stream with an error event.
func TestPostCallStreaming(t *testing.T) {
	events := []string{"data: {\"text\":\"hi a@b.io\"}\n\n", "data: {\"text\":\"123-45-6789\"}\n\n", "data: {\"text\":\"after\"}\n\n"}
	up := startUpstream(t, sseReply(events...))
	g := startGateway(t, guardConfig("post_call", `{pii: {response_fields: [text]}}`, ""), up.URL, withGuards)
	resp, body := post(t, g, "/v1/rerank", `{}`)
	wantStatus(t, resp, body, 200)
	wantBody(t, body, strings.Join(events, ""))
	wantGuardrails(t, g.usage.Next(t), "pii/post_call/skipped/streamed response (guardrail_streaming is off)")

	g = startGateway(t, guardConfig("post_call", `{pii: {response_fields: [text]}}`, "      guardrail_streaming: true\n"), up.URL, withGuards)
	resp, body = post(t, g, "/v1/rerank", `{}`)
	wantStatus(t, resp, body, 200)
	wantBody(t, body, "data: {\"text\":\"hi [EMAIL_REDACTED]\"}\n\n"+
		"event: error\ndata: {\"error\":{\"guardrail_name\":\"pii\",\"message\":\"Content blocked: us_ssn pattern detected\",\"type\":\"content_filter\"}}\n\n")
	rec := g.usage.Next(t)
	wantGuardrails(t, rec, "pii/post_call/masked/sensitive content masked", "pii/post_call/blocked/Content blocked: us_ssn pattern detected")
	if !rec.Partial || rec.ErrorClass != "guardrail_blocked" {
		t.Errorf("record %+v", rec)
	}
}

// TestGuardrailFailsClosed: a guardrail that cannot run (its checker could not be built) is 503
// naming it, and nothing goes upstream.
func TestGuardrailFailsClosed(t *testing.T) {
	up := startUpstream(t, jsonReply(200, `{}`))
	g := startGateway(t, guardConfig("pre_call", "[broken]", ""), up.URL, withGuards)
	resp, body := post(t, g, "/v1/rerank", `{"query":"x"}`)
	wantStatus(t, resp, body, 503)
	wantBody(t, body, errorJSON("503", "service_unavailable", "Guardrail broken is unavailable, so the call was not completed; try again shortly."))
	if up.count() != 0 {
		t.Error("upstream called")
	}
	if rec := g.usage.Next(t); rec.ErrorClass != "guardrail_error" {
		t.Errorf("record %+v", rec)
	}
	// Without WithGuardrails the content filter runs all the same (it needs nothing outside).
	g = startGateway(t, guardConfig("pre_call", "[pii]", ""), up.URL)
	resp, body = post(t, g, "/v1/rerank", `{"query":"078-05-1120"}`)
	wantStatus(t, resp, body, 400)
}

// keyWith verifies one key as a principal carrying metadata.
type keyWith map[string]string

func (k keyWith) Verify(_ context.Context, key string) (auth.Principal, error) {
	if key != "sk-gw-guarded" {
		return auth.Principal{}, auth.ErrInvalidKey
	}
	return auth.Principal{Alias: "guarded", Metadata: k, Routes: []string{"/v1/rerank"}}, nil
}

// TestKeyGuardrails: a key's metadata guardrails run on a route that names none; an undefined
// one fails closed naming it.
func TestKeyGuardrails(t *testing.T) {
	up := startUpstream(t, jsonReply(200, `{}`))
	cfg := strings.Replace(guardConfig("pre_call", "[]", ""), "      guardrails: []\n", "", 1)
	call := func(g *gw) (*http.Response, []byte) {
		return do(t, "POST", g.URL+"/v1/rerank", strings.NewReader(`{"q":"a@b.io"}`), map[string]string{"Authorization": "Bearer sk-gw-guarded"})
	}
	g := startGateway(t, cfg, up.URL, withGuards, proxy.WithKeys(keyWith{"guardrails": "pii"}))
	resp, body := call(g)
	wantStatus(t, resp, body, 200)
	wantBody(t, up.last(t).Body, `{"q":"[EMAIL_REDACTED]"}`)
	wantGuardrails(t, g.usage.Next(t), "pii/pre_call/masked/sensitive content masked")

	g = startGateway(t, cfg, up.URL, withGuards, proxy.WithKeys(keyWith{"guardrails": "pii, ghost"}))
	resp, body = call(g)
	wantStatus(t, resp, body, 503)
	wantBody(t, body, errorJSON("503", "service_unavailable", "Guardrail ghost is unavailable, so the call was not completed; try again shortly."))
}

// TestNoGuardrails: a route without guardrails runs none, even for a content filter that is
// default_on (LiteLLM's pass-through rule).
func TestNoGuardrails(t *testing.T) {
	up := startUpstream(t, jsonReply(200, `{}`))
	cfg := strings.Replace(guardConfig("pre_call", "[]", ""), "      guardrails: []\n", "", 1)
	cfg = strings.Replace(cfg, "mode: pre_call", "mode: pre_call\n      default_on: true", 1)
	g := startGateway(t, cfg, up.URL, withGuards)
	resp, body := post(t, g, "/v1/rerank", `{"q":"123-45-6789"}`)
	wantStatus(t, resp, body, 200)
	wantBody(t, up.last(t).Body, `{"q":"123-45-6789"}`)
	wantGuardrails(t, g.usage.Next(t))
}

// TestDuringCallRunsBesideTheUpstreamAndHoldsTheAnswer: a during_call guardrail (a webhook)
// that answers only once the upstream has received the call proves the two overlap (run one
// after the other, the webhook would wait for an upstream call that never comes, and its 5 s
// timeout would fail the call closed); the upstream answers at once, yet the client gets nothing
// until the webhook has answered.
func TestDuringCallRunsBesideTheUpstreamAndHoldsTheAnswer(t *testing.T) {
	upstreamGot := make(chan struct{})
	up := startUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		close(upstreamGot)
		jsonReply(200, `{"results":[{"text":"ok"}]}`)(w, r)
	})
	release := make(chan struct{})
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-upstreamGot:
		case <-time.After(5 * time.Second):
			http.Error(w, "the upstream was never called while the check ran", http.StatusTeapot)
			return
		}
		<-release
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"action":"NONE"}`)
	}))
	t.Cleanup(hook.Close)
	cfg := `
guardrails:
  - guardrail_name: hook
    litellm_params: {guardrail: generic_guardrail_api, mode: during_call, api_base: "` + hook.URL + `", timeout: 10}
general_settings:
  master_key: sk-1234
  pass_through_endpoints:
    - {path: /v1/rerank, target: "{{UP}}/v1/rerank", auth: true, guardrails: [hook]}
`
	g := startGateway(t, cfg, up.URL, withGuards)
	type answer struct {
		resp *http.Response
		body []byte
	}
	answered := make(chan answer, 1)
	go func() { // post fails the test from here with t.Fatal, which ends only this goroutine: every wait below is bounded
		resp, body := post(t, g, "/v1/rerank", `{"query":"fine"}`)
		answered <- answer{resp, body}
	}()
	select {
	case <-upstreamGot:
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream never got the call")
	}
	select {
	case a := <-answered:
		t.Fatalf("the client got %d %s before the guardrail answered", a.resp.StatusCode, a.body)
	case <-time.After(200 * time.Millisecond): // held, as it must be
	}
	close(release)
	var a answer
	select {
	case a = <-answered:
	case <-time.After(10 * time.Second):
		t.Fatal("the client never got an answer after the guardrail answered")
	}
	wantStatus(t, a.resp, a.body, 200)
	wantBody(t, a.body, `{"results":[{"text":"ok"}]}`)
	wantGuardrails(t, g.usage.Next(t), "hook/during_call/none/")
}
