package route_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/route"
	"github.com/passthru/gateway/shared/secrets"
)

func mustParseURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatalf("url.Parse(%q): %v", s, err)
	}
	return u
}

func mustNew(t *testing.T, e config.Endpoint) *route.Route {
	t.Helper()
	if e.Methods == nil {
		e.Methods = slices.Clone(config.DefaultMethods)
	}
	r, err := route.New(&e, config.DefaultTimeout)
	if err != nil {
		t.Fatalf("route.New(%s): %v", e.Name(), err)
	}
	return r
}

func TestJoinSubpath(t *testing.T) {
	const api = "https://engine.example.com/api"
	tests := []struct {
		name     string
		target   string
		subpath  string
		want     string // the result's String()
		wantPath string // the result's decoded Path
		wantErr  string
	}{
		{"normal subpath", api, "/v1/run", api + "/v1/run", "/api/v1/run", ""},
		{"subpath without leading slash", api, "v1/run", api + "/v1/run", "/api/v1/run", ""},
		{"trailing slash kept", api, "/v1/run/", api + "/v1/run/", "/api/v1/run/", ""},
		{"slash alone", api, "/", api + "/", "/api/", ""},
		{"empty subpath", api, "", api, "/api", ""},
		{"dot dot alone", api, "/..", api, "/api", ""},
		{"dot dot with trailing slash", api, "/../", api + "/", "/api/", ""},
		{"litellm documented escape", api, "/../../etc", api + "/etc", "/api/etc", ""},
		{"deep escape", api, "/v1/../../../../etc/passwd", api + "/etc/passwd", "/api/etc/passwd", ""},
		{"dot dot inside", api, "/v1/x/../run", api + "/v1/run", "/api/v1/run", ""},
		{"dot segments collapsed", api, "/./a/./b/.", api + "/a/b", "/api/a/b", ""},
		{"empty segments collapsed", api, "//a///b//", api + "/a/b/", "/api/a/b/", ""},
		{"protocol-relative attempt", api, "//evil.com/x", api + "/evil.com/x", "/api/evil.com/x", ""},
		{"three dots is a name", api, "/.../x", api + "/.../x", "/api/.../x", ""},
		{"space escaped", api, "/a b", api + "/a%20b", "/api/a b", ""},
		{"encoded percent kept", api, "/100%25", api + "/100%25", "/api/100%", ""},
		{"bare percent refused", api, "/100%", "", "", `invalid URL escape "%"`},
		{"encoded dot dot resolved", api, "/%2e%2e/x", api + "/x", "/api/x", ""},
		{"question mark escaped", api, "/a?b=1", api + "/a%3Fb=1", "/api/a?b=1", ""},
		{"hash escaped", api, "/a#b", api + "/a%23b", "/api/a#b", ""},
		{"unicode escaped", api, "/café", api + "/caf%C3%A9", "/api/café", ""},
		{"at sign in segment", api, "/@evil.com", api + "/@evil.com", "/api/@evil.com", ""},
		{"backslash refused", api, `/a\b`, "", "", `path segment "a\\b" contains a backslash`},
		{"backslash escape refused", api, `/..\..\etc`, "", "", "contains a backslash"},
		{"backslash after dot dot refused", api, `/../\evil.com`, "", "", "contains a backslash"},
		{"target with trailing slash", api + "/", "/v1", api + "/v1", "/api/v1", ""},
		{"target with trailing slash, empty subpath", api + "/", "", api + "/", "/api/", ""},
		{"target with trailing slash, escape", api + "/", "/../..", api + "/", "/api/", ""},
		{"target without path", "https://engine.example.com", "/v1/run", "https://engine.example.com/v1/run", "/v1/run", ""},
		{"target without path, slash", "https://engine.example.com", "/", "https://engine.example.com/", "/", ""},
		{"target without path, escape", "https://engine.example.com", "/../../etc", "https://engine.example.com/etc", "/etc", ""},
		{"target without path, protocol-relative", "https://engine.example.com", "//evil.com/x", "https://engine.example.com/evil.com/x", "/evil.com/x", ""},
		{"target root path", "https://engine.example.com/", "/v1", "https://engine.example.com/v1", "/v1", ""},
		{"target query kept, subpath in path", "https://h.example.com/p?t=a", "/v1/run", "https://h.example.com/p/v1/run?t=a", "/p/v1/run", ""},
		{"target userinfo and port", "https://user:pw@h.example.com:8443/base", "/../x", "https://user:pw@h.example.com:8443/base/x", "/base/x", ""},
		{"target escaped path", "https://h.example.com/a%20b", "/c d", "https://h.example.com/a%20b/c%20d", "/a b/c d", ""},
		{"target encoded slash kept", "https://h.example.com/a%2Fb", "/c", "https://h.example.com/a%2Fb/c", "/a/b/c", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := mustParseURL(t, tt.target)
			before := target.String()
			got, err := route.JoinSubpath(target, tt.subpath)
			if target.String() != before {
				t.Errorf("JoinSubpath modified the target: %q, was %q", target.String(), before)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("JoinSubpath(%q, %q) = %v, %v; want error containing %q", tt.target, tt.subpath, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("JoinSubpath(%q, %q): %v", tt.target, tt.subpath, err)
			}
			if s := got.String(); s != tt.want {
				t.Errorf("JoinSubpath(%q, %q).String() = %q, want %q", tt.target, tt.subpath, s, tt.want)
			}
			if got.Path != tt.wantPath {
				t.Errorf("JoinSubpath(%q, %q).Path = %q, want %q", tt.target, tt.subpath, got.Path, tt.wantPath)
			}
			// What goes on the wire must read back as the same URL.
			back := mustParseURL(t, got.String())
			if back.Path != tt.wantPath || back.Host != target.Host || back.RawQuery != target.RawQuery || back.Fragment != "" {
				t.Errorf("re-parsed %q: path %q host %q query %q fragment %q", got.String(), back.Path, back.Host, back.RawQuery, back.Fragment)
			}
		})
	}
}

