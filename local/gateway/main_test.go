package main

import (
	"bytes"
	"context"
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

func setDemoEnv(t *testing.T) {
	for k, v := range map[string]string{
		"LITELLM_MASTER_KEY": "sk-1234", "COHERE_API_KEY": "co-secret-value", "LANGFUSE_PUBLIC_KEY": "pk",
		"LANGFUSE_SECRET_KEY": "sk", "ANTHROPIC_API_KEY": "ant", "OPENAI_API_KEY": "oai",
	} {
		t.Setenv(k, v)
	}
}

func TestValidate(t *testing.T) {
	setDemoEnv(t)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	_ = os.WriteFile(bad, []byte("general_settings:\n  pass_through_endpoints:\n    - {path: /x, target: custom_callbacks.anthropic_adapter}\n"), 0o600)
	tests := []struct {
		name   string
		args   []string
		unset  string
		code   int
		stdout string
		stderr []string
	}{
		{"example config", []string{"validate", "../config.yaml"}, "", 0, "../config.yaml: OK, 4 endpoint(s)", nil},
		{"missing variable", []string{"validate", "../config.yaml"}, "COHERE_API_KEY", 1, "",
			[]string{`os.environ/COHERE_API_KEY (used by pass_through_endpoints[0] (/v1/rerank) headers.Authorization): secret "COHERE_API_KEY" is not set`}},
		{"adapter target without model_list", []string{"validate", bad}, "", 1, "", []string{"target custom_callbacks.anthropic_adapter serves the models of model_list, which is empty"}},
		{"no file argument", []string{"validate"}, "", 2, "", []string{"usage: gateway validate FILE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.unset != "" {
				t.Setenv(tt.unset, "")
			}
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.code || !strings.Contains(stdout.String(), tt.stdout) {
				t.Fatalf("exit %d, stdout %q; want %d and %q (stderr %s)", code, stdout.String(), tt.code, tt.stdout, stderr.String())
			}
			for _, want := range tt.stderr {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
			if strings.Contains(stdout.String()+stderr.String(), "co-secret-value") {
				t.Error("a secret value was printed")
			}
		})
	}
}

// The server starts, answers, and stops cleanly on cancellation.
func TestServeAndShutdown(t *testing.T) {
	setDemoEnv(t)
	addr, stop := runOnFreePort(t, "-config", "../config.yaml")
	var resp *http.Response
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if resp, err = http.Get("http://" + addr + "/nope"); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("server never answered: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("status %d, want 404", resp.StatusCode)
	}
	stop()
}

// runOnFreePort runs the gateway with args on a free loopback port. It returns the address and stop,
// which cancels the run and fails the test unless it exits 0 within 15 s.
func runOnFreePort(t *testing.T, args ...string) (addr string, stop func()) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var stderr bytes.Buffer
	go func() { done <- run(ctx, append(args, "-addr", addr), io.Discard, &stderr) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case code := <-done:
				if code != 0 {
					t.Fatalf("exit %d: %s", code, stderr.String())
				}
			case <-time.After(15 * time.Second):
				t.Fatal("server did not stop")
			}
		})
	}
	t.Cleanup(stop) // also when the test fails before it stops the server itself
	return addr, stop
}

