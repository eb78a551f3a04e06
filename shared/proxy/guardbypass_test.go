package proxy_test

// Regression tests for the guardrail bypasses an independent security review found: compressed
// request bodies, JSON escapes, bodies Go does not read as JSON, content blocks under a field
// expression, and multi-line SSE events.

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"io"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/passthru/gateway/shared/usage/usagetest"
)

// anthropicGuarded is the built-in /anthropic route with the content filter "pii" (SSN and the
// keyword "project falcon" block, email masks) attached as guards says.
func anthropicGuarded(t *testing.T, guards string) (*upstream, *httptest.Server, *usagetest.Sink) {
	t.Helper()
	up := startUpstream(t, jsonReply(200, `{"ok":true}`))
	srv, sink := builtinGateway(t, `
guardrails:
  - guardrail_name: pii
    litellm_params:
      guardrail: litellm_content_filter
      patterns:
        - {pattern_type: prebuilt, pattern_name: us_ssn, action: BLOCK}
        - {pattern_type: prebuilt, pattern_name: email, action: MASK}
      blocked_words: [{keyword: project falcon, action: BLOCK}]
general_settings:
  master_key: sk-1234
  provider_route_guardrails:
    anthropic: `+guards+`
`, up.URL)
	return up, srv, sink
}

const (
	wholeBody   = `[pii]`
	contentOnly = `{pii: {request_fields: ["messages[*].content"]}}`
	ssnBlocked  = "Blocked by guardrail pii: Content blocked: us_ssn pattern detected"
	ssnReason   = "pii/pre_call/blocked/Content blocked: us_ssn pattern detected"
)

func gzipped(t *testing.T, s string) []byte {
	return compressed(t, s, func(w io.Writer) io.WriteCloser { return gzip.NewWriter(w) })
}

func zlibbed(t *testing.T, s string) []byte {
	return compressed(t, s, func(w io.Writer) io.WriteCloser { return zlib.NewWriter(w) })
}

