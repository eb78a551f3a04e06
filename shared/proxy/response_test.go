package proxy_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"strings"
	"testing"
	"time"

	"github.com/passthru/gateway/shared/proxy"
	"github.com/passthru/gateway/shared/route"
	"github.com/passthru/gateway/shared/usage"
)

const publicConfig = `
general_settings:
  master_key: sk-1234
  pass_through_endpoints:
    - path: /p
      target: "{{UP}}/p"
      include_subpath: true
      auth: false
      cost_per_request: 0.25
`

// Upstream statuses and bodies reach the client unchanged; only hop-by-hop headers go.
func TestUpstreamResponsesRelayedUnchanged(t *testing.T) {
	up := startUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		switch r.URL.Path {
		case "/p/no-content":
			w.WriteHeader(http.StatusNoContent)
		case "/p/multi":
			jsonReply(http.StatusMultiStatus, `{"successes":[],"errors":[]}`)(w, r)
		case "/p/error":
			jsonReply(http.StatusForbidden, `{"error":"Permission denied","error_code":"E1"}`)(w, r)
		case "/p/redirect":
			h.Set("Location", "http://169.254.169.254/latest/meta-data")
			w.WriteHeader(http.StatusFound)
		case "/p/headers":
			h.Set("X-Litellm-Call-Id", "upstream-id")
			h.Set("Connection", "X-Hop")
			h.Set("X-Hop", "1")
			h.Set("Keep-Alive", "timeout=5")
			h.Set("Set-Cookie", "a=b")
			h.Set("Content-Encoding", "gzip")
			_, _ = io.WriteString(w, "\x1f\x8b not really gzip")
		}
	})
	g := startGateway(t, publicConfig, up.URL)
	tests := []struct {
		path   string
		status int
		body   string
	}{
		{"/p/no-content", 204, ""},
		{"/p/multi", 207, `{"successes":[],"errors":[]}`},
		{"/p/error", 403, `{"error":"Permission denied","error_code":"E1"}`},
		{"/p/redirect", 302, ""},
		{"/p/headers", 200, "\x1f\x8b not really gzip"},
	}
	for _, tt := range tests {
		resp, body := rawRequest(t, g.URL, "GET "+tt.path)
		if resp.StatusCode != tt.status || string(body) != tt.body {
			t.Errorf("%s: got %d %q, want %d %q", tt.path, resp.StatusCode, body, tt.status, tt.body)
		}
		if !uuidPattern.MatchString(resp.Header.Get("X-Litellm-Call-Id")) {
			t.Errorf("%s: call id = %q, want the gateway's uuid", tt.path, resp.Header.Get("X-Litellm-Call-Id"))
		}
		switch tt.path {
		case "/p/redirect":
			if resp.Header.Get("Location") != "http://169.254.169.254/latest/meta-data" || up.count() == 0 {
				t.Errorf("redirect not relayed as is: %v", resp.Header)
			}
		case "/p/headers":
			if resp.Header.Get("X-Hop") != "" || resp.Header.Get("Keep-Alive") != "" {
				t.Errorf("hop-by-hop headers relayed: %v", resp.Header)
			}
			if resp.Header.Get("Set-Cookie") != "a=b" || resp.Header.Get("Content-Encoding") != "gzip" {
				t.Errorf("end-to-end headers lost: %v", resp.Header)
			}
		}
	}
	if n := up.count(); n != len(tests) {
		t.Errorf("upstream got %d requests, want %d (redirects are never followed)", n, len(tests))
	}
	// A call is recorded after its answer has left, so the next call may be recorded first:
	// the records are matched to the calls by their (distinct) statuses.
	byStatus := map[int]usage.Record{}
	for range tests {
		rec := g.usage.Next(t)
		byStatus[rec.Status] = rec
	}
	for _, tt := range tests {
		rec, ok := byStatus[tt.status]
		if !ok || rec.Route != "/p" {
			t.Errorf("no record of status %d on /p among %v", tt.status, byStatus)
			continue
		}
		wantCost := tt.status < 400
		if hasCost := rec.CostUSD != nil && *rec.CostUSD == 0.25 && rec.CostSource == "cost_per_request"; hasCost != wantCost {
			t.Errorf("%d: cost = %v %q, want cost_per_request 0.25: %v", tt.status, rec.CostUSD, rec.CostSource, wantCost)
		}
	}
}