func TestUpstreamURL(t *testing.T) {
	bria := config.Endpoint{
		Path:               "/bria",
		Target:             "https://engine.example.com/api",
		IncludeSubpath:     true,
		MergeQueryParams:   true,
		DefaultQueryParams: []config.Param{{Name: "v", Value: "1"}, {Name: "tenant", Value: "a"}},
	}
	plain := config.Endpoint{Path: "/x", Target: "https://h.example.com/x", IncludeSubpath: true}
	withQuery := config.Endpoint{Path: "/p", Target: "https://h.example.com/p?t=a&k=1", IncludeSubpath: true}
	noSubpath := config.Endpoint{Path: "/x", Target: "https://h.example.com/x"}
	forced := config.Endpoint{Path: "/x", Target: "https://h.example.com/x?"}
	defaultsAndQuery := config.Endpoint{Path: "/p", Target: "https://h.example.com/p?t=a",
		DefaultQueryParams: []config.Param{{Name: "t", Value: "d"}, {Name: "v", Value: "1"}}}
	repeatDefaults := config.Endpoint{Path: "/x", Target: "https://h.example.com/x",
		DefaultQueryParams: []config.Param{{Name: "a", Value: "0"}, {Name: "v", Value: "1"}}}

	tests := []struct {
		name    string
		ep      config.Endpoint
		subpath string
		query   string
		want    string
		wantErr string
	}{
		{"litellm 8.10 merge", bria, "/v1/run", "tenant=b&x=1", "https://engine.example.com/api/v1/run?v=1&tenant=b&x=1", ""},
		{"litellm 8.10 escape", bria, "/../../etc", "", "https://engine.example.com/api/etc?v=1&tenant=a", ""},
		{"defaults only", bria, "", "", "https://engine.example.com/api?v=1&tenant=a", ""},
		{"client overrides every default", bria, "/r", "v=2&tenant=c", "https://engine.example.com/api/r?v=2&tenant=c", ""},
		{"repeated client keys kept", plain, "", "a=1&a=2", "https://h.example.com/x?a=1&a=2", ""},
		{"repeated client keys kept over defaults", repeatDefaults, "", "a=1&a=2", "https://h.example.com/x?a=1&a=2&v=1", ""},
		{"client query byte for byte", plain, "/y", "b=%7E&a=1", "https://h.example.com/x/y?b=%7E&a=1", ""},
		{"client query byte for byte, plus and bare key", plain, "", "q=a+b&flag&r=%20", "https://h.example.com/x?q=a+b&flag&r=%20", ""},
		{"no query at all", plain, "", "", "https://h.example.com/x", ""},
		{"target query merged, client wins", withQuery, "", "k=2&z=3", "https://h.example.com/p?t=a&k=2&z=3", ""},
		{"target query kept without client query", withQuery, "", "", "https://h.example.com/p?t=a&k=1", ""},
		{"target query and subpath: no litellm quirk", withQuery, "/v1/run", "", "https://h.example.com/p/v1/run?t=a&k=1", ""},
		{"target query and subpath with client query", withQuery, "/v1/run", "z=3", "https://h.example.com/p/v1/run?t=a&k=1&z=3", ""},
		{"defaults lose to target query", defaultsAndQuery, "", "", "https://h.example.com/p?t=a&v=1", ""},
		{"defaults < target < client", defaultsAndQuery, "", "t=c", "https://h.example.com/p?t=c&v=1", ""},
		{"subpath ignored without include_subpath", noSubpath, "/y/z", "", "https://h.example.com/x", ""},
		{"empty forced query dropped", forced, "", "", "https://h.example.com/x", ""},
		{"merged values re-encoded", bria, "", "q=a%20b", "https://engine.example.com/api?v=1&tenant=a&q=a+b", ""},
		{"malformed key, no merge", plain, "", "%zz", "", `malformed query parameter "%zz"`},
		{"malformed value, no merge", plain, "", "a=%zz", "", `malformed value for query parameter "a"`},
		{"malformed key, merge", bria, "/v1", "x=1&%zz=1", "", `malformed query parameter "%zz"`},
		{"malformed value, merge", withQuery, "", "a=1&b=%g1", "", `malformed value for query parameter "b"`},
		{"bad subpath", plain, `/a\b`, "", "", "contains a backslash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustNew(t, tt.ep)
			got, err := r.UpstreamURL(tt.subpath, tt.query)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("UpstreamURL(%q, %q) = %v, %v; want error containing %q", tt.subpath, tt.query, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("UpstreamURL(%q, %q): %v", tt.subpath, tt.query, err)
			}
			if got.String() != tt.want {
				t.Errorf("UpstreamURL(%q, %q) = %q, want %q", tt.subpath, tt.query, got.String(), tt.want)
			}
			// The route's own target is never modified by a request.
			if r.Target().String() != tt.ep.Target {
				t.Errorf("Target() = %q after UpstreamURL, want %q", r.Target().String(), tt.ep.Target)
			}
			again, _ := r.UpstreamURL(tt.subpath, tt.query)
			if again == nil || again.String() != tt.want {
				t.Errorf("second UpstreamURL = %v, want %q", again, tt.want)
			}
		})
	}
}

