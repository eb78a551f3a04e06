package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
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
		{"adapter target", []string{"validate", bad}, "", 1, "", []string{"adapter targets are not supported yet"}},
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
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var stderr bytes.Buffer
	go func() { done <- run(ctx, []string{"-config", "../config.yaml", "-addr", addr}, io.Discard, &stderr) }()
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
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d: %s", code, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("server did not stop")
	}
}