// compressed is s through the compressor newWriter makes.
func compressed(t *testing.T, s string, newWriter func(io.Writer) io.WriteCloser) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := newWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestGuardDecodesCompressedRequest: a gzip or deflate request body is decoded for the request
// guardrails (whole body or fields alike); a clean one goes upstream as sent, a masked one goes
// decoded with Content-Encoding removed and Content-Length fixed; an encoding that cannot be
// decoded (br, unknown, corrupt) is 415 naming the guardrail, and nothing goes upstream.
func TestGuardDecodesCompressedRequest(t *testing.T) {
	const ssn = `{"model":"m","messages":[{"role":"user","content":"ssn 078-05-1120"}]}`
	const clean = `{"model":"m","messages":[{"role":"user","content":"hello"}]}`
	const mail = `{"model":"m","messages":[{"role":"user","content":"mail a@b.io"}]}`
	unsupported := func(enc string) string {
		return errorJSON("415", "invalid_request_error", "Guardrail pii cannot inspect a request body with Content-Encoding "+enc+"; send it uncompressed, or as gzip or deflate.")
	}
	corrupt := errorJSON("415", "invalid_request_error", "Guardrail pii cannot inspect the request body: it does not decode as gzip.")
	for _, guards := range []string{wholeBody, contentOnly} {
		for _, tc := range []struct {
			name, enc string
			body      []byte
			status    int
			reply     string // the exact error body, "" for a relayed call
			record    string
			upBody    string // what the upstream gets, "" for the body as sent
			upEnc     string
		}{
			{"gzip ssn", "gzip", gzipped(t, ssn), 400, errorJSON("400", "invalid_request_error", ssnBlocked), ssnReason, "", ""},
			{"x-gzip ssn", "x-gzip", gzipped(t, ssn), 400, errorJSON("400", "invalid_request_error", ssnBlocked), ssnReason, "", ""},
			{"deflate ssn", "deflate", zlibbed(t, ssn), 400, errorJSON("400", "invalid_request_error", ssnBlocked), ssnReason, "", ""},
			{"gzip clean goes as sent", "gzip", gzipped(t, clean), 200, "", "pii/pre_call/none/", "", "gzip"},
			{"gzip masked goes decoded", "gzip", gzipped(t, mail), 200, "", "pii/pre_call/masked/sensitive content masked",
				`{"model":"m","messages":[{"role":"user","content":"mail [EMAIL_REDACTED]"}]}`, ""},
			{"gzip, empty body", "gzip", nil, 200, "", "", "", "gzip"},
			{"identity", "identity", []byte(ssn), 400, errorJSON("400", "invalid_request_error", ssnBlocked), ssnReason, "", ""},
			{"br", "br", []byte("\x1b\x00"), 415, unsupported("br"), "pii/pre_call/blocked/Content-Encoding br cannot be inspected", "", ""},
			{"unknown", "zstd2", []byte("x"), 415, unsupported("zstd2"), "pii/pre_call/blocked/Content-Encoding zstd2 cannot be inspected", "", ""},
			{"corrupt gzip", "gzip", []byte("not gzip at all"), 415, corrupt, "pii/pre_call/blocked/Content-Encoding gzip cannot be inspected", "", ""},
		} {
			t.Run(guards+"/"+tc.name, func(t *testing.T) {
				up, srv, sink := anthropicGuarded(t, guards)
				hdr := map[string]string{"x-api-key": masterKey, "Content-Type": "application/json", "Content-Encoding": tc.enc}
				resp, got := do(t, "POST", srv.URL+"/anthropic/v1/messages", bytes.NewReader(tc.body), hdr)
				wantStatus(t, resp, got, tc.status)
				if rec := sink.Next(t); tc.record == "" {
					wantGuardrails(t, rec) // an empty body is not checked
				} else {
					wantGuardrails(t, rec, tc.record)
				}
				if tc.reply != "" {
					wantBody(t, got, tc.reply)
					if up.count() != 0 {
						t.Errorf("upstream called with %q", up.last(t).Body)
					}
					return
				}
				s := up.last(t)
				want := tc.upBody
				if want == "" {
					want = string(tc.body)
				}
				wantBody(t, s.Body, want)
				if ce := s.Header.Get("Content-Encoding"); ce != tc.upEnc {
					t.Errorf("upstream Content-Encoding %q, want %q", ce, tc.upEnc)
				}
				if cl := s.Header.Get("Content-Length"); cl != strconv.Itoa(len(want)) {
					t.Errorf("upstream Content-Length %q, want %d", cl, len(want))
				}
			})
		}
	}
}

// TestGuardCompressedBomb: a small gzip body that decodes past the most a guardrail reads is
// 413, not read to the end.
func TestGuardCompressedBomb(t *testing.T) {
	up, srv, sink := anthropicGuarded(t, wholeBody)
	bomb := gzipped(t, `{"a":"`+strings.Repeat("0", 33<<20)+`"}`)
	hdr := map[string]string{"x-api-key": masterKey, "Content-Type": "application/json", "Content-Encoding": "gzip"}
	resp, got := do(t, "POST", srv.URL+"/anthropic/v1/messages", bytes.NewReader(bomb), hdr)
	wantStatus(t, resp, got, 413)
	wantBody(t, got, errorJSON("413", "invalid_request_error", "The request body decodes to over 32 MB, the most a guardrail inspects here."))
	sink.Next(t)
	if up.count() != 0 {
		t.Error("upstream called")
	}
}

// TestXPassCannotSetContentEncoding: x-pass-content-encoding would tell the upstream to decode a
// body the guardrails read as it is; like the credential names, it is not set upstream.
func TestXPassCannotSetContentEncoding(t *testing.T) {
	up, srv, sink := anthropicGuarded(t, wholeBody)
	hdr := map[string]string{"x-api-key": masterKey, "Content-Type": "application/json", "X-Pass-Content-Encoding": "gzip"}
	body := string(gzipped(t, `{"content":"078-05-1120"}`))
	resp, got := do(t, "POST", srv.URL+"/anthropic/v1/messages", strings.NewReader(body), hdr)
	wantStatus(t, resp, got, 200)
	sink.Next(t)
	if ce := up.last(t).Header.Values("Content-Encoding"); len(ce) != 0 {
		t.Errorf("x-pass- set Content-Encoding %q upstream", ce)
	}
}