func TestWriteHeaders(t *testing.T) {
	res := secrets.Inline{
		"COHERE_API_KEY":      "co-xyz",
		"LANGFUSE_PUBLIC_KEY": "pk-lf-1",
		"LANGFUSE_SECRET_KEY": "sk-lf-2",
		"UPSTREAM_KEY":        "up-123",
	}
	cohere := config.Endpoint{
		Path:   "/v1/rerank",
		Target: "https://api.cohere.com/v1/rerank",
		Headers: []config.Header{
			{Name: "Authorization", Value: "bearer os.environ/COHERE_API_KEY"},
			{Name: "content-type", Value: "application/json"},
			{Name: "accept", Value: "application/json"},
		},
	}
	langfuse := config.Endpoint{
		Path:              "/api/public/ingestion",
		Target:            "https://us.cloud.langfuse.com/api/public/ingestion",
		LangfusePublicKey: "os.environ/LANGFUSE_PUBLIC_KEY",
		LangfuseSecretKey: "os.environ/LANGFUSE_SECRET_KEY",
	}
	langfuseOverAuth := langfuse
	langfuseOverAuth.Headers = []config.Header{
		{Name: "Authorization", Value: "Bearer os.environ/UPSTREAM_KEY"},
		{Name: "X-Trace", Value: "on"},
	}
	literalPair := config.Endpoint{Path: "/lf", Target: "https://h.example.com", LangfusePublicKey: "pk", LangfuseSecretKey: "sk"}
	mixed := config.Endpoint{
		Path:   "/m",
		Target: "https://h.example.com",
		Headers: []config.Header{
			{Name: "x-api-key", Value: "os.environ/UPSTREAM_KEY"},
			{Name: "anthropic-version", Value: "2023-06-01"},
			{Name: "X-Token", Value: "Token os.environ/UPSTREAM_KEY"},
		},
	}

	tests := []struct {
		name          string
		ep            config.Endpoint
		want          http.Header
		secretHeaders []string
	}{
		{"cohere bearer prefix kept", cohere, http.Header{
			"Authorization": {"bearer co-xyz"},
			"Content-Type":  {"application/json"},
			"Accept":        {"application/json"},
			"X-Client":      {"kept"},
		}, []string{"Authorization"}},
		{"langfuse basic", langfuse, http.Header{
			"Authorization": {"Basic cGstbGYtMTpzay1sZi0y"}, // base64("pk-lf-1:sk-lf-2")
			"X-Client":      {"kept"},
		}, []string{"Authorization"}},
		{"langfuse replaces a configured Authorization", langfuseOverAuth, http.Header{
			"Authorization": {"Basic cGstbGYtMTpzay1sZi0y"},
			"X-Trace":       {"on"},
			"X-Client":      {"kept"},
		}, []string{"Authorization"}},
		{"langfuse literal pair", literalPair, http.Header{
			"Authorization": {"Basic cGs6c2s="}, // base64("pk:sk")
			"X-Client":      {"kept"},
		}, []string{"Authorization"}},
		{"several secret headers", mixed, http.Header{
			"Authorization":     {"Bearer client-key"},
			"X-Api-Key":         {"up-123"},
			"Anthropic-Version": {"2023-06-01"},
			"X-Token":           {"Token up-123"},
			"X-Client":          {"kept"},
		}, []string{"X-Api-Key", "X-Token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustNew(t, tt.ep)
			dst := http.Header{
				"Authorization": {"Bearer client-key"},
				"X-Client":      {"kept"},
			}
			if err := r.WriteHeaders(context.Background(), dst, res); err != nil {
				t.Fatalf("WriteHeaders: %v", err)
			}
			if !reflect.DeepEqual(dst, tt.want) {
				t.Errorf("headers = %v, want %v", dst, tt.want)
			}
			for name := range dst {
				if strings.Contains(strings.ToUpper(name), "LANGFUSE") {
					t.Errorf("header %s must not be sent upstream", name)
				}
			}
			if got := r.SecretHeaders(); !slices.Equal(got, tt.secretHeaders) {
				t.Errorf("SecretHeaders = %q, want %q", got, tt.secretHeaders)
			}
		})
	}
}

