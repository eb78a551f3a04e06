package proxy_test

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/proxy"
	"github.com/passthru/gateway/shared/route"
	"github.com/passthru/gateway/shared/usage/usagetest"
)

// refusing is a ResponseWriter that stops taking the body after limit bytes and will send the
// caller a 502 instead, as the Lambda adapter's buffered writer does for a response too large
// for a buffered invocation.
type refusing struct {
	*httptest.ResponseRecorder
	limit, n int
	over     bool
}

func (w *refusing) Write(p []byte) (int, error) {
	if w.n+len(p) > w.limit {
		w.over = true
		return 0, errors.New("over the limit")
	}
	w.n += len(p)
	return w.ResponseRecorder.Write(p)
}

func (w *refusing) ReplacedResponse(bool) (int, string, bool) {
	return http.StatusBadGateway, "response_too_large", w.over
}

// The usage record says what the caller really got: a writer that replaces the response turns a
// 200 (cut short by the refused write, which alone would read as a client disconnect) into its
// 502 and error class, not partial; a writer that did not replace it leaves the record alone.
func TestRecordFollowsAReplacedResponse(t *testing.T) {
	up := startUpstream(t, jsonReply(200, `{"data":"`+strings.Repeat("x", 100_000)+`"}`))
	res := config.Parse([]byte(`
general_settings:
  pass_through_endpoints:
    - {path: /big, target: "` + up.URL + `/big", auth: false}
`))
	table, err := route.NewTable(res.Config)
	if err != nil {
		t.Fatal(err)
	}
	recs := usagetest.NewSink()
	h := proxy.New(table, proxy.WithUsage(recs), proxy.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	for _, tt := range []struct {
		limit, status int
		class         string
	}{
		{1 << 20, 200, ""},
		{10_000, 502, "response_too_large"},
	} {
		w := &refusing{ResponseRecorder: httptest.NewRecorder(), limit: tt.limit}
		h.ServeHTTP(w, httptest.NewRequest("POST", "/big", strings.NewReader(`{}`)))
		rec := recs.Next(t)
		if rec.Status != tt.status || rec.ErrorClass != tt.class || rec.Partial {
			t.Errorf("limit %d: record %d %q partial %v, want %d %q", tt.limit, rec.Status, rec.ErrorClass, rec.Partial, tt.status, tt.class)
		}
		if rec.CallID != w.Header().Get(proxy.CallIDHeader) {
			t.Errorf("record call id %q, header %q", rec.CallID, w.Header().Get(proxy.CallIDHeader))
		}
	}
}
