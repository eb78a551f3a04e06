package proxy_test

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/passthru/gateway/shared/auth"
	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/proxy"
	"github.com/passthru/gateway/shared/route"
	"github.com/passthru/gateway/shared/secrets"
	upstreamhttp "github.com/passthru/gateway/shared/upstream"
)

// providerTransport sends every upstream connection to one TLS test server, whatever host the
// URL names, so the seed configs run verbatim with their real https targets.
func providerTransport(addr string) *upstreamhttp.Transport {
	t := proxy.NewTransport()
	t.HTTP.Proxy = nil
	t.HTTP.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	t.HTTP.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	return t
}

// The LiteLLM tutorial configs (shared/config/testdata/seed_*.yaml), unchanged, serve the calls
// the tutorials make.
func TestSeedConfigsWorkVerbatim(t *testing.T) {
	var mu sync.Mutex
	var got *http.Request
	provider := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = r.Clone(context.Background())
		mu.Unlock()
		_, _ = io.Copy(io.Discard, r.Body)
		if strings.HasPrefix(r.URL.Path, "/api/public/ingestion") {
			jsonReply(207, `{"successes":[{"id":"evt-1","status":201}],"errors":[]}`)(w, r)
			return
		}
		jsonReply(200, rerankReply)(w, r)
	}))
	defer provider.Close()
	resolver := secrets.Inline{"COHERE_API_KEY": "co-xyz", "LANGFUSE_DEV_PUBLIC_KEY": "pk-lf-1", "LANGFUSE_DEV_SK_KEY": "sk-lf-2"}
	basic := func(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		file, path, authorization string
		status                    int
		host, upstreamAuth        string
	}{
		{"seed_cohere_rerank.yaml", "/v1/rerank", "Bearer sk-1234", 200, "api.cohere.com", "bearer co-xyz"},
		{"seed_cohere_rerank.yaml", "/v1/rerank", "", 401, "", ""}, // no `auth`: any valid key, as in LiteLLM today
		{"seed_cohere_rerank_auth.yaml", "/v1/rerank", "Bearer sk-1234", 200, "api.cohere.com", "bearer co-xyz"},
		{"seed_cohere_rerank_auth.yaml", "/v1/rerank", "Bearer sk-wrong", 401, "", ""},
		{"seed_langfuse.yaml", "/api/public/ingestion", basic("anything:sk-1234"), 207, "us.cloud.langfuse.com", basic("pk-lf-1:sk-lf-2")},
	}
	for _, tt := range tests {
		t.Run(tt.file+" "+tt.authorization, func(t *testing.T) {
			data, err := os.ReadFile("../config/testdata/" + tt.file)
			if err != nil {
				t.Fatal(err)
			}
			res := config.Parse(data)
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if err := res.Config.CheckSecrets(context.Background(), resolver); err != nil {
				t.Fatal(err)
			}
			table, err := route.NewTable(res.Config)
			if err != nil {
				t.Fatal(err)
			}
			h := proxy.New(table, proxy.WithKeys(auth.NewMasterKey(res.Config.MasterKey)), proxy.WithSecrets(resolver),
				proxy.WithTransport(providerTransport(provider.Listener.Addr().String())),
				proxy.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
			srv := httptest.NewServer(h)
			defer srv.Close()
			mu.Lock()
			got = nil
			mu.Unlock()
			resp, body := do(t, "POST", srv.URL+tt.path, strings.NewReader(rerankBody),
				map[string]string{"Authorization": tt.authorization, "Content-Type": "application/json"})
			wantStatus(t, resp, body, tt.status)
			mu.Lock()
			defer mu.Unlock()
			if tt.status >= 400 {
				if got != nil {
					t.Fatal("a rejected call reached the provider")
				}
				return
			}
			if got.Host != tt.host || got.URL.Path != tt.path || got.Header.Get("Authorization") != tt.upstreamAuth ||
				got.Header.Get("Content-Type") != "application/json" {
				t.Errorf("provider got Host %q path %q Authorization %q Content-Type %q", got.Host, got.URL.Path,
					got.Header.Get("Authorization"), got.Header.Get("Content-Type"))
			}
		})
	}
}