func TestWriteHeadersMissingSecret(t *testing.T) {
	tests := []struct {
		name     string
		ep       config.Endpoint
		res      secrets.Inline
		wantName string
	}{
		{"plain header", config.Endpoint{Path: "/x", Target: "https://h.example.com",
			Headers: []config.Header{{Name: "X-Ok", Value: "os.environ/PRESENT"}, {Name: "Authorization", Value: "bearer os.environ/COHERE_API_KEY"}}},
			secrets.Inline{"PRESENT": "VALUE-present-5d2"}, "COHERE_API_KEY"},
		{"langfuse public key", config.Endpoint{Path: "/x", Target: "https://h.example.com",
			LangfusePublicKey: "os.environ/LF_PK", LangfuseSecretKey: "os.environ/LF_SK"},
			secrets.Inline{"LF_SK": "VALUE-lfsk-8e1"}, "LF_PK"},
		{"langfuse secret key", config.Endpoint{Path: "/x", Target: "https://h.example.com",
			LangfusePublicKey: "os.environ/LF_PK", LangfuseSecretKey: "os.environ/LF_SK"},
			secrets.Inline{"LF_PK": "VALUE-lfpk-3c9"}, "LF_SK"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustNew(t, tt.ep)
			err := r.WriteHeaders(context.Background(), http.Header{}, tt.res)
			var nf *secrets.NotFoundError
			if !errors.As(err, &nf) {
				t.Fatalf("WriteHeaders error = %v, want *secrets.NotFoundError", err)
			}
			if nf.Name != tt.wantName {
				t.Errorf("NotFoundError.Name = %q, want %q", nf.Name, tt.wantName)
			}
			if want := `secret "` + tt.wantName + `" is not set`; err.Error() != want {
				t.Errorf("error = %q, want %q", err.Error(), want)
			}
			for _, v := range tt.res {
				if strings.Contains(err.Error(), v) {
					t.Errorf("error %q leaks a secret value", err.Error())
				}
			}
		})
	}
}

