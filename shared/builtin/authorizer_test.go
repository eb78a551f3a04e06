package builtin_test

import (
	"bytes"
	"context"
	"errors"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/passthru/gateway/shared/auth"
	"github.com/passthru/gateway/shared/builtin"
	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/route"
	"github.com/passthru/gateway/shared/secrets"
	"github.com/passthru/gateway/shared/usage"
	"github.com/passthru/gateway/shared/wiring"
)

// failingAuthorizer cannot authorize (a token endpoint that is down) and reads no body.
type failingAuthorizer struct{}

func (failingAuthorizer) NeedsBody() bool { return false }
func (failingAuthorizer) Authorize(context.Context, *http.Request, []byte) error {
	return errors.New("token endpoint down")
}

// An Authorizer that fails leaves the request body unread; the answer (503) must not race
// the server's own read of the connection. Full duplex on at that point made net/http panic
// ("invalid concurrent Body.Read call") and drop the connection.
func TestAuthorizerFailureLeavesTheConnectionSound(t *testing.T) {
	up := newRecorder(t)
	withProvider(t, builtin.Provider{
		Name: "signed", Prefixes: []string{"/signed"}, Base: up.srv.URL,
		Credential: builtin.Credential{Kind: builtin.Authorized, Secrets: []string{"SIGNING_KEY"}},
		Authorizer: func(builtin.Options) route.Authorizer { return failingAuthorizer{} },
	})
	res := config.Parse([]byte("general_settings:\n  master_key: " + master + "\n"))
	table, _, err := builtin.NewTable(res.Config, builtin.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := wiring.NewHandler(wiring.Sources{Routes: table, Secrets: secrets.Inline{}, Keys: auth.NewMasterKey(master)}, usage.Discard{}, slog.New(slog.DiscardHandler), false)
	var serverLog lockedWriter
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(&serverLog, "", 0)
	srv.Start()
	t.Cleanup(srv.Close)

	const want = `{"error":{"message":"The provider credential for this route is unavailable; try again shortly.","type":"service_unavailable","param":"None","code":"503"}}`
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 10 {
				status, body := call{target: "/signed/x", body: strings.Repeat("b", 64<<10), header: map[string]string{"Authorization": "Bearer " + master}}.do(t, srv.URL)
				if status != 503 || body != want {
					t.Errorf("%d %s, want 503 %s", status, body, want)
				}
			}
		})
	}
	wg.Wait()
	if _, called := up.last(t); called {
		t.Error("the upstream was called")
	}
	if logged := serverLog.String(); strings.Contains(logged, "panic") {
		t.Errorf("the server panicked:\n%s", logged)
	}
}

// lockedWriter is a log buffer the handler's goroutines write to.
type lockedWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
