package gateway_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/passthru/gateway/shared/auth"
	"github.com/passthru/gateway/shared/gateway"
	"github.com/passthru/gateway/shared/secrets"
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
	src, err := gateway.OpenSources(context.Background(), gateway.SourceOptions{
		ConfigYAML: sourcesConfig, Secrets: "inline", SecretsInline: `{"MASTER":"{\"key\":\"sk-abc\"}","K":"v"}`,
	}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := src.Keys.(gateway.TableMasterKey); !ok {
		t.Fatalf("keys = %T, want a TableMasterKey (the master key follows the resolver)", src.Keys)
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
	_, err := gateway.OpenSources(context.Background(), gateway.SourceOptions{ConfigPath: path, MissingSecrets: gateway.FailOnMissingSecrets}, quiet)
	want := path + ": unresolved secrets:\nos.environ/K (used by pass_through_endpoints[0] (/x) headers.Authorization): secret \"K\" is not set"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	src, err := gateway.OpenSources(context.Background(), gateway.SourceOptions{ConfigPath: path, MissingSecrets: gateway.WarnOnMissingSecrets}, quiet)
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
	_, err := gateway.OpenSources(context.Background(), gateway.SourceOptions{ConfigYAML: sourcesConfig, Secrets: "vault"}, quiet)
	if err == nil || err.Error() != `secrets source "vault" is not env, secretsmanager or inline` {
		t.Errorf("err = %v", err)
	}
	_, err = gateway.OpenSources(context.Background(), gateway.SourceOptions{ConfigYAML: sourcesConfig, Secrets: "inline", SecretsInline: "nope"}, quiet)
	if err == nil {
		t.Error("bad inline JSON accepted")
	}
}
