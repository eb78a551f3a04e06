package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// rerankEvent is the Function URL rerank event with its body replaced.
func rerankEvent(t *testing.T, body string) []byte {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(mustRead(t, "../../events/function-url-rerank.json"), &ev); err != nil {
		t.Fatal(err)
	}
	ev["body"] = body
	b, _ := json.Marshal(ev)
	return b
}

// responseOf splits a streamed invocation response into its prelude and body.
func responseOf(t *testing.T, res result) (prelude, body string) {
	t.Helper()
	var all []byte
	for _, c := range res.chunks {
		all = append(all, c.data...)
	}
	p, b, ok := bytes.Cut(all, make([]byte, 8))
	if !ok {
		t.Fatalf("no prelude in %q", all)
	}
	return string(p), string(b)
}

// TestRerankGuardrailUnderRuntimeAPI: the real bootstrap with local/config.yaml, under the fake
// Lambda Runtime API: the rerank route's content filter refuses an SSN (400, Cohere never
// called) and masks an email in query and documents before Cohere sees them.
func TestRerankGuardrailUnderRuntimeAPI(t *testing.T) {
	var mu sync.Mutex
	var got []string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, string(b))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"results":[{"index":0,"relevance_score":0.9}]}`)
	}))
	defer up.Close()
	rt := startRuntime(t)
	fn := startFunction(t, buildBootstrap(t), strings.TrimPrefix(rt.URL, "http://"), up.URL)

	rt.events <- rerankEvent(t, `{"query":"ssn 078-05-1120","documents":["x"]}`)
	prelude, body := responseOf(t, rt.await(t))
	if !strings.Contains(prelude, `"statusCode":400`) {
		t.Errorf("prelude %s", prelude)
	}
	if want := `{"error":{"message":"Blocked by guardrail pii-guard: Content blocked: us_ssn pattern detected","type":"invalid_request_error","param":"None","code":"400"}}`; body != want {
		t.Errorf("body %s\nwant %s", body, want)
	}

	rt.events <- rerankEvent(t, `{"query":"mail jane@example.com","documents":["cc bob@corp.example","y"],"top_n":1}`)
	prelude, body = responseOf(t, rt.await(t))
	if !strings.Contains(prelude, `"statusCode":200`) || body != `{"results":[{"index":0,"relevance_score":0.9}]}` {
		t.Errorf("prelude %s body %s", prelude, body)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{`{"query":"mail [EMAIL_REDACTED]","documents":["cc [EMAIL_REDACTED]","y"],"top_n":1}`}
	if len(got) != 1 || got[0] != want[0] {
		t.Errorf("Cohere got %q, want %q", got, want)
	}
	if out := fn.out.String(); strings.Contains(out, "078-05-1120") || strings.Contains(out, "jane@example.com") {
		t.Errorf("the function's output holds the caller's data:\n%s", out)
	}
}