func TestNotFoundAndMethodNotAllowed(t *testing.T) {
	const cfg = `
general_settings:
  master_key: sk-1234
  pass_through_endpoints:
    - {path: /v1/rerank, target: "{{UP}}/r", methods: [POST], auth: false}
    - {path: /v1/rerank, target: "{{UP}}/r2", methods: [get, PUT], auth: false}
`
	up := startUpstream(t, jsonReply(200, `{}`))
	g := startGateway(t, cfg, up.URL)

	resp, body := do(t, "DELETE", g.URL+"/v1/rerank", nil, nil)
	wantStatus(t, resp, body, 405)
	wantBody(t, body, errorJSON("405", "method_not_allowed", "Method DELETE is not allowed for pass-through endpoint /v1/rerank."))
	if got := resp.Header.Get("Allow"); got != "POST, GET, HEAD, PUT" {
		t.Errorf("Allow = %q", got)
	}
	resp, body = do(t, "POST", g.URL+"/v1/rerank/x", nil, nil)
	wantStatus(t, resp, body, 404)
	wantBody(t, body, errorJSON("404", "not_found_error", "Pass-through endpoint /v1/rerank/x not found."))
	if resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("404 content-type %q", resp.Header.Get("Content-Type"))
	}
	resp, body = do(t, "GET", g.URL+"/v1/rerank", nil, nil)
	wantStatus(t, resp, body, 200)
	if up.last(t).URI != "/r2" {
		t.Errorf("GET went to %s, want the GET endpoint /r2", up.last(t).URI)
	}
	for _, want := range []struct {
		status int
		class  string
	}{{405, "method"}, {404, "not_found"}, {200, ""}} {
		if rec := g.usage.Next(t); rec.Status != want.status || rec.ErrorClass != want.class {
			t.Errorf("record %+v, want status %d class %q", rec, want.status, want.class)
		}
	}
}

func TestMissingSecretAnswers503WithoutCallingUpstream(t *testing.T) {
	const cfg = `
general_settings:
  master_key: sk-1234
  pass_through_endpoints:
    - path: /x
      target: "{{UP}}/x"
      auth: false
      headers: {Authorization: "Bearer os.environ/ROTATED_AWAY"}
`
	up := startUpstream(t, jsonReply(200, `{}`))
	g := startGateway(t, cfg, up.URL)
	resp, body := do(t, "POST", g.URL+"/x", strings.NewReader(`{}`), nil)
	wantStatus(t, resp, body, 503)
	wantBody(t, body, errorJSON("503", "service_unavailable", `The provider credential for this route is unavailable: secret "ROTATED_AWAY" is not set.`))
	if up.count() != 0 {
		t.Fatal("request sent upstream without its credential")
	}
}

type failingRoutes struct{}

func (failingRoutes) Table(context.Context) (*route.Table, error) {
	return nil, errors.New("ssm: throttled")
}

type panickingSecrets struct{}

func (panickingSecrets) Resolve(context.Context, string) (string, error) { panic("boom") }

