package wiring_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/passthru/gateway/shared/builtin"
	"github.com/passthru/gateway/shared/secrets"
	"github.com/passthru/gateway/shared/wiring"
)

// The start-up route listing never prints a literal credential written in a target's query;
// references are shown as written, other parameters kept.
func TestLogRoutesRedactsTargetQuery(t *testing.T) {
	const cfg = `general_settings:
  pass_through_endpoints:
    - path: /gemini
      target: "https://generativelanguage.example/v1beta?key=AIzaLITERAL&alt=sse"
      auth: false
    - path: /ref
      target: "https://up.example/v1?api_key=os.environ/UP_KEY&sig=SIGLITERAL"
      auth: false
`
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	_, table, err := wiring.LoadBytes(context.Background(), "cfg", []byte(cfg), secrets.Inline{"UP_KEY": "v"}, wiring.FailOnMissingSecrets, builtin.Options{Env: func(string) string { return "" }}, log)
	if err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	wiring.LogRoutes(log, table)
	want := []string{
		`msg=route path=/gemini methods=GET,POST,PUT,DELETE,PATCH target="https://generativelanguage.example/v1beta?key=[REDACTED]&alt=sse" auth=public`,
		`msg=route path=/ref methods=GET,POST,PUT,DELETE,PATCH target="https://up.example/v1?api_key=os.environ/UP_KEY&sig=[REDACTED]" auth=public`,
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if strings.Contains(l, " msg=route ") {
			lines = append(lines, l)
		}
	}
	// The configured /gemini overrides the built-in one; the others are listed as built-in.
	if !strings.Contains(buf.String(), `msg="built-in route" path=/anthropic/** provider=anthropic target=https://api.anthropic.com auth=granted-keys`) ||
		strings.Contains(buf.String(), "path=/gemini/**") {
		t.Errorf("built-in routes not logged as expected:\n%s", buf.String())
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, w := range want {
		if _, rest, _ := strings.Cut(lines[i], " level=INFO "); rest != w {
			t.Errorf("line %d = %q, want %q", i, rest, w)
		}
	}
	if s := table.String(); strings.Contains(s, "LITERAL") || !strings.Contains(s, "key=[REDACTED]&alt=sse") {
		t.Errorf("Table.String() = %q, want literal query credentials hidden", s)
	}
}

// The start-up listing says which origins general_settings.cors lets in.
func TestLogRoutesShowsCORS(t *testing.T) {
	const cfg = "general_settings:\n  cors: {allow_origins: [\"https://app.example.com\", \"https://b.example\"], max_age: 90}\n"
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	_, table, err := wiring.LoadBytes(context.Background(), "cfg", []byte(cfg), secrets.Inline{}, wiring.FailOnMissingSecrets, builtin.Options{}, log)
	if err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	wiring.LogRoutes(log, table)
	if want := `msg=cors allow_origins=https://app.example.com,https://b.example max_age=1m30s`; !strings.Contains(buf.String(), want) {
		t.Errorf("log lacks %q:\n%s", want, buf.String())
	}
}