// TestGuardWholeBodyReadsEscapes: without fields a JSON body is read as its decoded strings, so
// a \u escape does not hide a pattern or a keyword, and a mask leaves valid JSON.
func TestGuardWholeBodyReadsEscapes(t *testing.T) {
	for _, tc := range []struct{ body, reply, upBody string }{
		{`{"model":"m","messages":[{"role":"user","content":"ssn 078\u002d05\u002d1120"}]}`, errorJSON("400", "invalid_request_error", ssnBlocked), ""},
		{`{"model":"m","messages":[{"role":"user","content":"ssn \u0030\u0037\u0038-05-1120"}]}`, errorJSON("400", "invalid_request_error", ssnBlocked), ""},
		{`{"model":"m","messages":[{"role":"user","content":"about project\u0020falcon"}]}`, errorJSON("400", "invalid_request_error", "Blocked by guardrail pii: Content blocked: blocked keyword detected"), ""},
		{`{"model":"m","metadata":{"078-05-1120":1}}`, errorJSON("400", "invalid_request_error", ssnBlocked), ""},
		{`{"model":"m","messages":[{"role":"user","content":"mail a\u0040b.io \u00e9"}],"n":1}`, "",
			`{"model":"m","messages":[{"role":"user","content":"mail [EMAIL_REDACTED] é"}],"n":1}`},
	} {
		up, srv, sink := anthropicGuarded(t, wholeBody)
		resp, got := do(t, "POST", srv.URL+"/anthropic/v1/messages", strings.NewReader(tc.body), map[string]string{"x-api-key": masterKey})
		sink.Next(t)
		if tc.reply != "" {
			wantStatus(t, resp, got, 400)
			wantBody(t, got, tc.reply)
			continue
		}
		wantStatus(t, resp, got, 200)
		wantBody(t, up.last(t).Body, tc.upBody)
	}
}

// TestGuardNeedsJSON: a body Go does not read as JSON (a UTF-8 BOM, NaN, trailing bytes), where
// lenient parsers upstream may, is refused with 400 when a guardrail reads fields from it or
// reads it as JSON, rather than checked as raw text where escapes hide matches.
func TestGuardNeedsJSON(t *testing.T) {
	fieldsMsg := errorJSON("400", "invalid_request_error", "The request body is not JSON; guardrail pii needs fields messages[*].content from it.")
	wholeMsg := errorJSON("400", "invalid_request_error", "The request body is not valid JSON; guardrail pii reads the strings of a JSON body.")
	for _, tc := range []struct{ guards, body, reply string }{
		{contentOnly, "\xef\xbb\xbf" + `{"messages":[{"content":"ssn 078\u002d05\u002d1120"}]}`, fieldsMsg},
		{contentOnly, `{"temperature":NaN,"messages":[{"content":"ssn 078\u002d05\u002d1120"}]}`, fieldsMsg},
		{contentOnly, `{"messages":[{"content":"x"}]} {"messages":[{"content":"078-05-1120"}]}`, fieldsMsg},
		{contentOnly, `ssn 078-05-1120`, fieldsMsg},
		{wholeBody, "\xef\xbb\xbf" + `{"messages":[{"content":"ssn 078\u002d05\u002d1120"}]}`, wholeMsg},
		{wholeBody, ` [{"content":"x"}, NaN]`, wholeMsg},
	} {
		up, srv, sink := anthropicGuarded(t, tc.guards)
		resp, got := do(t, "POST", srv.URL+"/anthropic/v1/messages", strings.NewReader(tc.body), map[string]string{"x-api-key": masterKey})
		wantStatus(t, resp, got, 400)
		wantBody(t, got, tc.reply)
		wantGuardrails(t, sink.Next(t), "pii/pre_call/blocked/request body is not JSON")
		if up.count() != 0 {
			t.Errorf("upstream got %q", up.last(t).Body)
		}
	}
	// A body that is not JSON at all is one raw text without fields.
	_, srv, sink := anthropicGuarded(t, wholeBody)
	resp, got := do(t, "POST", srv.URL+"/anthropic/v1/messages", strings.NewReader("ssn 078-05-1120"), map[string]string{"x-api-key": masterKey})
	wantStatus(t, resp, got, 400)
	wantBody(t, got, errorJSON("400", "invalid_request_error", ssnBlocked))
	sink.Next(t)
}

