package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdaurl"
)

// A Function URL event for the Cohere rerank route streams back the upstream's answer, with
// the provider key swapped in.
func TestFunctionURLRerank(t *testing.T) {
	var got http.Header
	var gotBody []byte
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, gotBody = r.Header.Clone(), must(io.ReadAll(r.Body))
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"results":[{"index":1,"relevance_score":0.99}]}`)
	}))
	defer up.Close()
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	yaml := "general_settings:\n  master_key: sk-1234\n  pass_through_endpoints:\n" +
		"    - path: /v1/rerank\n      target: " + up.URL + "/v1/rerank\n      auth: true\n" +
		"      headers: {Authorization: \"bearer os.environ/COHERE_API_KEY\"}\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("COHERE_API_KEY", "co-xyz")
	h, err := build(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	var event events.LambdaFunctionURLRequest
	// The fixture is the one `sam local invoke -e` uses.
	if err := json.Unmarshal(must(os.ReadFile("../../events/function-url-rerank.json")), &event); err != nil {
		t.Fatal(err)
	}
	resp, err := lambdaurl.Wrap(h)(context.Background(), &event)
	if err != nil {
		t.Fatal(err)
	}
	raw := must(io.ReadAll(resp))
	prelude, body, ok := bytes.Cut(raw, make([]byte, 8))
	if !ok {
		t.Fatalf("no 8-NUL separator in %q", raw)
	}
	var head struct {
		StatusCode int               `json:"statusCode"`
		Headers    map[string]string `json:"headers"`
	}
	if err := json.Unmarshal(prelude, &head); err != nil {
		t.Fatalf("prelude %q: %v", prelude, err)
	}
	if head.StatusCode != 200 || head.Headers["Content-Type"] != "application/json" || head.Headers["X-Litellm-Call-Id"] == "" {
		t.Errorf("prelude = %+v", head)
	}
	if string(body) != `{"results":[{"index":1,"relevance_score":0.99}]}` {
		t.Errorf("body = %s", body)
	}
	if got.Get("Authorization") != "bearer co-xyz" || string(gotBody) != event.Body {
		t.Errorf("upstream got Authorization %q, body %s", got.Get("Authorization"), gotBody)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
