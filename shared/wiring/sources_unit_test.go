package wiring_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/passthru/gateway/shared/auth"
	"github.com/passthru/gateway/shared/keys"
	"github.com/passthru/gateway/shared/secrets"
	"github.com/passthru/gateway/shared/usage"
	"github.com/passthru/gateway/shared/wiring"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

const sourcesConfig = `
general_settings:
  master_key: os.environ/MASTER:key
  pass_through_endpoints:
    - {path: /x, target: "https://x.example.com", auth: true, headers: {Authorization: "os.environ/K"}}
`

// Inline secrets (sam local) feed both the routes' headers and a master key that is read
// through the resolver on every check, NAME:field included.
func TestOpenSourcesInlineSecrets(t *testing.T) {
	src, err := wiring.OpenSources(context.Background(), wiring.SourceOptions{
		ConfigYAML: sourcesConfig, Secrets: "inline", SecretsInline: `{"MASTER":"{\"key\":\"sk-abc\"}","K":"v"}`,
	}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := src.Keys.(keys.TableMaster); !ok {
		t.Fatalf("keys = %T, want a keys.TableMaster (the master key follows the resolver)", src.Keys)
	}
	if p, err := src.Keys.Verify(context.Background(), "sk-abc"); err != nil || !p.Master {
		t.Errorf("Verify(master) = %+v, %v", p, err)
	}
	if _, err := src.Keys.Verify(context.Background(), "sk-other"); !errors.Is(err, auth.ErrInvalidKey) {
		t.Errorf("Verify(other) = %v", err)
	}
	if v, err := src.Secrets.Resolve(context.Background(), "K"); v != "v" || err != nil {
		t.Errorf("Resolve(K) = %q, %v", v, err)
	}
}

// From the environment, the master key is resolved once at start and a missing secret stops a
// strict load by name.
func TestOpenSourcesEnvFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte(sourcesConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MASTER", `{"key":"sk-env"}`)
	t.Setenv("K", "")
	_, err := wiring.OpenSources(context.Background(), wiring.SourceOptions{ConfigPath: path, MissingSecrets: wiring.FailOnMissingSecrets}, quiet)
	want := path + ": unresolved secrets:\nos.environ/K (used by pass_through_endpoints[0] (/x) headers.Authorization): secret \"K\" is not set"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	src, err := wiring.OpenSources(context.Background(), wiring.SourceOptions{ConfigPath: path, MissingSecrets: wiring.WarnOnMissingSecrets}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := src.Keys.(auth.MasterKey); !ok {
		t.Fatalf("keys = %T, want the resolved auth.MasterKey", src.Keys)
	}
	if p, err := src.Keys.Verify(context.Background(), "sk-env"); err != nil || !p.Master {
		t.Errorf("Verify = %+v, %v", p, err)
	}
	if _, ok := src.Secrets.(secrets.Env); !ok {
		t.Errorf("secrets = %T", src.Secrets)
	}
}

func TestOpenSourcesBadSecretsSource(t *testing.T) {
	_, err := wiring.OpenSources(context.Background(), wiring.SourceOptions{ConfigYAML: sourcesConfig, Secrets: "vault"}, quiet)
	if err == nil || err.Error() != `secrets source "vault" is not env, secretsmanager or inline` {
		t.Errorf("err = %v", err)
	}
	_, err = wiring.OpenSources(context.Background(), wiring.SourceOptions{ConfigYAML: sourcesConfig, Secrets: "inline", SecretsInline: "nope"}, quiet)
	if err == nil {
		t.Error("bad inline JSON accepted")
	}
}

// TestEMFModelDimension: the EMF line names a model priced by the embedded table or by the route
// table's model_prices as the table does, an allow-listed one as sent, and any other "other";
// the raw model stays in the usage record.
func TestEMFModelDimension(t *testing.T) {
	src, err := wiring.OpenSources(context.Background(), wiring.SourceOptions{ConfigYAML: `
model_prices:
  My-Finetune: {input_cost_per_token: 0.001, output_cost_per_token: 0.002}
general_settings:
  pass_through_endpoints:
    - {path: /x, target: "https://x.example.com", auth: false}
`, Secrets: "inline", SecretsInline: `{}`}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	var stdout strings.Builder
	path := t.TempDir() + "/usage.jsonl"
	u, err := wiring.OpenUsage(context.Background(), wiring.UsageOptions{
		File: path, MetricsNamespace: "ns", MetricModels: wiring.SplitList(" team-model , ,other-team "), Routes: src.Routes, Stdout: &stdout,
	}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	models := map[string]string{ // sent → Model dimension
		"gpt-4o-mini-2099-01-01":  "gpt-4o-mini", // embedded price, base of a dated spelling
		"openai/GPT-4o-mini":      "gpt-4o-mini",
		"my-finetune":             "my-finetune", // model_prices override
		"team-model":              "team-model",  // GATEWAY_METRICS_MODELS
		"other-team":              "other-team",
		"made-up-by-the-caller-1": "other",
		"":                        "unknown",
	}
	for sent := range models {
		u.Sink.Record(context.Background(), usage.Record{Route: "/x", Status: 200, Tokens: usage.Tokens{Provider: "openai", Model: sent}})
	}
	if err := u.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != len(models) {
		t.Fatalf("%d EMF lines, want %d", len(lines), len(models))
	}
	got := map[string]int{}
	for _, l := range lines {
		var m struct{ Model string }
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		got[m.Model]++
	}
	want := map[string]int{}
	for _, dim := range models {
		want[dim]++
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Model dimensions %v, want %v", got, want)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for sent := range models {
		if sent != "" && !strings.Contains(string(b), `"model":"`+sent+`"`) {
			t.Errorf("usage record lost the raw model %q: %s", sent, b)
		}
	}
}