// TestGuardFieldsReachContentBlocks: a field expression that selects content blocks (Anthropic's
// and OpenAI's list form of content, system as blocks) reads the text inside them; a mask lands
// in the block; a call where the fields select nothing is recorded skipped, not silently allowed.
func TestGuardFieldsReachContentBlocks(t *testing.T) {
	const fields = `{pii: {request_fields: ["messages[*].content", system]}}`
	for _, tc := range []struct{ body, upBody, record string }{
		{`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"ssn 078-05-1120"}]}]}`, "", ssnReason},
		{`{"model":"m","system":[{"type":"text","text":"ssn 078-05-1120"}],"messages":[{"role":"user","content":"hi"}]}`, "", ssnReason},
		{`{"model":"m","system":"ssn 078-05-1120","messages":[{"role":"user","content":"hi"}]}`, "", ssnReason},
		{`{"model":"m","messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"078-05-1120"}]}]}]}`, "", ssnReason},
		{`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"mail a@b.io"},{"type":"text","text":"ok"}]}]}`,
			`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"mail [EMAIL_REDACTED]"},{"type":"text","text":"ok"}]}]}`,
			"pii/pre_call/masked/sensitive content masked"},
		{`{"model":"m","prompt":"078-05-1120"}`, `{"model":"m","prompt":"078-05-1120"}`, "pii/pre_call/skipped/no_fields_matched"},
	} {
		up, srv, sink := anthropicGuarded(t, fields)
		resp, got := do(t, "POST", srv.URL+"/anthropic/v1/messages", strings.NewReader(tc.body), map[string]string{"x-api-key": masterKey})
		wantGuardrails(t, sink.Next(t), tc.record)
		if tc.upBody == "" {
			wantStatus(t, resp, got, 400)
			wantBody(t, got, errorJSON("400", "invalid_request_error", ssnBlocked))
			continue
		}
		wantStatus(t, resp, got, 200)
		wantBody(t, up.last(t).Body, tc.upBody)
	}
}

// TestAdapterGuardReadsContentBlocks: on the adapter route the seed's `messages[*].content`
// reads Anthropic content blocks, so an SSN in a text block is blocked before the backend.
func TestAdapterGuardReadsContentBlocks(t *testing.T) {
	up := startUpstream(t, jsonReply(200, `{}`))
	g := startGateway(t, adapterGuardConfig, up.URL, append(adapterOpts(), withGuards)...)
	resp, body := do(t, "POST", g.URL+"/v1/messages", strings.NewReader(`{"model":"my-fake-claude-endpoint","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":"my ssn is 078-05-1120"}]}]}`), anthropicClient)
	wantStatus(t, resp, body, 400)
	wantGuardrails(t, g.usage.Next(t), ssnReason)
	if up.count() != 0 {
		t.Errorf("backend got %s", up.last(t).Body)
	}
}

