package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

const (
	gatewayKey     = "sk-1234"
	upstreamKeyEnv = "BENCH_UPSTREAM_KEY"
	upstreamKey    = "bench-upstream-key"
)

// pathID names one way of reaching the mock upstream.
type pathID int

const (
	pathDirect pathID = iota
	pathNginx
	pathProxy
	pathGateway
	numPaths
)

var pathNames = [numPaths]string{"direct", "nginx", "ReverseProxy", "gateway"}

// nginxMissing is what the report says when nginx is not installed.
const nginxMissing = "nginx is not installed (its column reads n/a): `apt-get install -y nginx` (Debian/Ubuntu) or `brew install nginx` adds it"

// rig is everything one run measures: the mock upstream and the proxies in front of it, each
// its own process, and the client (this process) that calls them.
type rig struct {
	dir      string // scratch directory: configs, the usage log, nginx's files
	procs    [numPaths]*proc
	client   *http.Client
	idle     *http.Transport
	calls    [numPaths]atomic.Int64 // requests each path answered; the usage log must hold one line per gateway call
	usageLog string
	progress io.Writer
	profiler *profiler // the gateway's profiler, with -cpuprofile
}

// has reports whether path p runs (nginx may be missing).
func (rg *rig) has(p pathID) bool { return rg.procs[p] != nil }

func (rg *rig) url(p pathID) string { return rg.procs[p].url }

// newRig starts the mock upstream, then the gateway binary, the bare ReverseProxy and nginx in
// front of it.
func newRig(o options, progress io.Writer) (_ *rig, err error) {
	dir, err := os.MkdirTemp("", "gateway-bench-")
	if err != nil {
		return nil, fmt.Errorf("scratch directory: %w", err)
	}
	rg := &rig{dir: dir, progress: progress, usageLog: filepath.Join(dir, "usage.jsonl")}
	defer func() {
		if err != nil { // stop what did start (the returned rig is nil, so this one is closed)
			rg.close()
		}
	}()
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find own executable: %w", err)
	}
	if rg.procs[pathDirect], err = startRole(self, roleMock, nil); err != nil {
		return nil, err
	}
	upstream := rg.url(pathDirect)
	if rg.procs[pathProxy], err = startRole(self, roleRP, []string{upstreamEnv + "=" + upstream}); err != nil {
		return nil, err
	}
	if rg.procs[pathGateway], err = rg.startGateway(o, upstream); err != nil {
		return nil, err
	}
	if o.nginx != "" {
		if rg.procs[pathNginx], err = rg.startNginx(o.nginx, upstream); err != nil {
			return nil, err
		}
	}
	rg.idle = newClientTransport()
	rg.client = &http.Client{Transport: rg.idle}
	return rg, nil
}

func startRole(self, role string, env []string) (*proc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), append(env, roleEnv+"="+role, listenEnv+"="+addr)...)
	return startProc(role, cmd, addr)
}

// startGateway runs bin/gateway as `make run` does (its default flags, a usage log), on a
// config with keyed (auth: true) routes to the mock upstream; with -cpuprofile, it also checks
// that the binary serves its profiler.
func (rg *rig) startGateway(o options, upstream string) (*proc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cfg := filepath.Join(rg.dir, "gateway.yaml")
	if err := os.WriteFile(cfg, []byte(gatewayConfig(upstream)), 0o600); err != nil {
		return nil, fmt.Errorf("write gateway config: %w", err)
	}
	pprofAddr := ""
	if o.cpuProfile != "" {
		if pprofAddr, err = freeAddr(); err != nil {
			return nil, err
		}
	}
	p, err := startProc("gateway", gatewayCommand(o, cfg, addr, rg.usageLog, pprofAddr), addr)
	if err != nil || pprofAddr == "" {
		return p, err
	}
	if err := waitListening(pprofAddr, p.done, pprofLimit); err != nil {
		p.stop()
		return nil, fmt.Errorf("-cpuprofile: %s serves no profiler on %s=%s (%v): build it with -tags pprof, as `make bench-profile` does",
			o.gateway, pprofAddrEnv, pprofAddr, err)
	}
	rg.profiler = &profiler{addr: pprofAddr}
	return p, nil
}

// benchSetEnv are the gateway's environment variables the bench sets; -gateway-env may not.
var benchSetEnv = []string{"LITELLM_MASTER_KEY", upstreamKeyEnv, pprofAddrEnv}

// gatewayCommand is the gateway's command line and environment: the bench's own settings,
// then -gateway-env's, then the profiler's address when one is wanted ("" for none).
func gatewayCommand(o options, cfg, addr, usageLog, pprofAddr string) *exec.Cmd {
	cmd := exec.Command(o.gateway, "-config", cfg, "-addr", addr, "-usage-log", usageLog)
	cmd.Env = append(os.Environ(), "LITELLM_MASTER_KEY="+gatewayKey, upstreamKeyEnv+"="+upstreamKey)
	cmd.Env = append(cmd.Env, o.gatewayEnv...)
	if pprofAddr != "" {
		cmd.Env = append(cmd.Env, pprofAddrEnv+"="+pprofAddr)
	}
	return cmd
}

func gatewayConfig(upstream string) string {
	route := func(path string) string {
		return fmt.Sprintf(`
    - path: %[1]s
      target: %[2]s%[1]s
      auth: true
      headers: {Authorization: "bearer os.environ/%[3]s", content-type: application/json}`, path, upstream, upstreamKeyEnv)
	}
	return "general_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n  pass_through_endpoints:" +
		route("/v1/rerank") + route("/sse") + route("/events") + route("/large") + "\n"
}

