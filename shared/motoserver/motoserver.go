// Package motoserver runs moto_server, a local AWS (SSM, Secrets Manager, Firehose, S3,
// DynamoDB), for the integration tests of the packages that talk to AWS. It is test support:
// only _test files import it.
//
// A package's TestMain calls Main; each integration test calls Require, which skips the test
// (visibly) when moto_server is not installed, or fails the run when REQUIRE_MOTO=1 (CI).
package motoserver

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
)

// Region is the region moto answers for.
const Region = "us-east-1"

var endpoint string

// Main starts moto_server on a free loopback port, points the AWS SDK at it through the
// standard environment variables, runs the tests and stops it.
func Main(m *testing.M) int {
	path, err := exec.LookPath("moto_server")
	if err != nil {
		if os.Getenv("REQUIRE_MOTO") == "1" {
			fmt.Fprintln(os.Stderr, "REQUIRE_MOTO=1 but moto_server is not on PATH: the AWS integration tests cannot run")
			return 1
		}
		fmt.Println("moto_server is not on PATH: the AWS integration tests are skipped")
		return m.Run()
	}
	cmd, err := start(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "start moto_server:", err)
		return 1
	}
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	}()
	return m.Run()
}

func start(path string) (*exec.Cmd, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(path, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its workers die with it
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(url + "/moto-api/"); err == nil {
			resp.Body.Close()
			endpoint = url
			setEnv(url)
			return cmd, nil
		}
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	return nil, fmt.Errorf("moto_server did not answer on %s within 30 s", url)
}

func setEnv(url string) {
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
		"AWS_SESSION_TOKEN": "testing", "AWS_REGION": Region, "AWS_DEFAULT_REGION": Region,
		"AWS_EC2_METADATA_DISABLED": "true",
	} {
		os.Setenv(k, v)
	}
	os.Unsetenv("AWS_PROFILE")
}

// Require skips t when moto is not running, and otherwise resets moto's state so each test
// starts from an empty account. It returns moto's endpoint.
func Require(t testing.TB) string {
	t.Helper()
	if endpoint == "" {
		t.Skip("moto_server is not running (not installed): AWS integration test skipped")
	}
	resp, err := http.Post(endpoint+"/moto-api/reset", "application/json", nil)
	if err != nil {
		t.Fatalf("reset moto: %v", err)
	}
	resp.Body.Close()
	return endpoint
}

// Config is the AWS SDK configuration for moto, loaded the standard way.
func Config(t testing.TB) aws.Config {
	t.Helper()
	cfg, err := awsconfig.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// serial serializes requests to moto. Real DynamoDB applies a conditional UpdateItem atomically
// (the condition check and the write are one step per item). moto 5.x does not: its threaded
// server runs update_item as get item, evaluate the condition, write, with no lock, so two
// concurrent requests can both see hits=8 and both write 9 (observed: 11 admitted of 50 in
// about 1 run in 5). Holding one lock around each round trip gives moto the per-item atomicity
// DynamoDB guarantees; the callers, their clients and their goroutines still race freely.
var serial sync.Mutex

// serialHTTP is an HTTP client whose round trips to moto hold serial. moto has finished the
// update before it sends the response headers, so the lock covers the whole operation.
type serialHTTP struct{ c *http.Client }

func (s serialHTTP) Do(req *http.Request) (*http.Response, error) {
	serial.Lock()
	defer serial.Unlock()
	return s.c.Do(req)
}

// AtomicConfig is Config with its own HTTP client (own connections) whose requests to moto run
// one at a time across the process: for tests of concurrent conditional writes, which moto
// does not make atomic on its own.
func AtomicConfig(t testing.TB) aws.Config {
	cfg := Config(t)
	cfg.HTTPClient = serialHTTP{&http.Client{Transport: &http.Transport{}}}
	return cfg
}
