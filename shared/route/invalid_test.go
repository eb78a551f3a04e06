package route_test

import "testing"

// A path recorded as an invalid route is reported as such only when nothing serves it: served
// routes (exact or prefix) and 405s win, and an include_subpath one covers its subpaths on a "/"
// boundary.
func TestLookupInvalid(t *testing.T) {
	tbl := tableOf(t,
		ep("rerank", "/v1/rerank", false, "POST"),
		ep("anthropic", "/anthropic", true, "POST"),
	)
	tbl.AddInvalid("/v1/broken", false)
	tbl.AddInvalid("/bedrock", true)
	tbl.AddInvalid("/v1/rerank", false)           // a bad duplicate of a served route
	tbl.AddInvalid("/anthropic/v1/legacy", false) // under a served prefix
	for _, c := range []struct {
		method, path string
		route        bool
		allowed      int
		invalid      bool
	}{
		{"POST", "/v1/broken", false, 0, true},
		{"GET", "/v1/broken", false, 0, true},
		{"POST", "/v1/broken/x", false, 0, false}, // not include_subpath
		{"POST", "/v1/brokenx", false, 0, false},
		{"POST", "/bedrock", false, 0, true},
		{"POST", "/bedrock/model/x/converse", false, 0, true},
		{"POST", "/bedrockx", false, 0, false},
		{"POST", "/v1/rerank", true, 0, false},
		{"GET", "/v1/rerank", false, 1, false}, // a 405 stays a 405
		{"POST", "/anthropic/v1/legacy", true, 0, false},
		{"POST", "/nothing", false, 0, false},
	} {
		m := tbl.Lookup(c.method, c.path)
		if (m.Route != nil) != c.route || len(m.Allowed) != c.allowed || m.Invalid != c.invalid {
			t.Errorf("%s %s: route %v, allowed %v, invalid %v; want route %v, %d allowed, invalid %v",
				c.method, c.path, m.Route != nil, m.Allowed, m.Invalid, c.route, c.allowed, c.invalid)
		}
	}
	if m := tableOf(t, ep("a", "/a", false, "GET")).Lookup("GET", "/b"); m.Invalid {
		t.Error("a table without invalid routes reported one")
	}
}
