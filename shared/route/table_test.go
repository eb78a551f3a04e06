package route_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/route"
)

// tableOf builds a table of routes; each route's ID names it in failures.
func tableOf(t *testing.T, eps ...config.Endpoint) *route.Table {
	t.Helper()
	cfg := &config.Config{}
	for i := range eps {
		eps[i].Index = i
		if eps[i].Target == "" {
			eps[i].Target = "https://up.example.com/" + eps[i].ID
		}
	}
	cfg.Endpoints = eps
	tbl, err := route.NewTable(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

func ep(id, path string, subpath bool, methods ...string) config.Endpoint {
	return config.Endpoint{ID: id, Path: path, IncludeSubpath: subpath, Methods: methods}
}

type lookupCase struct {
	method, path string
	wantID       string // "" for no route
	wantSubpath  string
	wantAllowed  []string
}

func checkLookups(t *testing.T, tbl *route.Table, cases []lookupCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			m := tbl.Lookup(c.method, c.path)
			gotID := ""
			if m.Route != nil {
				gotID = m.Route.ID
			}
			if gotID != c.wantID {
				t.Errorf("Lookup(%s %s).Route = %q, want %q", c.method, c.path, gotID, c.wantID)
			}
			if m.Subpath != c.wantSubpath {
				t.Errorf("Lookup(%s %s).Subpath = %q, want %q", c.method, c.path, m.Subpath, c.wantSubpath)
			}
			if !slices.Equal(m.Allowed, c.wantAllowed) {
				t.Errorf("Lookup(%s %s).Allowed = %q, want %q", c.method, c.path, m.Allowed, c.wantAllowed)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	tbl := tableOf(t,
		ep("rerank", "/v1/rerank", false, "POST"),
		ep("bria", "/bria", true, "GET", "POST"),
		ep("a", "/a", true, "GET"),
		ep("ab", "/a/b", true, "GET"),
		ep("x", "/x", true, "GET"),
		ep("xy", "/x/y", false, "POST"),
		ep("same-get", "/same", false, "GET"),
		ep("same-post", "/same", false, "POST"),
		ep("exact-only", "/exact-only", false, "GET"),
		ep("slash", "/slash/", true, "GET"),
	)
	checkLookups(t, tbl, []lookupCase{
		// exact
		{"POST", "/v1/rerank", "rerank", "", nil},
		{"GET", "/v1/rerank", "", "", []string{"POST"}},
		{"POST", "/v1/rerank/x", "", "", nil},
		{"POST", "/v1/rerankx", "", "", nil},
		{"POST", "/v1", "", "", nil},
		{"GET", "/exact-only/z", "", "", nil},
		// include_subpath: "/" boundary only
		{"GET", "/bria", "bria", "", nil},
		{"POST", "/bria/", "bria", "/", nil},
		{"GET", "/bria/v1/text-to-image/base/2.3", "bria", "/v1/text-to-image/base/2.3", nil},
		{"GET", "/briax", "", "", nil},
		{"GET", "/briax/y", "", "", nil},
		{"GET", "/bri", "", "", nil},
		{"DELETE", "/bria", "", "", []string{"GET", "HEAD", "POST"}},
		{"DELETE", "/bria/x", "", "", []string{"GET", "HEAD", "POST"}},
		// longest prefix wins
		{"GET", "/a/b/c", "ab", "/c", nil},
		{"GET", "/a/b/c/d", "ab", "/c/d", nil},
		{"GET", "/a/bc", "a", "/bc", nil},
		{"GET", "/a/x/b", "a", "/x/b", nil},
		{"GET", "/a/b", "ab", "", nil},
		{"GET", "/a", "a", "", nil},
		// exact beats prefix; a prefix still serves the methods the exact route lacks
		{"POST", "/x/y", "xy", "", nil},
		{"GET", "/x/y", "x", "/y", nil},
		{"GET", "/x/y/z", "x", "/y/z", nil},
		{"POST", "/x/y/z", "", "", []string{"GET", "HEAD"}},
		// same path, two endpoints
		{"GET", "/same", "same-get", "", nil},
		{"POST", "/same", "same-post", "", nil},
		{"PUT", "/same", "", "", []string{"GET", "HEAD", "POST"}},
		// a route path with a trailing slash
		{"GET", "/slash/", "slash", "", nil},
		{"GET", "/slash/q", "slash", "/q", nil},
		// unknown
		{"GET", "/", "", "", nil},
		{"GET", "/unknown", "", "", nil},
		{"GET", "", "", "", nil},
	})
}

func TestLookupRoot(t *testing.T) {
	tbl := tableOf(t,
		ep("root", "/", true, "GET", "POST"),
		ep("v1", "/v1", false, "POST"),
	)
	checkLookups(t, tbl, []lookupCase{
		{"GET", "/", "root", "", nil},
		{"GET", "/anything", "root", "/anything", nil},
		{"POST", "/anything/deep/er/", "root", "/anything/deep/er/", nil},
		{"POST", "/v1", "v1", "", nil},
		{"GET", "/v1", "root", "/v1", nil},
		{"GET", "/v1/x", "root", "/v1/x", nil},
		{"DELETE", "/x", "", "", []string{"GET", "HEAD", "POST"}},
	})
}

// A 405's Allow list must name every method that would be served at the path, including a
// method that a shorter include_subpath route would serve (RFC 9110 §15.5.6).
func TestLookupAllowedListsEveryServingRoute(t *testing.T) {
	tbl := tableOf(t,
		ep("x", "/x", true, "GET"),
		ep("xy", "/x/y", false, "POST"),
	)
	m := tbl.Lookup("DELETE", "/x/y")
	if m.Route != nil {
		t.Fatalf("DELETE /x/y matched %q, want none", m.Route.ID)
	}
	got := slices.Clone(m.Allowed)
	slices.Sort(got)
	got = slices.Compact(got)
	if want := []string{"GET", "HEAD", "POST"}; !slices.Equal(got, want) {
		t.Errorf("Allowed = %q, want %q: GET (and so HEAD) /x/y is served by the /x route", m.Allowed, want)
	}
}

func TestLookupDispatchesToTarget(t *testing.T) {
	tbl := tableOf(t,
		config.Endpoint{ID: "get", Path: "/v1/rerank", Target: "https://api.cohere.com/v1/models", Methods: []string{"GET"}},
		config.Endpoint{ID: "post", Path: "/v1/rerank", Target: "https://api.cohere.com/v1/rerank", Methods: []string{"POST"}},
	)
	for method, want := range map[string]string{"GET": "https://api.cohere.com/v1/models", "POST": "https://api.cohere.com/v1/rerank"} {
		m := tbl.Lookup(method, "/v1/rerank")
		if m.Route == nil {
			t.Fatalf("%s /v1/rerank: no route", method)
		}
		u, err := m.Route.UpstreamURL(m.Subpath, "")
		if err != nil || u.String() != want {
			t.Errorf("%s /v1/rerank -> %v, %v; want %s", method, u, err, want)
		}
	}
}

// The table and the URL builder together: a subpath escape attempt lands under the target.
func TestLookupThenUpstreamURL(t *testing.T) {
	tbl := tableOf(t, config.Endpoint{
		ID: "bria", Path: "/bria", Target: "https://engine.example.com/api", IncludeSubpath: true,
		Methods: []string{"POST"}, MergeQueryParams: true,
		DefaultQueryParams: []config.Param{{Name: "v", Value: "1"}, {Name: "tenant", Value: "a"}},
	})
	tests := []struct{ path, query, want string }{
		{"/bria/v1/run", "tenant=b&x=1", "https://engine.example.com/api/v1/run?v=1&tenant=b&x=1"},
		{"/bria/../../etc", "", "https://engine.example.com/api/etc?v=1&tenant=a"},
		{"/bria", "", "https://engine.example.com/api?v=1&tenant=a"},
		{"/bria/", "", "https://engine.example.com/api/?v=1&tenant=a"},
	}
	for _, tt := range tests {
		m := tbl.Lookup("POST", tt.path)
		if m.Route == nil {
			t.Errorf("POST %s: no route", tt.path)
			continue
		}
		u, err := m.Route.UpstreamURL(m.Subpath, tt.query)
		if err != nil || u.String() != tt.want {
			t.Errorf("POST %s?%s -> %v, %v; want %s", tt.path, tt.query, u, err, tt.want)
		}
	}
}

const tableDoc = `general_settings:
  pass_through_request_timeout: 120
  pass_through_endpoints:
    - id: rerank
      path: /v1/rerank
      target: "https://api.cohere.com/v1/rerank?client=gw"
      include_subpath: true
      methods: [POST, PUT]
      auth: true
      timeout: 30
    - path: /private
      target: "https://internal.example.com:8443/p"
      methods: [GET]
      auth: false
    - path: /any
      target: https://any.example.com
      methods: [GET]
`

func TestNewTable(t *testing.T) {
	res := config.Parse([]byte(tableDoc))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	tbl, err := route.NewTable(res.Config)
	if err != nil {
		t.Fatal(err)
	}
	routes := tbl.Routes()
	var paths []string
	for _, r := range routes {
		paths = append(paths, r.Path)
	}
	if want := []string{"/v1/rerank", "/private", "/any"}; !slices.Equal(paths, want) {
		t.Fatalf("Routes() paths = %q, want %q", paths, want)
	}
	for i, want := range []time.Duration{30 * time.Second, 120 * time.Second, 120 * time.Second} {
		if routes[i].Timeout != want {
			t.Errorf("route %s Timeout = %v, want %v", routes[i].Path, routes[i].Timeout, want)
		}
	}
	wantString := "/v1/rerank/** [POST PUT] -> https://api.cohere.com/v1/rerank?client=gw (auth granted-keys)\n" +
		"/private [GET] -> https://internal.example.com:8443/p (auth public)\n" +
		"/any [GET] -> https://any.example.com (auth any-key)\n"
	s := tbl.String()
	if s != wantString {
		t.Errorf("String() =\n%s\nwant\n%s", s, wantString)
	}
	same, err := tbl.Table(context.Background())
	if same != tbl || err != nil {
		t.Errorf("Table() = %p, %v; want the table itself", same, err)
	}
	if m := tbl.Lookup("PUT", "/v1/rerank/v2"); m.Route == nil || m.Route.ID != "rerank" || m.Subpath != "/v2" {
		t.Errorf("Lookup(PUT /v1/rerank/v2) = %+v", m)
	}
}

func TestNewTableError(t *testing.T) {
	cfg := &config.Config{Endpoints: []config.Endpoint{
		{Index: 0, Path: "/ok", Target: "https://h.example.com", Methods: []string{"GET"}},
		{Index: 1, Path: "/bad", Target: "https://h.example.com/?a=%zz", Methods: []string{"GET"}},
	}}
	tbl, err := route.NewTable(cfg)
	if tbl != nil {
		t.Errorf("NewTable = %v, want nil on error", tbl)
	}
	if want := `pass_through_endpoints[1] (/bad): target query: malformed value for query parameter "a"`; err == nil || err.Error() != want {
		t.Errorf("NewTable error = %v, want %q", err, want)
	}
}