func TestNew(t *testing.T) {
	cost := 0.25
	e := config.Endpoint{
		Index:          3,
		ID:             "rerank",
		Path:           "/v1/rerank",
		Target:         "https://api.cohere.com/v1/rerank?client=gw",
		Headers:        []config.Header{{Name: "content-type", Value: "application/json"}},
		KeyHeader:      "x-api-key",
		ForwardHeaders: true,
		IncludeSubpath: true,
		Methods:        []string{"POST", "PUT"},
		Auth:           config.AuthGranted,
		CostPerRequest: &cost,
		Guardrails:     []config.Guardrail{{Name: "pii"}},
	}
	r, err := route.New(&e, 42*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	e.Methods[0] = "DELETE" // the route keeps its own copy
	checks := []struct {
		field     string
		got, want any
	}{
		{"ID", r.ID, "rerank"},
		{"Path", r.Path, "/v1/rerank"},
		{"Methods", r.Methods, []string{"POST", "PUT"}},
		{"IncludeSubpath", r.IncludeSubpath, true},
		{"Auth", r.Auth, config.AuthGranted},
		{"LangfuseAuth", r.LangfuseAuth, false},
		{"KeyHeader", r.KeyHeader, "X-Api-Key"},
		{"ForwardHeaders", r.ForwardHeaders, true},
		{"Timeout", r.Timeout, 42 * time.Second},
		{"CostPerRequest", *r.CostPerRequest, 0.25},
		{"Guardrails", r.Guardrails, []config.Guardrail{{Name: "pii"}}},
		{"Target", r.Target().String(), "https://api.cohere.com/v1/rerank?client=gw"},
		{"Allows POST", r.Allows("POST"), true},
		{"Allows PUT", r.Allows("PUT"), true},
		{"Allows DELETE", r.Allows("DELETE"), false},
		{"Allows GET", r.Allows("GET"), false},
		{"SetsHeader Content-Type", r.SetsHeader("Content-Type"), true},
		{"SetsHeader Authorization", r.SetsHeader("Authorization"), false},
		{"SecretHeaders", r.SecretHeaders(), []string(nil)},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.field, c.got, c.want)
		}
	}

	lf := config.Endpoint{Path: "/lf", Target: "https://h.example.com", CustomAuthParser: "langfuse", Methods: []string{"POST"}}
	rl, err := route.New(&lf, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !rl.LangfuseAuth {
		t.Error("custom_auth_parser: langfuse must set LangfuseAuth")
	}
	if rl.KeyHeader != "" {
		t.Errorf("KeyHeader = %q, want empty", rl.KeyHeader)
	}
}

func TestNewBadTarget(t *testing.T) {
	tests := []struct {
		target string
		want   string
	}{
		{"https://h.example.com/x?a=%zz", `pass_through_endpoints[2] (/x): target query: malformed value for query parameter "a"`},
		{"https://h.example.com/%zz", "pass_through_endpoints[2] (/x): target: "},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			e := config.Endpoint{Index: 2, Path: "/x", Target: tt.target, Methods: []string{"GET"}}
			r, err := route.New(&e, time.Second)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("New = %v, %v; want error starting %q", r, err, tt.want)
			}
		})
	}
}
