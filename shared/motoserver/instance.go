package motoserver

import (
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
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Instance is a moto_server of one test's own, apart from the package's shared one, so that
// the test can stop it mid-run: an AWS outage (every call refused).
type Instance struct {
	URL  string
	cmd  *exec.Cmd
	once sync.Once
}

// Start starts an instance on a free loopback port and stops it when t ends. Like Require, it
// skips t when moto_server is not installed, and fails it when REQUIRE_MOTO=1.
func Start(t testing.TB) *Instance {
	t.Helper()
	path, err := exec.LookPath("moto_server")
	if err != nil {
		if os.Getenv("REQUIRE_MOTO") == "1" {
			t.Fatal("REQUIRE_MOTO=1 but moto_server is not on PATH")
		}
		t.Skip("moto_server is not installed: AWS outage test skipped")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	i := &Instance{URL: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: exec.Command(path, "-H", "127.0.0.1", "-p", fmt.Sprint(port))}
	i.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its workers die with it
	if err := i.cmd.Start(); err != nil {
		t.Fatalf("start moto_server: %v", err)
	}
	t.Cleanup(i.Stop)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(i.URL + "/moto-api/"); err == nil {
			resp.Body.Close()
			return i
		}
	}
	t.Fatalf("moto_server did not answer on %s within 30 s", i.URL)
	return nil
}

// Stop kills the instance (and its workers) and waits for it to exit; calls to it are then
// refused. Later calls do nothing.
func (i *Instance) Stop() {
	i.once.Do(func() {
		_ = syscall.Kill(-i.cmd.Process.Pid, syscall.SIGKILL)
		_ = i.cmd.Wait()
	})
}

// Config is an AWS SDK configuration for this instance: its endpoint, moto's region and dummy
// credentials, whatever the environment says.
func (i *Instance) Config(t testing.TB) aws.Config {
	t.Helper()
	cfg := Config(t)
	cfg.BaseEndpoint = aws.String(i.URL)
	cfg.Region = Region
	cfg.Credentials = credentials.NewStaticCredentialsProvider("testing", "testing", "")
	return cfg
}
