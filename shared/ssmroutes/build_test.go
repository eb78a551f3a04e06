package ssmroutes_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/passthru/gateway/shared/ssmroutes"
)

// wantRoute is what a test expects of one endpoint in a built configuration.
type wantRoute struct {
	Index        int
	Path, Target string
	Methods      []string
}

func routesOf(s *ssmroutes.Snapshot) []wantRoute {
	var out []wantRoute
	for _, e := range s.Config.Endpoints {
		out = append(out, wantRoute{Index: e.Index, Path: e.Path, Target: e.Target, Methods: e.Methods})
	}
	return out
}

var all = []string{"GET", "POST", "PUT", "DELETE", "PATCH"}

func TestBuild(t *testing.T) {
	const (
		a, b, c  = "/gw/routes/a", "/gw/routes/b", "/gw/routes/c"
		settings = "/gw/settings"
	)
	tests := []struct {
		name     string
		lastGood []ssmroutes.Parameter // built first, without a last good snapshot, when set
		params   []ssmroutes.Parameter

		routes    []wantRoute
		masterKey string
		timeout   time.Duration
		versions  map[string]int64
		rejected  []ssmroutes.Rejected
		kept      []ssmroutes.Rejected
	}{
		{
			name: "settings and routes in name order",
			params: []ssmroutes.Parameter{
				{Name: c, Value: spec("/c", "https://c.example/v1"), Version: 7},
				{Name: settings, Value: `{"master_key":"os.environ/LITELLM_MASTER_KEY","pass_through_request_timeout":12.5}`, Version: 3},
				{Name: a, Value: spec("/a", "https://a.example"), Version: 1},
				{Name: "/gw/other/thing", Value: "not a route", Version: 1},
				{Name: "/gw/routes-not/x", Value: "not a route", Version: 1},
				{Name: b, Value: `{"path":"/b","target":"https://b.example","methods":["POST"]}`, Version: 2},
			},
			routes: []wantRoute{
				{0, "/a", "https://a.example", all},
				{1, "/b", "https://b.example", []string{"POST"}},
				{2, "/c", "https://c.example/v1", all},
			},
			masterKey: "os.environ/LITELLM_MASTER_KEY",
			timeout:   12500 * time.Millisecond,
			versions:  map[string]int64{a: 1, b: 2, c: 7, settings: 3},
		},
		{
			name:     "no settings parameter",
			params:   []ssmroutes.Parameter{{Name: a, Value: spec("/a", "https://a.example"), Version: 4}},
			routes:   []wantRoute{{0, "/a", "https://a.example", all}},
			versions: map[string]int64{a: 4},
		},
		{
			name: "an invalid route is rejected, the others are served",
			params: []ssmroutes.Parameter{
				{Name: a, Value: spec("/a", "https://a.example"), Version: 1},
				{Name: b, Value: `{"path":"/b"}`, Version: 4},
				{Name: c, Value: spec("/c", "https://c.example"), Version: 2},
				{Name: "/gw/routes/d", Value: `{}`, Version: 9},
				{Name: "/gw/routes/e", Value: `{"path":"/e","target":"ftp://e.example"`, Version: 1},
			},
			routes:   []wantRoute{{0, "/a", "https://a.example", all}, {1, "/c", "https://c.example", all}},
			versions: map[string]int64{a: 1, c: 2},
			rejected: []ssmroutes.Rejected{
				{Name: b, Version: 4, Reason: "pass_through_endpoints[0] (/b): target: is required", Path: "/b"},
				{Name: "/gw/routes/d", Version: 9, Reason: "pass_through_endpoints[0]: path: is required; pass_through_endpoints[0]: target: is required"},
				{Name: "/gw/routes/e", Version: 1, Reason: "endpoint is not valid JSON or YAML: yaml: line 1: did not find expected ',' or '}'", Path: "/e"},
			},
		},
		{
			name: "an invalid new version keeps the last good one",
			lastGood: []ssmroutes.Parameter{
				{Name: a, Value: spec("/a", "https://a-v1.example"), Version: 1},
				{Name: b, Value: spec("/b", "https://b.example"), Version: 3},
			},
			params: []ssmroutes.Parameter{
				{Name: a, Value: `{"path":"/a","target":"https://a-v2.example","methods":"POST"}`, Version: 2},
				{Name: b, Value: spec("/b", "https://b.example/v4"), Version: 4},
			},
			routes:   []wantRoute{{0, "/a", "https://a-v1.example", all}, {1, "/b", "https://b.example/v4", all}},
			versions: map[string]int64{a: 1, b: 4},
			kept: []ssmroutes.Rejected{
				{Name: a, Version: 2, Reason: "pass_through_endpoints[0] (/a): methods: must be a list such as [POST] (line 1)", Path: "/a"},
			},
		},
		{
			name:     "an invalid route the last good table did not serve is rejected",
			lastGood: []ssmroutes.Parameter{{Name: a, Value: spec("/a", "https://a.example"), Version: 1}},
			params: []ssmroutes.Parameter{
				{Name: a, Value: spec("/a", "https://a.example"), Version: 1},
				{Name: b, Value: `{"target":"https://b.example"}`, Version: 1},
			},
			routes:   []wantRoute{{0, "/a", "https://a.example", all}},
			versions: map[string]int64{a: 1},
			rejected: []ssmroutes.Rejected{{Name: b, Version: 1, Reason: "pass_through_endpoints[0]: path: is required"}},
		},
		{
			name: "a route deleted since the last good table is gone",
			lastGood: []ssmroutes.Parameter{
				{Name: a, Value: spec("/a", "https://a.example"), Version: 1},
				{Name: b, Value: spec("/b", "https://b.example"), Version: 1},
			},
			params:   []ssmroutes.Parameter{{Name: b, Value: spec("/b", "https://b.example"), Version: 1}},
			routes:   []wantRoute{{0, "/b", "https://b.example", all}},
			versions: map[string]int64{b: 1},
		},
		{
			name: "invalid settings keep the last good settings",
			lastGood: []ssmroutes.Parameter{
				{Name: settings, Value: `{"master_key":"os.environ/K1","pass_through_request_timeout":30}`, Version: 1},
				{Name: a, Value: spec("/a", "https://a.example"), Version: 1},
			},
			params: []ssmroutes.Parameter{
				{Name: settings, Value: `{"master_key":"os.environ/K2","pass_through_request_timeout":-1}`, Version: 2},
				{Name: a, Value: spec("/a", "https://a.example"), Version: 1},
			},
			routes:    []wantRoute{{0, "/a", "https://a.example", all}},
			masterKey: "os.environ/K1",
			timeout:   30 * time.Second,
			versions:  map[string]int64{a: 1, settings: 1},
			kept: []ssmroutes.Rejected{
				{Name: settings, Version: 2, Reason: "invalid settings: pass_through_request_timeout must not be negative"},
			},
		},
		{
			name: "invalid settings without a last good table are rejected",
			params: []ssmroutes.Parameter{
				{Name: settings, Value: `{"master_key":["x"]}`, Version: 5},
				{Name: a, Value: spec("/a", "https://a.example"), Version: 1},
			},
			routes:   []wantRoute{{0, "/a", "https://a.example", all}},
			versions: map[string]int64{a: 1},
			rejected: []ssmroutes.Rejected{
				{Name: settings, Version: 5, Reason: "invalid settings: json: cannot unmarshal array into Go struct field Settings.master_key of type string"},
			},
		},
		{
			// The last good table had no valid settings either: there is nothing to keep, so the
			// settings are rejected, and no settings version is in use.
			name: "invalid settings when the last good table had none are rejected",
			lastGood: []ssmroutes.Parameter{
				{Name: settings, Value: `not json`, Version: 1},
				{Name: a, Value: spec("/a", "https://a.example"), Version: 1},
			},
			params: []ssmroutes.Parameter{
				{Name: settings, Value: `not json`, Version: 1},
				{Name: a, Value: spec("/a", "https://a.example"), Version: 1},
			},
			routes:   []wantRoute{{0, "/a", "https://a.example", all}},
			versions: map[string]int64{a: 1},
			rejected: []ssmroutes.Rejected{
				{Name: settings, Version: 1, Reason: "invalid settings: invalid character 'o' in literal null (expecting 'u')"},
			},
		},
		{
			name: "the later-named of two routes on one path and method is rejected",
			params: []ssmroutes.Parameter{
				{Name: c, Value: spec("/c", "https://c.example"), Version: 1},
				{Name: b, Value: `{"path":"/x","target":"https://b.example","methods":["POST"]}`, Version: 6},
				{Name: a, Value: spec("/x", "https://a.example"), Version: 2},
			},
			routes:   []wantRoute{{0, "/x", "https://a.example", all}, {1, "/c", "https://c.example", all}},
			versions: map[string]int64{a: 2, c: 1},
			rejected: []ssmroutes.Rejected{{Name: b, Version: 6, Reason: "POST /x is already served by /gw/routes/a", Conflict: true}},
		},
		{
			name: "a prefix route collides with an exact route on its prefix",
			params: []ssmroutes.Parameter{
				{Name: a, Value: `{"path":"/x/","target":"https://a.example","include_subpath":true}`, Version: 1},
				{Name: b, Value: `{"path":"/x","target":"https://b.example","include_subpath":true}`, Version: 1},
			},
			routes:   []wantRoute{{0, "/x/", "https://a.example", all}},
			versions: map[string]int64{a: 1},
			rejected: []ssmroutes.Rejected{{Name: b, Version: 1, Reason: "GET /x is already served by /gw/routes/a", Conflict: true}},
		},
		{
			// b is dropped for its POST; c's GET collides with nothing that is served, so c stays.
			name: "a route that collides only with a rejected route is served",
			params: []ssmroutes.Parameter{
				{Name: a, Value: `{"path":"/x","target":"https://a.example","methods":["POST"]}`, Version: 1},
				{Name: b, Value: `{"path":"/x","target":"https://b.example","methods":["GET","POST"]}`, Version: 1},
				{Name: c, Value: `{"path":"/x","target":"https://c.example","methods":["GET"]}`, Version: 1},
			},
			routes: []wantRoute{
				{0, "/x", "https://a.example", []string{"POST"}},
				{1, "/x", "https://c.example", []string{"GET"}},
			},
			versions: map[string]int64{a: 1, c: 1},
			rejected: []ssmroutes.Rejected{{Name: b, Version: 1, Reason: "POST /x is already served by /gw/routes/a", Conflict: true}},
		},
		{
			// It names its path (for the "exists but is invalid" 404), but the valid route serves it.
			name: "an invalid route claims no path",
			params: []ssmroutes.Parameter{
				{Name: a, Value: `{"path":"/x","target":"not a url"}`, Version: 1},
				{Name: b, Value: spec("/x", "https://b.example"), Version: 1},
			},
			routes:   []wantRoute{{0, "/x", "https://b.example", all}},
			versions: map[string]int64{b: 1},
			rejected: []ssmroutes.Rejected{{Name: a, Version: 1, Reason: `pass_through_endpoints[0] (/x): target: "not a url" must be an absolute http:// or https:// URL`, Path: "/x"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var last *ssmroutes.Snapshot
			if tt.lastGood != nil {
				last = ssmroutes.Build("gw", tt.lastGood, nil)
			}
			s := ssmroutes.Build("/gw/", tt.params, last)
			if got := routesOf(s); !reflect.DeepEqual(got, tt.routes) {
				t.Errorf("routes =\n%+v\nwant\n%+v", got, tt.routes)
			}
			if s.Config.MasterKey != tt.masterKey || s.Config.RequestTimeout != tt.timeout {
				t.Errorf("settings = %q, %v; want %q, %v", s.Config.MasterKey, s.Config.RequestTimeout, tt.masterKey, tt.timeout)
			}
			if !reflect.DeepEqual(s.Versions, tt.versions) {
				t.Errorf("Versions = %v, want %v", s.Versions, tt.versions)
			}
			if !reflect.DeepEqual(s.Rejected, tt.rejected) {
				t.Errorf("Rejected =\n%+v\nwant\n%+v", s.Rejected, tt.rejected)
			}
			if !reflect.DeepEqual(s.Kept, tt.kept) {
				t.Errorf("Kept =\n%+v\nwant\n%+v", s.Kept, tt.kept)
			}
		})
	}
}

// A route kept from the last good table stays kept, at its good version, reload after reload.
func TestBuildKeepsAcrossGenerations(t *testing.T) {
	const a = "/gw/routes/a"
	good := ssmroutes.Build("gw", []ssmroutes.Parameter{{Name: a, Value: spec("/a", "https://good.example"), Version: 1}}, nil)
	bad := []ssmroutes.Parameter{{Name: a, Value: `{"path":"/a"}`, Version: 2}}
	s := good
	for gen := range 3 {
		s = ssmroutes.Build("gw", bad, s)
		if got := routesOf(s); !reflect.DeepEqual(got, []wantRoute{{0, "/a", "https://good.example", all}}) {
			t.Fatalf("generation %d: routes = %+v", gen, got)
		}
		if !reflect.DeepEqual(s.Versions, map[string]int64{a: 1}) || len(s.Kept) != 1 || s.Kept[0].Version != 2 || s.Rejected != nil {
			t.Fatalf("generation %d: Versions %v Kept %+v Rejected %+v", gen, s.Versions, s.Kept, s.Rejected)
		}
	}
	// Fixed at version 3: served as stored, nothing kept.
	s = ssmroutes.Build("gw", []ssmroutes.Parameter{{Name: a, Value: spec("/a", "https://fixed.example"), Version: 3}}, s)
	if got := routesOf(s); !reflect.DeepEqual(got, []wantRoute{{0, "/a", "https://fixed.example", all}}) || s.Versions[a] != 3 || s.Kept != nil {
		t.Errorf("after the fix: routes %+v Versions %v Kept %+v", got, s.Versions, s.Kept)
	}
}
