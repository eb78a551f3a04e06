package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRerankGuardrail: the seed's Cohere rerank route (local/config.yaml) runs its content
// filter on query and documents[*]: an SSN is refused with 400 and never reaches Cohere; an
// email is masked in the body Cohere receives; the usage log says which guardrail acted.
func TestRerankGuardrail(t *testing.T) {
	setDemoEnv(t)
	var mu sync.Mutex
	var got [][]byte
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, b)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"results":[{"index":0,"relevance_score":0.9}],"meta":{"billed_units":{"search_units":1}}}`)
	}))
	defer up.Close()
	dir := t.TempDir()
	data, err := os.ReadFile("../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "config.yaml")
	_ = os.WriteFile(cfg, bytes.ReplaceAll(data, []byte("http://127.0.0.1:4010"), []byte(up.URL)), 0o600)
	usageLog := filepath.Join(dir, "usage.jsonl")
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr bytes.Buffer
	go func() {
		_ = run(ctx, []string{"-config", cfg, "-addr", addr, "-usage-log", usageLog}, io.Discard, &stderr)
	}()
	call := func(body string) (int, string) {
		var resp *http.Response
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			req, _ := http.NewRequest("POST", "http://"+addr+"/v1/rerank", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer sk-1234")
			if resp, err = http.DefaultClient.Do(req); err == nil || time.Now().After(deadline) {
				break
			}
		}
		if err != nil {
			t.Fatalf("gateway never answered: %v\n%s", err, stderr.String())
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	status, body := call(`{"model":"rerank-english-v3.0","query":"Whose SSN is 078-05-1120?","documents":["a","b"]}`)
	if want := `{"error":{"message":"Blocked by guardrail pii-guard: Content blocked: us_ssn pattern detected","type":"invalid_request_error","param":"None","code":"400"}}`; status != 400 || body != want {
		t.Errorf("SSN: %d %s, want 400 %s", status, body, want)
	}
	status, _ = call(`{"model":"rerank-english-v3.0","query":"Who wrote to jane@example.com?","documents":["From: bob@corp.example","plain"]}`)
	if status != 200 {
		t.Errorf("email: status %d", status)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("Cohere got %d requests, want 1 (the SSN one must not arrive)", len(got))
	}
	if want := `{"model":"rerank-english-v3.0","query":"Who wrote to [EMAIL_REDACTED]?","documents":["From: [EMAIL_REDACTED]","plain"]}`; string(got[0]) != want {
		t.Errorf("Cohere got %s\nwant %s", got[0], want)
	}
	type record struct {
		Status     int `json:"status"`
		Guardrails []struct{ Name, Mode, Action string }
	}
	var recs []record
	for deadline := time.Now().Add(5 * time.Second); len(recs) < 2 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		recs = recs[:0]
		raw, _ := os.ReadFile(usageLog)
		for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
			var r record
			if json.Unmarshal([]byte(line), &r) == nil {
				recs = append(recs, r)
			}
		}
	}
	if len(recs) != 2 || recs[0].Status != 400 || len(recs[0].Guardrails) != 1 || recs[0].Guardrails[0].Action != "blocked" ||
		recs[1].Status != 200 || len(recs[1].Guardrails) != 1 || recs[1].Guardrails[0].Action != "masked" || recs[1].Guardrails[0].Name != "pii-guard" {
		t.Errorf("usage records: %+v", recs)
	}
}