// TestSSEGuardReadsEveryDataLine: the streaming guard checks an event's data lines joined as SSE
// joins them, and an event ends at any blank line (LF, CR or CRLF endings, mixed).
func TestSSEGuardReadsEveryDataLine(t *testing.T) {
	blocked := "event: error\ndata: {\"error\":{\"guardrail_name\":\"pii\",\"message\":\"Content blocked: us_ssn pattern detected\",\"type\":\"content_filter\"}}\n\n"
	for _, tc := range []struct {
		name   string
		events []string
		want   string
	}{
		{"second data line", []string{"data: hi\ndata: 078-05-1120\n\n", "data: after\n\n"}, blocked},
		{"JSON split over data lines", []string{"data: {\"text\":\ndata: \"078-05-1120\"}\n\n"}, blocked},
		{"LF CRLF blank line", []string{"data: {\"text\":\"x\"}\n\r\n", "data: x\ndata: 078-05-1120\n\n"}, "data: {\"text\":\"x\"}\n\r\n" + blocked},
		{"data lines that join to invalid JSON", []string{"data: {\"text\":\"x\"}\ndata: {\"text\":\"\\u0030\"}\n\n"},
			"event: error\ndata: {\"error\":{\"guardrail_name\":\"pii\",\"message\":\"Guardrail pii could not inspect the stream: response body is not JSON.\",\"type\":\"guardrail_error\"}}\n\n"},
		{"CR endings", []string{"data: one\r\rdata: two\rdata: 078-05-1120\r\r"}, "data: one\r\r" + blocked},
		{"split across data lines", []string{"data: 078-05\ndata: -1120\n\n"}, "data: 078-05\ndata: -1120\n\n"},
		{"mask rewrites the data lines", []string{"event: m\nid: 7\ndata: mail a@b.io\r\ndata: ok\r\n\r\n", "data: [DONE]\n\n"},
			"event: m\nid: 7\ndata: mail [EMAIL_REDACTED]\ndata: ok\n\r\ndata: [DONE]\n\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := startUpstream(t, sseReply(tc.events...))
			g := startGateway(t, guardConfig("post_call", `[pii]`, "      guardrail_streaming: true\n"), up.URL, withGuards)
			resp, body := post(t, g, "/v1/rerank", `{}`)
			wantStatus(t, resp, body, 200)
			wantBody(t, body, tc.want)
			g.usage.Next(t)
		})
	}
}

// TestDuringCallNeedsJSONBeforeSending: a during_call guardrail that cannot read the body refuses
// it before the upstream call, not after (the body would already have gone).
func TestDuringCallNeedsJSONBeforeSending(t *testing.T) {
	up := startUpstream(t, jsonReply(200, `{}`))
	g := startGateway(t, guardConfig("during_call", rerankFields, ""), up.URL, withGuards)
	resp, body := post(t, g, "/v1/rerank", "\xef\xbb\xbf"+`{"query":"ssn 078\u002d05\u002d1120"}`)
	wantStatus(t, resp, body, 400)
	wantBody(t, body, errorJSON("400", "invalid_request_error", "The request body is not JSON; guardrail pii needs fields query, documents[*] from it."))
	wantGuardrails(t, g.usage.Next(t), "pii/during_call/blocked/request body is not JSON")
	if up.count() != 0 {
		t.Errorf("upstream got %q", up.last(t).Body)
	}
}

// TestPostCallResponseNotJSON: a JSON-typed response whose body is not JSON, where a post_call
// guardrail reads fields, fails closed (503) rather than reaching the client unchecked.
func TestPostCallResponseNotJSON(t *testing.T) {
	up := startUpstream(t, jsonReply(200, `{"results":[{"text":"078\u002d05\u002d1120"}]} trailing`))
	g := startGateway(t, guardConfig("post_call", rerankFields, ""), up.URL, withGuards)
	resp, body := post(t, g, "/v1/rerank", `{}`)
	wantStatus(t, resp, body, 503)
	wantBody(t, body, errorJSON("503", "service_unavailable", "Guardrail pii is unavailable, so the call was not completed; try again shortly."))
	rec := g.usage.Next(t)
	wantGuardrails(t, rec, "pii/post_call/error/response body is not JSON")
	if rec.ErrorClass != "guardrail_error" {
		t.Errorf("record %+v", rec)
	}
}
