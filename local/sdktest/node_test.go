package sdktest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	nodeDir = "node"
	// installTimeout bounds `npm ci` (about 15 s here with a warm cache; a cold CI cache downloads ~30 MB).
	installTimeout = 5 * time.Minute
	// scriptTimeout bounds one script: node's start and the SDK import take most of it.
	scriptTimeout = 60 * time.Second
	minNodeMajor  = 20
	resultPrefix  = "SDKTEST_RESULT "  // node/lib.mjs's result line
	failurePrefix = "SDKTEST_FAILURE " // and its error line
)

// install is the SDK installation, done at most once per test process.
var install struct {
	sync.Mutex
	done bool
	err  error
}

// requireSDKs makes sure node, npm and the pinned SDKs are there (see nodeOrSkip), installing
// the SDKs with `npm ci` when node_modules is missing or older than the lockfile, once per
// test process.
func requireSDKs(t *testing.T) {
	t.Helper()
	if !nodeOrSkip(t) {
		return
	}
	install.Lock()
	defer install.Unlock()
	if !install.done {
		install.err = errors.Join(readScripts(), installSDKs())
		install.done = true
	}
	if install.err != nil {
		t.Fatal(install.err)
	}
}

// nodeOrSkip reports whether node and npm are usable. If not, it skips the test with a visible
// message, except on CI (CI=true), where the SDK tests must run: there it fails the test.
func nodeOrSkip(tb testing.TB) bool {
	tb.Helper()
	err := findNode()
	if err == nil {
		return true
	}
	if os.Getenv("CI") == "true" {
		tb.Fatalf("SDK end-to-end tests: %v; CI must run them", err)
	} else {
		tb.Skipf("SKIPPING the SDK end-to-end tests: %v (they run when Node >= %d and npm are on PATH; with CI=true this is a failure)", err, minNodeMajor)
	}
	return false
}

// findNode checks that node (at least minNodeMajor) and npm are on PATH.
func findNode() error {
	for _, bin := range []string{"node", "npm"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("%s not found on PATH", bin)
		}
	}
	out, err := exec.Command("node", "--version").Output()
	if err != nil {
		return fmt.Errorf("node --version: %w", err)
	}
	v := strings.TrimPrefix(strings.TrimSpace(string(out)), "v")
	major, err := strconv.Atoi(strings.SplitN(v, ".", 2)[0])
	if err != nil || major < minNodeMajor {
		return fmt.Errorf("node %q is older than %d", v, minNodeMajor)
	}
	return nil
}

// readScripts reads the node directory's scripts and package.json: go test caches a passing
// result until a file the test opened changes, and node's reads are not seen, so without this
// an edited script would not rerun a cached `go test ./...`.
func readScripts() error {
	entries, err := os.ReadDir(nodeDir)
	if err != nil {
		return fmt.Errorf("SDK scripts: %w", err)
	}
	for _, e := range entries {
		if name := e.Name(); strings.HasSuffix(name, ".mjs") || name == "package.json" {
			if _, err := os.ReadFile(filepath.Join(nodeDir, name)); err != nil {
				return fmt.Errorf("SDK scripts: %w", err)
			}
		}
	}
	return nil
}

// installSDKs runs `npm ci` in nodeDir when needsInstall says so.
func installSDKs() error {
	need, err := needsInstall(nodeDir)
	if err != nil || !need {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), installTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = nodeDir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("npm ci in local/sdktest/node: %w\n%s", err, out)
	}
	return nil
}

// needsInstall reports whether dir's node_modules is missing or older than its lockfile. npm
// writes node_modules/.package-lock.json at the end of every install, so its time is the
// install's.
func needsInstall(dir string) (bool, error) {
	lock, err := os.Stat(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return false, fmt.Errorf("SDK lockfile: %w", err)
	}
	done, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json"))
	return err != nil || done.ModTime().Before(lock.ModTime()), nil
}

// sentRequest is one request as the SDK sent it (recorded by node/lib.mjs).
type sentRequest struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
	Body    []byte            `json:"body"` // base64 in the JSON
	Status  int               `json:"status"`
}

// sdkCall is what the SDK returned for one call.
type sdkCall struct {
	Call   string          `json:"call"`
	Text   string          `json:"text"`
	Chunks int             `json:"chunks"`
	Usage  json.RawMessage `json:"usage"`
}

type scriptResult struct {
	Calls []sdkCall     `json:"calls"`
	Sent  []sentRequest `json:"sent"`
}

// runScript runs one SDK script against the gateway and returns its result line.
func runScript(t *testing.T, script, gatewayURL, gatewayKey string) scriptResult {
	t.Helper()
	stdout, stderr, err := execScript(t, script, gatewayURL, gatewayKey)
	if err != nil {
		t.Fatalf("node %s: %v\nstderr:\n%s\nstdout:\n%s", script, err, stderr, stdout)
	}
	var res scriptResult
	if !decodeLine(t, stdout, resultPrefix, &res) {
		t.Fatalf("node %s printed no result line\nstdout:\n%s\nstderr:\n%s", script, stdout, stderr)
	}
	return res
}

// sdkFailure is the error an SDK raised (node/lib.mjs's SDKTEST_FAILURE line).
type sdkFailure struct {
	Class   string `json:"class"`
	Message string `json:"message"`
	Status  int    `json:"status"`
}

// runFailingScript runs a script that must fail and returns the SDK's error.
func runFailingScript(t *testing.T, script, gatewayURL, gatewayKey string) sdkFailure {
	t.Helper()
	stdout, stderr, err := execScript(t, script, gatewayURL, gatewayKey)
	var f sdkFailure
	if err == nil || !decodeLine(t, stderr, failurePrefix, &f) {
		t.Fatalf("node %s: %v, want an SDK error\nstderr:\n%s\nstdout:\n%s", script, err, stderr, stdout)
	}
	return f
}

// execScript runs node on one script. The script gets a bare environment (PATH, a scratch
// HOME, the gateway's URL and key), so no provider variable of this process
// (ANTHROPIC_API_KEY, OPENAI_BASE_URL, ...) changes what the SDK does.
func execScript(t *testing.T, script, gatewayURL, gatewayKey string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", script)
	cmd.Dir = nodeDir
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"GATEWAY_URL=" + gatewayURL,
		"GATEWAY_KEY=" + gatewayKey,
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err = cmd.Run()
	t.Logf("node %s: %v", script, time.Since(start).Round(time.Millisecond))
	return out.String(), errOut.String(), err
}

// decodeLine decodes the JSON after prefix on the first line of text that starts with it.
func decodeLine(t *testing.T, text, prefix string, v any) bool {
	t.Helper()
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(line, prefix); ok {
			if err := json.Unmarshal([]byte(rest), v); err != nil {
				t.Fatalf("%s line: %v\n%s", strings.TrimSpace(prefix), err, rest)
			}
			return true
		}
	}
	return false
}
