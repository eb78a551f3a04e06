package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"time"

	"github.com/passthru/gateway/shared/auth"
	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/pricing"
	"github.com/passthru/gateway/shared/providers"
	"github.com/passthru/gateway/shared/proxy"
	"github.com/passthru/gateway/shared/route"
	"github.com/passthru/gateway/shared/usage"
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
	pathGateway
	pathProxy
	numPaths
)

var pathNames = [numPaths]string{"direct", "gateway", "ReverseProxy"}

// rig is everything one run measures: the mock upstream, the two proxies in front of it, and the
// client that calls all three.
type rig struct {
	mock    *mockUpstream
	servers []*server
	urls    [numPaths]string
	client  *http.Client
	idlers  []interface{ CloseIdleConnections() }
	// progress is where phases report as they go (stderr), apart from the table.
	progress io.Writer
}

func newRig(progress io.Writer) (rg *rig, err error) {
	if err := os.Setenv(upstreamKeyEnv, upstreamKey); err != nil {
		return nil, fmt.Errorf("set %s: %w", upstreamKeyEnv, err)
	}
	rg = &rig{mock: newMockUpstream(), progress: progress}
	defer func() {
		if err != nil {
			rg.close()
		}
	}()
	if rg.urls[pathDirect], err = rg.serve(rg.mock.handler()); err != nil {
		return nil, fmt.Errorf("mock upstream: %w", err)
	}
	gw, gwTransport, err := newGateway(rg.urls[pathDirect])
	if err != nil {
		return nil, err
	}
	if rg.urls[pathGateway], err = rg.serve(gw); err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	rp, rpTransport, err := newReverseProxy(rg.urls[pathDirect])
	if err != nil {
		return nil, err
	}
	if rg.urls[pathProxy], err = rg.serve(rp); err != nil {
		return nil, fmt.Errorf("reverse proxy: %w", err)
	}
	clientTransport := newClientTransport()
	rg.client = &http.Client{Transport: clientTransport}
	rg.idlers = append(rg.idlers, clientTransport, gwTransport, rpTransport)
	return rg, nil
}

func (rg *rig) serve(h http.Handler) (string, error) {
	s, err := startServer(h)
	if err != nil {
		return "", err
	}
	rg.servers = append(rg.servers, s)
	return s.url, nil
}

func (rg *rig) close() {
	rg.closeIdle()
	for _, s := range rg.servers {
		s.close()
	}
}

// closeIdle drops every pooled keep-alive connection, client and proxy side, so that a memory
// baseline is not holding the previous phase's connections.
func (rg *rig) closeIdle() {
	for _, t := range rg.idlers {
		t.CloseIdleConnections()
	}
}

// newGateway builds the handler under test exactly as the server does, from LiteLLM-shaped YAML.
// It passes proxy.NewTransport() explicitly only to keep a handle for closing idle connections.
func newGateway(upstream string) (http.Handler, *http.Transport, error) {
	res := config.Parse([]byte(gatewayConfig(upstream)))
	if res.Err != nil {
		return nil, nil, fmt.Errorf("parse gateway config: %w", res.Err)
	}
	table, err := route.NewTable(res.Config)
	if err != nil {
		return nil, nil, fmt.Errorf("build route table: %w", err)
	}
	tr := proxy.NewTransport()
	// The gateway as deployed: usage metering (provider parsers and prices) and an EMF line per
	// call are part of what is measured.
	h := proxy.New(table,
		proxy.WithKeys(auth.NewMasterKey(gatewayKey)),
		proxy.WithTransport(tr),
		proxy.WithMetering(func(u *url.URL, req []byte, status int, hdr http.Header) proxy.Meter {
			return providers.NewMeter(u, req, status, hdr)
		}),
		proxy.WithPricing(pricing.Default()),
		proxy.WithUsage(usage.NewEMF(io.Discard, usage.DefaultMetricsNamespace).PricedModels(pricing.Default().Name)),
		proxy.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	return h, tr, nil
}

func gatewayConfig(upstream string) string {
	route := func(path string) string {
		return fmt.Sprintf(`
    - path: %[1]s
      target: %[2]s%[1]s
      auth: true
      headers: {Authorization: "bearer os.environ/%[3]s", content-type: application/json}`, path, upstream, upstreamKeyEnv)
	}
	return "general_settings:\n  master_key: " + gatewayKey + "\n  pass_through_endpoints:" +
		route("/v1/rerank") + route("/sse") + route("/large") + route("/upload") + "\n"
}

// newReverseProxy is the baseline: the standard library's proxy doing the same credential swap,
// on a transport pooled like the gateway's so that neither pays for reconnecting.
func newReverseProxy(upstream string) (http.Handler, *http.Transport, error) {
	target, err := url.Parse(upstream)
	if err != nil {
		return nil, nil, fmt.Errorf("parse upstream URL: %w", err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 512, 256
	tr.DisableCompression = true
	credential := "bearer " + upstreamKey
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Header.Set("Authorization", credential)
		},
		Transport: tr,
		ErrorLog:  log.New(os.Stderr, "bench: reverse proxy: ", 0),
	}
	return rp, tr, nil
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

// rerank makes one small JSON POST and checks the answer.
func (rg *rig) rerank(ctx context.Context, p pathID) error {
	u := rg.urls[p] + "/v1/rerank"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(rerankRequest))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+gatewayKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := rg.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s POST /v1/rerank: %w", pathNames[p], err)
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

// server is a plain net/http server on an ephemeral loopback port; all three front ends use
// the same kind so that none is advantaged by its server.
type server struct {
	srv *http.Server
	url string
}

func startServer(h http.Handler) (*server, error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on 127.0.0.1: %w", err)
	}
	s := &server{
		srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second},
		url: "http://" + ln.Addr().String(),
	}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "bench: server on", s.url, "stopped:", err)
		}
	}()
	return s, nil
}

func (s *server) close() { _ = s.srv.Close() }
