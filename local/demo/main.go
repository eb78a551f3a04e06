// Command demo shows a request flowing end to end with no internet: it starts the bundled mock
// upstream on 127.0.0.1:4010 and the gateway on 127.0.0.1:4000 with local/config.yaml (the
// same handler `make run` serves), then sends a Cohere rerank call and a streamed Anthropic
// call, printing what the client sees and when.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/passthru/gateway/local/mock"
	"github.com/passthru/gateway/shared/proxy"
	"github.com/passthru/gateway/shared/usage"
	"github.com/passthru/gateway/shared/wiring"
)

const (
	gatewayAddr  = "127.0.0.1:4000"
	upstreamAddr = "127.0.0.1:4010"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer) error {
	log := wiring.NewLogger(os.Stderr, "text", false)
	if err := listen(upstreamAddr, mock.Handler(300*time.Millisecond)); err != nil {
		return err
	}
	src, err := wiring.OpenSources(ctx, wiring.SourceOptions{ConfigPath: "local/config.yaml", MissingSecrets: wiring.FailOnMissingSecrets}, log)
	if err != nil {
		return err
	}
	records := make(chan usage.Record, 4)
	sink := recordFunc(func(r usage.Record) { records <- r })
	if err := listen(gatewayAddr, wiring.NewHandler(src, sink, log.With("component", "gateway"), false)); err != nil {
		return err
	}
	key := os.Getenv("LITELLM_MASTER_KEY")
	fmt.Fprintf(out, "mock upstream on http://%s, gateway on http://%s (local/config.yaml)\n\n", upstreamAddr, gatewayAddr)
	for _, call := range []func(io.Writer, string) error{rerank, streamed} {
		if err := call(out, key); err != nil {
			return err
		}
		printRecord(out, <-records)
	}
	return nil
}

type recordFunc func(usage.Record)

func (f recordFunc) Record(_ context.Context, r usage.Record) { f(r) }

// printRecord shows the usage record the call produced, as the usage file would hold it.
func printRecord(out io.Writer, r usage.Record) {
	b, _ := json.Marshal(r)
	fmt.Fprintf(out, "usage record: %s\n\n", b)
}

func listen(addr string, h http.Handler) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s (is `make run` still running?): %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			slog.Error("serve", "addr", addr, "error", err)
		}
	}()
	return nil
}

func rerank(out io.Writer, key string) error {
	body := `{"model":"rerank-english-v3.0","query":"What is the capital of the United States?","top_n":2,"documents":["Carson City is the capital city of Nevada.","Washington, D.C. is the capital of the United States."]}`
	fmt.Fprintf(out, "$ curl http://%s/v1/rerank -H 'Authorization: Bearer %s' -H 'content-type: application/json' -d '%s'\n", gatewayAddr, key, body)
	req, _ := http.NewRequest("POST", "http://"+gatewayAddr+"/v1/rerank", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("rerank call: %w", err)
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("rerank reply: %w", err)
	}
	fmt.Fprintf(out, "HTTP %s\nx-litellm-call-id: %s\nx-mock-credential: %s   <- the upstream got the Cohere key, not the gateway key\n%s\n\n",
		resp.Status, resp.Header.Get(proxy.CallIDHeader), resp.Header.Get("X-Mock-Credential"), reply)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("rerank answered %s", resp.Status)
	}
	return nil
}

func streamed(out io.Writer, key string) error {
	body := `{"model":"claude-sonnet-4-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"Hello"}]}`
	fmt.Fprintf(out, "$ curl -N http://%s/anthropic/v1/messages -H 'x-api-key: %s' -H 'anthropic-version: 2023-06-01' -d '%s'\n", gatewayAddr, key, body)
	req, _ := http.NewRequest("POST", "http://"+gatewayAddr+"/anthropic/v1/messages", strings.NewReader(body))
	req.Header.Set("X-Api-Key", key)
	req.Header.Set("Anthropic-Version", "2023-06-01")
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("streamed call: %w", err)
	}
	defer resp.Body.Close()
	fmt.Fprintf(out, "HTTP %s (%s)\n", resp.Status, resp.Header.Get("Content-Type"))
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if line := sc.Text(); line != "" {
			fmt.Fprintf(out, "+%4dms  %s\n", time.Since(start).Milliseconds(), line)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("streamed reply: %w", err)
	}
	fmt.Fprintln(out, "\nEach event left the gateway as the mock upstream sent it (300 ms apart).")
	return nil
}
