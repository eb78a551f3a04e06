package sdktest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// outcomeTB records a Skipf or Fatalf instead of ending the test.
type outcomeTB struct {
	testing.TB
	skipped, failed string
}

func (o *outcomeTB) Helper()                           {}
func (o *outcomeTB) Skipf(format string, args ...any)  { o.skipped = fmt.Sprintf(format, args...) }
func (o *outcomeTB) Fatalf(format string, args ...any) { o.failed = fmt.Sprintf(format, args...) }

// Without node on PATH the SDK tests skip, saying why, except under CI=true, where they fail.
func TestNodeMissing(t *testing.T) {
	for _, c := range []struct {
		ci                 string
		wantSkip, wantFail string
	}{
		{ci: "", wantSkip: "SKIPPING the SDK end-to-end tests: node not found on PATH (they run when Node >= 20 and npm are on PATH; with CI=true this is a failure)"},
		{ci: "false", wantSkip: "SKIPPING the SDK end-to-end tests: node not found on PATH (they run when Node >= 20 and npm are on PATH; with CI=true this is a failure)"},
		{ci: "true", wantFail: "SDK end-to-end tests: node not found on PATH; CI must run them"},
	} {
		t.Run("CI="+c.ci, func(t *testing.T) {
			t.Setenv("PATH", t.TempDir()) // an empty directory: no node, no npm
			t.Setenv("CI", c.ci)
			o := &outcomeTB{TB: t}
			if nodeOrSkip(o) {
				t.Fatal("nodeOrSkip found node on an empty PATH")
			}
			if o.skipped != c.wantSkip || o.failed != c.wantFail {
				t.Errorf("skipped %q, failed %q; want skipped %q, failed %q", o.skipped, o.failed, c.wantSkip, c.wantFail)
			}
		})
	}
}

// npm ci runs when node_modules is missing or older than the lockfile, not otherwise.
func TestNeedsInstall(t *testing.T) {
	now := time.Now()
	for _, c := range []struct {
		name      string
		installed *time.Time // node_modules/.package-lock.json's time; nil: no node_modules
		want      bool
	}{
		{"no node_modules", nil, true},
		{"installed before the lockfile changed", ptr(now.Add(-time.Hour)), true},
		{"installed after", ptr(now.Add(time.Hour)), false},
		{"installed at the same time", ptr(now), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			touch(t, filepath.Join(dir, "package-lock.json"), now)
			if c.installed != nil {
				touch(t, filepath.Join(dir, "node_modules", ".package-lock.json"), *c.installed)
			}
			got, err := needsInstall(dir)
			if err != nil || got != c.want {
				t.Errorf("needsInstall = %v, %v; want %v", got, err, c.want)
			}
		})
	}
	if _, err := needsInstall(t.TempDir()); err == nil {
		t.Error("no error without a lockfile")
	}
}

func ptr[T any](v T) *T { return &v }

func touch(t *testing.T, path string, at time.Time) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, at, at); err != nil {
		t.Fatal(err)
	}
}