// startNginx runs nginx as a plain reverse proxy doing the same credential swap: keep-alive
// upstream connections, no buffering either way (as a streaming proxy must), an access log.
func (rg *rig) startNginx(bin, upstream string) (*proc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	prefix := filepath.Join(rg.dir, "nginx")
	if err := os.MkdirAll(filepath.Join(prefix, "tmp"), 0o755); err != nil {
		return nil, fmt.Errorf("nginx prefix: %w", err)
	}
	conf := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(conf, []byte(nginxConfig(prefix, addr, strings.TrimPrefix(upstream, "http://"))), 0o644); err != nil {
		return nil, fmt.Errorf("write nginx config: %w", err)
	}
	return startProc("nginx", exec.Command(bin, "-p", prefix, "-c", conf, "-e", filepath.Join(prefix, "error.log")), addr)
}

func nginxConfig(prefix, listen, upstream string) string {
	return strings.NewReplacer("PREFIX", prefix, "LISTEN", listen, "UPSTREAM", upstream, "KEY", upstreamKey).Replace(`
daemon off;
master_process on;
worker_processes auto;
pid PREFIX/nginx.pid;
error_log PREFIX/error.log warn;
events { worker_connections 4096; }
http {
  access_log PREFIX/access.log;
  client_body_temp_path PREFIX/tmp/body;
  proxy_temp_path PREFIX/tmp/proxy;
  fastcgi_temp_path PREFIX/tmp/fastcgi;
  uwsgi_temp_path PREFIX/tmp/uwsgi;
  scgi_temp_path PREFIX/tmp/scgi;
  keepalive_requests 1000000;
  upstream mock { server UPSTREAM; keepalive 256; keepalive_requests 1000000; }
  server {
    listen LISTEN;
    location / {
      proxy_pass http://mock;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Authorization "bearer KEY";
      proxy_buffering off;
      proxy_request_buffering off;
    }
  }
}
`)
}

// close stops every process; the gateway gets SIGTERM and must exit cleanly.
func (rg *rig) close() error {
	if rg.idle != nil {
		rg.idle.CloseIdleConnections()
	}
	var errs []error
	for p := numPaths - 1; p >= 0; p-- { // the proxies before their upstream
		if rg.procs[p] != nil {
			errs = append(errs, rg.procs[p].stop())
			rg.procs[p] = nil
		}
	}
	_ = os.RemoveAll(rg.dir)
	return errors.Join(errs...)
}

// stopGateway stops the gateway (SIGTERM) and checks that its usage log holds one record per
// call it answered: the log is written asynchronously, and a record lost on shutdown is a bug.
func (rg *rig) stopGateway() error {
	p := rg.procs[pathGateway]
	if p == nil {
		return nil
	}
	rg.procs[pathGateway] = nil
	if err := p.stop(); err != nil {
		return err
	}
	b, err := os.ReadFile(rg.usageLog)
	if err != nil {
		return fmt.Errorf("read the gateway's usage log: %w", err)
	}
	if got, want := int64(bytes.Count(b, []byte("\n"))), rg.calls[pathGateway].Load(); got != want {
		return fmt.Errorf("the gateway's usage log holds %d records after SIGTERM, want one per call: %d", got, want)
	}
	return nil
}

// newClientTransport keeps connections alive and pools enough of them that neither the c=32
// test nor the held streams ever wait for or re-dial a connection.
func newClientTransport() *http.Transport {
	return &http.Transport{
		Proxy:               nil, // loopback only; never an environment proxy
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
}

// do sends a request with the gateway key (the other paths ignore it) and counts it.
func (rg *rig) do(ctx context.Context, p pathID, method, path string, body []byte) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, rg.url(p)+path, rd)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+gatewayKey)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := rg.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s %s: %w", pathNames[p], method, path, err)
	}
	rg.calls[p].Add(1)
	return resp, nil
}

// rerank makes one small JSON POST and checks the answer.
func (rg *rig) rerank(ctx context.Context, p pathID) error {
	resp, err := rg.do(ctx, p, http.MethodPost, "/v1/rerank", rerankRequest)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	switch {
	case err != nil:
		return fmt.Errorf("%s POST /v1/rerank: reading body: %w", pathNames[p], err)
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("%s POST /v1/rerank: status %d, want 200", pathNames[p], resp.StatusCode)
	case n != int64(len(rerankResponse)):
		return fmt.Errorf("%s POST /v1/rerank: %d body bytes, want %d", pathNames[p], n, len(rerankResponse))
	}
	return nil
}

// releaseStreams asks the mock to end every held stream.
func (rg *rig) releaseStreams(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rg.url(pathDirect)+"/release", nil)
	if err != nil {
		return err
	}
	resp, err := rg.client.Do(req)
	if err != nil {
		return fmt.Errorf("release streams: %w", err)
	}
	resp.Body.Close()
	return nil
}

// paths lists the paths that run, in order.
func (rg *rig) paths() []pathID {
	var out []pathID
	for p := range numPaths {
		if rg.has(p) {
			out = append(out, p)
		}
	}
	return out
}

// rotated is the running paths starting at the round-th, so that interleaved rounds put each
// path first in turn.
func (rg *rig) rotated(round int) []pathID {
	ps := rg.paths()
	k := round % len(ps)
	return append(ps[k:len(ps):len(ps)], ps[:k]...)
}