// validate lists the built-in provider routes, whether each one's credential is set, and which
// configured endpoints override or overlap them.
func TestValidateBuiltinRoutes(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "cfg.yaml")
	_ = os.WriteFile(cfg, []byte(`general_settings:
  master_key: sk-m
  disabled_provider_routes: [mistral, nosuch]
  cors: {allow_origins: ["https://app.example.com"], max_age: 60}
  pass_through_endpoints:
    - {path: /cohere, target: "https://cohere.example", include_subpath: true}
    - {path: /openai/v1/models, target: "https://models.example"}
`), 0o600)
	for k, v := range map[string]string{"ANTHROPIC_API_KEY": "", "OPENAI_API_KEY": "sk-o", "GEMINI_API_KEY": "", "AZURE_API_BASE": "", "OPENAI_API_BASE": "", "LANGFUSE_HOST": "langfuse.internal:3000", "LANGFUSE_PUBLIC_KEY": "", "LANGFUSE_SECRET_KEY": "",
		"AWS_REGION_NAME": "", "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "", "AWS_BEDROCK_RUNTIME_ENDPOINT": "", "AWS_BEDROCK_AGENT_RUNTIME_ENDPOINT": "",
		"DEFAULT_GOOGLE_APPLICATION_CREDENTIALS": "", "VERTEX_AI_API_BASE": ""} {
		t.Setenv(k, v)
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"validate", cfg}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	want := cfg + `: OK, 2 endpoint(s)
/cohere/** [GET POST PUT DELETE PATCH] -> https://cohere.example (auth any-key)
/openai/v1/models [GET POST PUT DELETE PATCH] -> https://models.example (auth any-key)
cors: OPTIONS answered and CORS headers sent for origins https://app.example.com (max_age 1m0s)
built-in provider routes:
  /anthropic/** -> https://api.anthropic.com (anthropic; ANTHROPIC_API_KEY not set: callers' own credentials only)
  /openai/** -> https://api.openai.com (openai; OPENAI_API_KEY set)
  /openai_passthrough/** -> https://api.openai.com (openai; OPENAI_API_KEY set)
  /azure/** off: AZURE_API_BASE is not set or not an http(s) URL
  /gemini/** -> https://generativelanguage.googleapis.com (gemini; GEMINI_API_KEY not set: calls answer 401)
  /cohere/** served by the configured endpoint instead
  /mistral/** off (general_settings.disabled_provider_routes)
  /langfuse/** -> http://langfuse.internal:3000 (langfuse; LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY not set: calls answer 401)
  /bedrock/** -> https://bedrock-runtime.eu-west-1.amazonaws.com and https://bedrock-agent-runtime.eu-west-1.amazonaws.com (bedrock; SigV4 with the AWS default credential chain; region from AWS_REGION unless a model ARN names one)
  /vertex_ai/** -> https://{location}-aiplatform.googleapis.com (vertex_ai; DEFAULT_GOOGLE_APPLICATION_CREDENTIALS not set: callers' own credentials only)
  /vertex-ai/** -> https://{location}-aiplatform.googleapis.com (vertex_ai; DEFAULT_GOOGLE_APPLICATION_CREDENTIALS not set: callers' own credentials only)
note: general_settings.disabled_provider_routes: "nosuch" is not a built-in provider route (known: anthropic, openai, azure, gemini, cohere, mistral, langfuse, bedrock, vertex_ai)
note: pass_through_endpoints[1] (/openai/v1/models) takes /openai/v1/models from the built-in openai route /openai
note: pass_through_endpoints[0] (/cohere) overrides the built-in cohere route /cohere
`
	if stdout.String() != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout.String(), want)
	}
}

// No usage record is lost on shutdown: the usage file is buffered and flushed on a timer, so
// the records of the calls answered just before SIGTERM (which cancels run's context, through
// signal.NotifyContext in main) must be flushed on the way out. The benchmark's smoke run
// (local/bench TestQuickRun) checks the same on the built binary with a real SIGTERM.
func TestUsageRecordsSurviveShutdown(t *testing.T) {
	setDemoEnv(t)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, `{"results":[],"meta":{"billed_units":{"search_units":1}}}`)
	}))
	defer up.Close()
	dir := t.TempDir()
	cfg, usageLog := filepath.Join(dir, "cfg.yaml"), filepath.Join(dir, "usage.jsonl")
	_ = os.WriteFile(cfg, []byte("general_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n  pass_through_endpoints:\n"+
		"    - {path: /v1/rerank, target: \""+up.URL+"/v1/rerank\", auth: true}\n"), 0o600)
	addr, stop := runOnFreePort(t, "-config", cfg, "-usage-log", usageLog)
	const calls = 25
	for i := 0; i < calls; i++ {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/rerank", strings.NewReader(`{"model":"rerank-v3.5"}`))
		req.Header.Set("Authorization", "Bearer sk-1234")
		resp, err := http.DefaultClient.Do(req)
		for deadline := time.Now().Add(5 * time.Second); err != nil && i == 0 && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond) // the server is starting
			req, _ = http.NewRequest(http.MethodPost, "http://"+addr+"/v1/rerank", strings.NewReader(`{"model":"rerank-v3.5"}`))
			req.Header.Set("Authorization", "Bearer sk-1234")
			resp, err = http.DefaultClient.Do(req)
		}
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("call %d: status %d", i, resp.StatusCode)
		}
	}
	stop()
	b, err := os.ReadFile(usageLog)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != calls {
		t.Fatalf("usage log holds %d records after shutdown, want %d:\n%s", len(lines), calls, b)
	}
	for i, line := range lines {
		if !strings.Contains(line, `"route":"/v1/rerank"`) || !strings.Contains(line, `"status":200`) {
			t.Errorf("record %d: %s", i, line)
		}
	}
}