// A panic or an unavailable route table is a JSON error, and the server keeps serving.
func TestPanicAndRouteSourceFailure(t *testing.T) {
	const cfg = `
general_settings:
  master_key: sk-1234
  pass_through_endpoints:
    - {path: /x, target: "{{UP}}/x", auth: false, headers: {Authorization: "os.environ/A"}}
`
	up := startUpstream(t, jsonReply(200, `{}`))
	g := startGateway(t, cfg, up.URL, proxy.WithSecrets(panickingSecrets{}))
	for range 2 {
		resp, body := do(t, "POST", g.URL+"/x", strings.NewReader(`{}`), nil)
		wantStatus(t, resp, body, 500)
		wantBody(t, body, errorJSON("500", "internal_server_error", "Internal server error."))
	}
	if rec := g.usage.Next(t); rec.ErrorClass != "internal" || rec.Status != 500 {
		t.Errorf("record %+v", rec)
	}
	if !strings.Contains(g.logs.String(), "panic while serving") {
		t.Error("panic not logged")
	}

	h := proxy.New(failingRoutes{}, proxy.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	srv := startServer(t, h)
	resp, body := do(t, "GET", srv+"/x", nil, nil)
	wantStatus(t, resp, body, 503)
	wantBody(t, body, errorJSON("503", "service_unavailable", "The gateway's route table is unavailable; try again shortly."))
}

// An early answer (401, 404) to a request with a body leaves the connection usable.
func TestEarlyAnswersKeepConnectionAlive(t *testing.T) {
	up := startUpstream(t, jsonReply(200, `{}`))
	g := startGateway(t, cohereConfig, up.URL)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	body := strings.Repeat("x", 64<<10)
	var reused []bool
	for _, path := range []string{"/v1/rerank", "/nope", "/v1/rerank", "/v1/rerank"} {
		req, _ := http.NewRequest("POST", g.URL+path, strings.NewReader(body))
		if len(reused) == 3 {
			req.Header.Set("Authorization", "Bearer "+masterKey)
		}
		trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = append(reused, i.Reused) }}
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	want := []bool{false, true, true, true}
	for i := range want {
		if reused[i] != want[i] {
			t.Fatalf("connection reuse = %v, want %v", reused, want)
		}
	}
	if string(up.last(t).Body) != body {
		t.Error("the body after early answers arrived damaged")
	}
}

// gatedSink holds every Record until its gate opens.
type gatedSink struct {
	entered chan struct{}
	gate    chan struct{}
}

func (s gatedSink) Record(context.Context, usage.Record) {
	s.entered <- struct{}{}
	<-s.gate
}

// A response that is not a stream reaches the client when its last byte is relayed, not when
// the call has been metered and recorded: the record's work (or a slow sink) adds nothing to the
// caller's latency. The declared-length and empty cases fail without the last-chunk flush; the
// chunked case guards the stream path (an answer of unknown length is flushed as it goes).
func TestAnswerLeavesBeforeTheCallIsRecorded(t *testing.T) {
	const json = `{"results":[{"index":0,"relevance_score":0.9}],"meta":{"billed_units":{"search_units":1}}}`
	cases := []struct {
		name    string
		answer  string
		chunked bool
	}{
		{"declared length", json, false},
		{"chunked", json, true},
		{"empty, declared length 0", "", false}, // no chunk to send: flushed at the end of the body
	}
	for _, c := range cases {
		answer, chunked := c.answer, c.chunked
		t.Run(c.name, func(t *testing.T) {
			up := startUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if chunked {
					w.(http.Flusher).Flush() // headers first: no Content-Length
				}
				if answer == "" {
					w.Header().Set("Content-Length", "0")
				}
				_, _ = io.WriteString(w, answer)
			})
			sink := gatedSink{entered: make(chan struct{}, 1), gate: make(chan struct{})}
			g := startGateway(t, cohereConfig, up.URL, proxy.WithUsage(sink))
			defer close(sink.gate)
			got := make(chan string, 1)
			go func() {
				req, _ := http.NewRequest(http.MethodPost, g.URL+"/v1/rerank", strings.NewReader(`{"query":"q"}`))
				req.Header.Set("Authorization", "Bearer "+masterKey)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					got <- err.Error()
					return
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(io.LimitReader(resp.Body, int64(len(answer))))
				got <- string(b)
			}()
			select {
			case <-sink.entered:
			case <-time.After(10 * time.Second):
				t.Fatal("the call was never recorded")
			}
			select {
			case b := <-got:
				if b != answer {
					t.Fatalf("client got %q, want %q", b, answer)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the client had no answer while the call was being recorded")
			}
		})
	}
}
