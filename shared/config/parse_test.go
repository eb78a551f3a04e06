package config_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/secrets"
)

// missingAuthWarning is the warning for an endpoint without `auth`.
func missingAuthWarning(name string) string {
	return name + " sets no `auth`: any valid gateway key may call it. Set `auth: true` to restrict it to keys granted this route, or `auth: false` to serve it without a key"
}

func ptr(f float64) *float64 { return &f }

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// errList splits an errors.Join result into its parts.
func errList(err error) []string {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, e.Error())
		}
		return out
	}
	return []string{err.Error()}
}

func diffEndpoint(t *testing.T, got, want config.Endpoint) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := 0; i < gv.NumField(); i++ {
		g, w := gv.Field(i).Interface(), wv.Field(i).Interface()
		if !reflect.DeepEqual(g, w) {
			if gp, ok := g.(*float64); ok && gp != nil {
				g = *gp
			}
			if wp, ok := w.(*float64); ok && wp != nil {
				w = *wp
			}
			t.Errorf("endpoint %d field %s = %#v, want %#v", want.Index, gv.Type().Field(i).Name, g, w)
		}
	}
}

func TestParseSeeds(t *testing.T) {
	cohereHeaders := []config.Header{
		{Name: "Authorization", Value: "bearer os.environ/COHERE_API_KEY"},
		{Name: "content-type", Value: "application/json"},
		{Name: "accept", Value: "application/json"},
	}
	tests := []struct {
		file         string
		want         config.Endpoint
		wantWarnings []string
		wantRefs     []string
	}{
		{
			file: "seed_cohere_rerank.yaml",
			want: config.Endpoint{
				Index:   0,
				Path:    "/v1/rerank",
				Target:  "https://api.cohere.com/v1/rerank",
				Headers: cohereHeaders,
				Methods: []string{"GET", "POST", "PUT", "DELETE", "PATCH"},
				Auth:    config.AuthAnyKey,
			},
			wantWarnings: []string{missingAuthWarning("pass_through_endpoints[0] (/v1/rerank)")},
			wantRefs:     []string{"COHERE_API_KEY"},
		},
		{
			file: "seed_cohere_rerank_auth.yaml",
			want: config.Endpoint{
				Index:   0,
				Path:    "/v1/rerank",
				Target:  "https://api.cohere.com/v1/rerank",
				Headers: cohereHeaders,
				Methods: []string{"GET", "POST", "PUT", "DELETE", "PATCH"},
				Auth:    config.AuthGranted,
			},
			wantWarnings: nil,
			wantRefs:     []string{"COHERE_API_KEY"},
		},
		{
			file: "seed_langfuse.yaml",
			want: config.Endpoint{
				Index:             0,
				Path:              "/api/public/ingestion",
				Target:            "https://us.cloud.langfuse.com/api/public/ingestion",
				LangfusePublicKey: "os.environ/LANGFUSE_DEV_PUBLIC_KEY",
				LangfuseSecretKey: "os.environ/LANGFUSE_DEV_SK_KEY",
				Methods:           []string{"GET", "POST", "PUT", "DELETE", "PATCH"},
				Auth:              config.AuthAnyKey,
			},
			wantWarnings: []string{missingAuthWarning("pass_through_endpoints[0] (/api/public/ingestion)")},
			wantRefs:     []string{"LANGFUSE_DEV_PUBLIC_KEY", "LANGFUSE_DEV_SK_KEY"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			res := config.Parse(readFixture(t, tt.file))
			if res.Err != nil {
				t.Fatalf("Parse: unexpected error: %v", res.Err)
			}
			cfg := res.Config
			if cfg == nil {
				t.Fatal("Parse: nil Config without error")
			}
			if cfg.MasterKey != "sk-1234" {
				t.Errorf("MasterKey = %q, want %q", cfg.MasterKey, "sk-1234")
			}
			if cfg.RequestTimeout != 0 {
				t.Errorf("RequestTimeout = %v, want 0", cfg.RequestTimeout)
			}
			if len(cfg.Endpoints) != 1 {
				t.Fatalf("got %d endpoints, want 1", len(cfg.Endpoints))
			}
			diffEndpoint(t, cfg.Endpoints[0], tt.want)
			if !slices.Equal(res.Warnings, tt.wantWarnings) {
				t.Errorf("Warnings = %q, want %q", res.Warnings, tt.wantWarnings)
			}
			if got := cfg.SecretRefs(); !slices.Equal(got, tt.wantRefs) {
				t.Errorf("SecretRefs = %q, want %q", got, tt.wantRefs)
			}
			if got := cfg.EffectiveTimeout(&cfg.Endpoints[0]); got != 600*time.Second {
				t.Errorf("EffectiveTimeout = %v, want 10m0s", got)
			}
			if got := cfg.Endpoints[0].Name(); got != "pass_through_endpoints[0] ("+tt.want.Path+")" {
				t.Errorf("Name() = %q", got)
			}
		})
	}
}

// The seed documents the adapter form (`target: module.instance`); it must fail with a clear
// "not supported yet" message rather than be mistaken for a URL.
func TestParseSeedAdapter(t *testing.T) {
	res := config.Parse(readFixture(t, "seed_adapter.yaml"))
	if res.Config != nil {
		t.Errorf("Config = %+v, want nil on error", res.Config)
	}
	want := []string{`pass_through_endpoints[0] (/v1/messages): target: "custom_callbacks.anthropic_adapter" names an adapter (module.instance); adapter targets are not supported yet, use an absolute http(s) URL`}
	if got := errList(res.Err); !slices.Equal(got, want) {
		t.Errorf("errors = %q, want %q", got, want)
	}
}

func TestLoadFile(t *testing.T) {
	path := filepath.Join("testdata", "seed_cohere_rerank_auth.yaml")
	got := config.LoadFile(path)
	want := config.Parse(readFixture(t, "seed_cohere_rerank_auth.yaml"))
	if got.Err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("LoadFile(%s) = %+v, want %+v", path, got, want)
	}

	missing := filepath.Join("testdata", "does-not-exist.yaml")
	res := config.LoadFile(missing)
	if res.Err == nil || res.Config != nil {
		t.Fatalf("LoadFile(missing) = %+v, want an error", res)
	}
	if msg := res.Err.Error(); !strings.HasPrefix(msg, "read config: ") || !strings.Contains(msg, "does-not-exist.yaml") {
		t.Errorf("LoadFile(missing) error = %q, want it to start with %q and name the file", msg, "read config: ")
	}
	if !errors.Is(res.Err, os.ErrNotExist) {
		t.Errorf("LoadFile(missing) error does not wrap os.ErrNotExist: %v", res.Err)
	}
}

func TestParseEveryField(t *testing.T) {
	res := config.Parse(readFixture(t, "every_field.yaml"))
	if res.Err != nil {
		t.Fatalf("Parse: unexpected error: %v", res.Err)
	}
	cfg := res.Config
	if cfg.MasterKey != "os.environ/LITELLM_MASTER_KEY" {
		t.Errorf("MasterKey = %q", cfg.MasterKey)
	}
	if cfg.RequestTimeout != 120*time.Second {
		t.Errorf("RequestTimeout = %v, want 2m0s", cfg.RequestTimeout)
	}
	want := []config.Endpoint{
		{
			Index:  0,
			ID:     "rerank-post",
			Path:   "/v1/rerank",
			Target: "https://api.cohere.com/v1/rerank?client=gw",
			Headers: []config.Header{
				{Name: "Authorization", Value: "bearer os.environ/COHERE_API_KEY"},
				{Name: "content-type", Value: "application/json"},
				{Name: "X-Static", Value: "plain value"},
			},
			KeyHeader:        "x-api-key",
			ForwardHeaders:   true,
			IncludeSubpath:   true,
			Methods:          []string{"POST", "PUT"},
			Auth:             config.AuthGranted,
			Timeout:          2500 * time.Millisecond,
			MergeQueryParams: true,
			DefaultQueryParams: []config.Param{
				{Name: "api_version", Value: "2023-01"},
				{Name: "limit", Value: "10"},
				{Name: "ratio", Value: "0.5"},
				{Name: "zeta", Value: "z"},
			},
			CostPerRequest: ptr(0.5),
			Guardrails:     []config.Guardrail{{Name: "pii-guard"}, {Name: "content-moderation"}},
		},
		{
			Index:          1,
			ID:             "rerank-get",
			Path:           "/v1/rerank",
			Target:         "https://api.cohere.com/v1/models",
			Methods:        []string{"GET"},
			Auth:           config.AuthPublic,
			CostPerRequest: ptr(0),
			Guardrails: []config.Guardrail{
				{Name: "pii-guard"},
				{
					Name:           "content-moderation",
					RequestFields:  []string{"query", "documents[*].text"},
					ResponseFields: []string{"results[*].text"},
				},
			},
		},
		{
			Index:             2,
			Path:              "/api/public/ingestion",
			Target:            "https://us.cloud.langfuse.com/api/public/ingestion",
			LangfusePublicKey: "os.environ/LANGFUSE_PUBLIC_KEY",
			LangfuseSecretKey: "os.environ/LANGFUSE_SECRET_KEY",
			Methods:           []string{"GET", "POST", "PUT", "DELETE", "PATCH"},
			Auth:              config.AuthGranted,
			CustomAuthParser:  "langfuse",
		},
	}
	if len(cfg.Endpoints) != len(want) {
		t.Fatalf("got %d endpoints, want %d", len(cfg.Endpoints), len(want))
	}
	for i := range want {
		diffEndpoint(t, cfg.Endpoints[i], want[i])
	}
	if cfg.Endpoints[1].CostPerRequest == nil {
		t.Error("cost_per_request: 0 must be kept as a set (non-nil) zero: it overrides computed cost")
	}
	wantWarnings := []string{
		"pass_through_endpoints[0] (/v1/rerank): guardrails are parsed but not enforced yet: requests pass unchecked",
		"pass_through_endpoints[1] (/v1/rerank): guardrails are parsed but not enforced yet: requests pass unchecked",
	}
	if !slices.Equal(res.Warnings, wantWarnings) {
		t.Errorf("Warnings = %q, want %q", res.Warnings, wantWarnings)
	}
	wantRefs := []string{"LITELLM_MASTER_KEY", "COHERE_API_KEY", "LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY"}
	if got := cfg.SecretRefs(); !slices.Equal(got, wantRefs) {
		t.Errorf("SecretRefs = %q, want %q", got, wantRefs)
	}
	for i, wantT := range []time.Duration{2500 * time.Millisecond, 120 * time.Second, 120 * time.Second} {
		if got := cfg.EffectiveTimeout(&cfg.Endpoints[i]); got != wantT {
			t.Errorf("EffectiveTimeout(endpoint %d) = %v, want %v", i, got, wantT)
		}
	}
}

func TestEffectiveTimeout(t *testing.T) {
	tests := []struct {
		name             string
		general, enpoint time.Duration
		want             time.Duration
	}{
		{"endpoint wins over general", 120 * time.Second, 30 * time.Second, 30 * time.Second},
		{"endpoint longer than general still wins", 5 * time.Second, 900 * time.Second, 900 * time.Second},
		{"general when endpoint unset", 120 * time.Second, 0, 120 * time.Second},
		{"600s when neither is set", 0, 0, 600 * time.Second},
		{"endpoint alone", 0, 1500 * time.Millisecond, 1500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &config.Config{RequestTimeout: tt.general}
			e := &config.Endpoint{Timeout: tt.enpoint}
			if got := c.EffectiveTimeout(e); got != tt.want {
				t.Errorf("EffectiveTimeout = %v, want %v", got, tt.want)
			}
		})
	}
	if config.DefaultTimeout != 600*time.Second {
		t.Errorf("DefaultTimeout = %v, want 10m0s (LiteLLM's 600.0)", config.DefaultTimeout)
	}
}

// Timeouts read from YAML, through the same precedence.
func TestParseTimeouts(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want time.Duration
	}{
		{"endpoint", "  pass_through_request_timeout: 90\n  pass_through_endpoints:\n    - {path: /x, target: 'https://h.example.com', auth: true, timeout: 30}\n", 30 * time.Second},
		{"general", "  pass_through_request_timeout: 90\n  pass_through_endpoints:\n    - {path: /x, target: 'https://h.example.com', auth: true}\n", 90 * time.Second},
		{"general float", "  pass_through_request_timeout: 0.25\n  pass_through_endpoints:\n    - {path: /x, target: 'https://h.example.com', auth: true}\n", 250 * time.Millisecond},
		{"null endpoint timeout", "  pass_through_request_timeout: 90\n  pass_through_endpoints:\n    - {path: /x, target: 'https://h.example.com', auth: true, timeout: null}\n", 90 * time.Second},
		{"default", "  pass_through_endpoints:\n    - {path: /x, target: 'https://h.example.com', auth: true}\n", 600 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := config.Parse([]byte("general_settings:\n" + tt.doc))
			if res.Err != nil {
				t.Fatalf("Parse: %v", res.Err)
			}
			if got := res.Config.EffectiveTimeout(&res.Config.Endpoints[0]); got != tt.want {
				t.Errorf("EffectiveTimeout = %v, want %v", got, tt.want)
			}
		})
	}
}

// authDoc puts one `auth` line (or none) on line 5 of a config.
func authDoc(line string) string {
	doc := "general_settings:\n" +
		"  pass_through_endpoints:\n" +
		"    - path: /x\n" +
		"      target: https://api.example.com/x\n"
	if line != "" {
		doc += "      " + line + "\n"
	}
	return doc
}

func TestParseAuth(t *testing.T) {
	const name = "pass_through_endpoints[0] (/x)"
	notBool := func(v string) []string {
		return []string{name + `: auth: "` + v + `" is neither true nor false and is treated as missing (any valid key) (line 5)`}
	}
	tests := []struct {
		line         string
		want         config.AuthMode
		wantWarnings []string
	}{
		{"auth: true", config.AuthGranted, nil},
		{"auth: True", config.AuthGranted, nil},
		{`auth: "true"`, config.AuthGranted, nil},
		{`auth: " TRUE "`, config.AuthGranted, nil},
		{"auth: false", config.AuthPublic, nil},
		{"auth: FALSE", config.AuthPublic, nil},
		{`auth: "False"`, config.AuthPublic, nil},
		{`auth: 'false'`, config.AuthPublic, nil},
		{"", config.AuthAnyKey, []string{missingAuthWarning(name)}},
		{`auth: "yes"`, config.AuthAnyKey, notBool("yes")},
		{"auth: yes", config.AuthAnyKey, notBool("yes")},
		{"auth: 1", config.AuthAnyKey, notBool("1")},
		{"auth: 0", config.AuthAnyKey, notBool("0")},
		{`auth: ""`, config.AuthAnyKey, notBool("")},
		{"auth: enabled", config.AuthAnyKey, notBool("enabled")},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			res := config.Parse([]byte(authDoc(tt.line)))
			if res.Err != nil {
				t.Fatalf("Parse: %v", res.Err)
			}
			if got := res.Config.Endpoints[0].Auth; got != tt.want {
				t.Errorf("Auth = %v, want %v", got, tt.want)
			}
			if !slices.Equal(res.Warnings, tt.wantWarnings) {
				t.Errorf("Warnings = %q, want %q", res.Warnings, tt.wantWarnings)
			}
		})
	}
}

// LiteLLM treats `auth: null` (None) like a missing `auth` (reference §2.1: "missing, None, ..."
// → ANY_KEY, with the start-up warning). The operator must be told, as for a missing key.
func TestParseAuthNullWarns(t *testing.T) {
	for _, line := range []string{"auth:", "auth: null", "auth: ~"} {
		t.Run(line, func(t *testing.T) {
			res := config.Parse([]byte(authDoc(line)))
			if res.Err != nil {
				t.Fatalf("Parse: %v", res.Err)
			}
			if got := res.Config.Endpoints[0].Auth; got != config.AuthAnyKey {
				t.Errorf("Auth = %v, want %v", got, config.AuthAnyKey)
			}
			found := false
			for _, w := range res.Warnings {
				if strings.Contains(w, "pass_through_endpoints[0] (/x)") && strings.Contains(w, "auth") {
					found = true
				}
			}
			if !found {
				t.Errorf("Warnings = %q, want a warning naming pass_through_endpoints[0] (/x) and auth (null auth means any valid key may call)", res.Warnings)
			}
		})
	}
}

func TestAuthModeString(t *testing.T) {
	for mode, want := range map[config.AuthMode]string{
		config.AuthAnyKey:  "any-key",
		config.AuthGranted: "granted-keys",
		config.AuthPublic:  "public",
	} {
		if got := mode.String(); got != want {
			t.Errorf("AuthMode(%d).String() = %q, want %q", int(mode), got, want)
		}
	}
}

// endpointDoc is a config whose endpoint [0] is valid and whose endpoint [1] is made of lines.
func endpointDoc(lines ...string) string {
	doc := "general_settings:\n" +
		"  pass_through_endpoints:\n" +
		"    - path: /first\n" +
		"      target: https://api.example.com/first\n" +
		"      auth: true\n"
	for i, l := range lines {
		if i == 0 {
			doc += "    - " + l + "\n"
		} else {
			doc += "      " + l + "\n"
		}
	}
	return doc
}

func TestParseEndpointErrors(t *testing.T) {
	const x = "pass_through_endpoints[1] (/x): "
	tests := []struct {
		name  string
		lines []string
		want  string // the one error expected (substring)
	}{
		{"missing path", []string{"target: https://api.example.com/x", "auth: true"},
			"pass_through_endpoints[1]: path: is required"},
		{"empty path", []string{`path: ""`, "target: https://api.example.com/x", "auth: true"},
			"pass_through_endpoints[1]: path: is required"},
		{"missing target", []string{"path: /x", "auth: true"},
			x + "target: is required"},
		{"path without leading slash", []string{"path: x", "target: https://api.example.com/x", "auth: true"},
			`pass_through_endpoints[1] (x): path: "x" must start with /`},
		{"path with .. segment", []string{"path: /a/../b", "target: https://api.example.com/x", "auth: true"},
			`pass_through_endpoints[1] (/a/../b): path: "/a/../b" must not contain . or .. segments`},
		{"path ending in ..", []string{"path: /a/..", "target: https://api.example.com/x", "auth: true"},
			`pass_through_endpoints[1] (/a/..): path: "/a/.." must not contain . or .. segments`},
		{"path with . segment", []string{"path: /a/./b", "target: https://api.example.com/x", "auth: true"},
			`pass_through_endpoints[1] (/a/./b): path: "/a/./b" must not contain . or .. segments`},
		{"path with empty segment", []string{"path: /a//b", "target: https://api.example.com/x", "auth: true"},
			`pass_through_endpoints[1] (/a//b): path: "/a//b" must not contain an empty segment (//)`},
		{"path with query", []string{`path: "/x?a=1"`, "target: https://api.example.com/x", "auth: true"},
			`pass_through_endpoints[1] (/x?a=1): path: "/x?a=1" holds characters not allowed in a URL path`},
		{"path not a string", []string{"path: [a]", "target: https://api.example.com/x", "auth: true"},
			"pass_through_endpoints[1]: path: must be a string, found a list"},
		{"ftp target", []string{"path: /x", "target: ftp://files.example.com/x", "auth: true"},
			x + `target: "ftp://files.example.com/x" must be an absolute http:// or https:// URL`},
		{"relative target", []string{"path: /x", "target: /v1/rerank", "auth: true"},
			x + `target: "/v1/rerank" must be an absolute http:// or https:// URL`},
		{"target without scheme", []string{"path: /x", "target: api.cohere.com/v1/rerank", "auth: true"},
			x + `target: "api.cohere.com/v1/rerank" must be an absolute http:// or https:// URL`},
		{"target without host", []string{"path: /x", "target: https:///v1/rerank", "auth: true"},
			x + `target: "https:///v1/rerank" has no host`},
		{"target with port only", []string{"path: /x", "target: https://:443/v1", "auth: true"},
			x + `target: "https://:443/v1" has no host`},
		{"target with fragment", []string{"path: /x", "target: https://api.example.com/x#frag", "auth: true"},
			x + `target: "https://api.example.com/x#frag" must not have a #fragment`},
		{"target with empty fragment", []string{"path: /x", "target: https://api.example.com/x#", "auth: true"},
			x + `target: "https://api.example.com/x#" must not have a #fragment`},
		{"adapter target", []string{"path: /x", "target: custom_callbacks.anthropic_adapter", "auth: true"},
			x + `target: "custom_callbacks.anthropic_adapter" names an adapter (module.instance); adapter targets are not supported yet`},
		{"quoted forward_headers", []string{"path: /x", "target: https://api.example.com/x", `forward_headers: "true"`, "auth: true"},
			x + `forward_headers: must be true or false, found "true" (line 8)`},
		{"include_subpath yes", []string{"path: /x", "target: https://api.example.com/x", "include_subpath: yes", "auth: true"},
			x + `include_subpath: must be true or false, found "yes" (line 8)`},
		{"merge_query_params 1", []string{"path: /x", "target: https://api.example.com/x", "merge_query_params: 1", "auth: true"},
			x + `merge_query_params: must be true or false, found "1" (line 8)`},
		{"bad method", []string{"path: /x", "target: https://api.example.com/x", "methods: [POST, FETCH]", "auth: true"},
			x + `methods: "FETCH" is not one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS (line 8)`},
		{"empty methods", []string{"path: /x", "target: https://api.example.com/x", "methods: []", "auth: true"},
			x + "methods: must list at least one method (line 8)"},
		{"methods not a list", []string{"path: /x", "target: https://api.example.com/x", "methods: POST", "auth: true"},
			x + "methods: must be a list such as [POST] (line 8)"},
		{"negative cost", []string{"path: /x", "target: https://api.example.com/x", "cost_per_request: -0.01", "auth: true"},
			x + "cost_per_request: must not be negative, found -0.01 (line 8)"},
		{"cost not a number", []string{"path: /x", "target: https://api.example.com/x", "cost_per_request: free", "auth: true"},
			x + `cost_per_request: must be a number, found "free" (line 8)`},
		{"cost infinite", []string{"path: /x", "target: https://api.example.com/x", "cost_per_request: .inf", "auth: true"},
			x + `cost_per_request: must be a finite number, found ".inf" (line 8)`},
		{"timeout zero", []string{"path: /x", "target: https://api.example.com/x", "timeout: 0", "auth: true"},
			x + "timeout: must be a number of seconds between 0 and 86400, found 0 (line 8)"},
		{"timeout negative", []string{"path: /x", "target: https://api.example.com/x", "timeout: -5", "auth: true"},
			x + "timeout: must be a number of seconds between 0 and 86400, found -5 (line 8)"},
		{"timeout above a day", []string{"path: /x", "target: https://api.example.com/x", "timeout: 86401", "auth: true"},
			x + "timeout: must be a number of seconds between 0 and 86400, found 86401 (line 8)"},
		{"timeout quoted", []string{"path: /x", "target: https://api.example.com/x", `timeout: "30"`, "auth: true"},
			x + `timeout: must be a number, found "30" (line 8)`},
		{"unknown custom_auth_parser", []string{"path: /x", "target: https://api.example.com/x", "custom_auth_parser: basic", "auth: true"},
			x + `custom_auth_parser: "basic" is not supported (the only parser is "langfuse")`},
		{"langfuse public key alone", []string{"path: /x", "target: https://api.example.com/x", "auth: true", "headers:", "  LANGFUSE_PUBLIC_KEY: os.environ/PK"},
			x + "headers: LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY must be set together"},
		{"langfuse secret key alone", []string{"path: /x", "target: https://api.example.com/x", "auth: true", "headers:", "  LANGFUSE_SECRET_KEY: os.environ/SK"},
			x + "headers: LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY must be set together"},
		{"os.environ/ without a name", []string{"path: /x", "target: https://api.example.com/x", "auth: true", "headers:", "  Authorization: os.environ/"},
			x + "headers.Authorization: os.environ/ names no variable (line 10)"},
		{"prefixed os.environ/ without a name", []string{"path: /x", "target: https://api.example.com/x", "auth: true", "headers:", `  Authorization: "bearer os.environ/"`},
			x + "headers.Authorization: os.environ/ names no variable (line 10)"},
		{"langfuse os.environ/ without a name", []string{"path: /x", "target: https://api.example.com/x", "auth: true", "headers:", "  LANGFUSE_PUBLIC_KEY: os.environ/", "  LANGFUSE_SECRET_KEY: os.environ/SK"},
			x + "headers.LANGFUSE_PUBLIC_KEY: os.environ/ names no variable (line 10)"},
		{"secret name with space", []string{"path: /x", "target: https://api.example.com/x", "auth: true", "headers:", `  Authorization: "os.environ/KEY extra"`},
			x + `headers.Authorization: secret name "KEY extra" must not contain white space`},
		{"header value not a string", []string{"path: /x", "target: https://api.example.com/x", "auth: true", "headers:", "  X-List: [a, b]"},
			x + "headers.X-List: must be a string (line 10)"},
		{"header value null", []string{"path: /x", "target: https://api.example.com/x", "auth: true", "headers:", "  X-Null:"},
			x + "headers.X-Null: must be a string"},
		{"header name invalid", []string{"path: /x", "target: https://api.example.com/x", "auth: true", "headers:", `  "Bad Header": v`},
			x + `headers: "Bad Header" is not a valid header name (line 10)`},
		{"header set twice", []string{"path: /x", "target: https://api.example.com/x", "auth: true", "headers:", "  Authorization: a", "  authorization: b"},
			x + "headers.authorization: set twice (header names are case-insensitive) (line 11)"},
		{"header value with line break", []string{"path: /x", "target: https://api.example.com/x", "auth: true", "headers:", `  X-Evil: "a\r\nInjected: 1"`},
			x + "headers.X-Evil: value must not contain line breaks (line 10)"},
		{"bad litellm_user_api_key", []string{"path: /x", "target: https://api.example.com/x", "auth: true", "headers:", `  litellm_user_api_key: "x api key"`},
			x + `headers.litellm_user_api_key: "x api key" is not a valid header name (line 10)`},
		{"headers not a mapping", []string{"path: /x", "target: https://api.example.com/x", "auth: true", "headers: [a]"},
			x + "headers: must be a mapping of header name to value (line 9)"},
		{"field twice", []string{"path: /x", "target: https://api.example.com/x", "target: https://api.example.com/y", "auth: true"},
			x + `field "target" appears twice (line 8)`},
		{"auth mapping", []string{"path: /x", "target: https://api.example.com/x", "auth: {enabled: true}"},
			x + "auth: must be true or false (line 8)"},
		{"endpoint not a mapping", []string{"just-a-string"},
			"pass_through_endpoints[1]: must be a mapping with path and target (line 6)"},
		{"default_query_params list", []string{"path: /x", "target: https://api.example.com/x", "auth: true", "default_query_params: [a]"},
			x + "default_query_params: must be a mapping of parameter name to value (line 9)"},
		{"default_query_params null value", []string{"path: /x", "target: https://api.example.com/x", "auth: true", "default_query_params: {a: null}"},
			x + "default_query_params: a: must be a string, number or boolean (line 9)"},
		{"guardrails scalar", []string{"path: /x", "target: https://api.example.com/x", "auth: true", "guardrails: pii"},
			x + "guardrails: must be a list of names or a mapping of name to settings (line 9)"},
		{"guardrail field expression", []string{"path: /x", "target: https://api.example.com/x", "auth: true", "guardrails:", "  mod:", "    request_fields: [\"a..b\"]"},
			x + `guardrails: mod: request_fields: "a..b" is not a field expression like a.b or items[*].text`},
		{"guardrail unknown setting", []string{"path: /x", "target: https://api.example.com/x", "auth: true", "guardrails:", "  mod:", "    fields: [a]"},
			x + `guardrails: mod: unknown setting "fields" (expected request_fields or response_fields)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := config.Parse([]byte(endpointDoc(tt.lines...)))
			if res.Err == nil {
				t.Fatalf("Parse succeeded, want an error containing %q", tt.want)
			}
			if res.Config != nil {
				t.Errorf("Config = %+v, want nil on error", res.Config)
			}
			errs := errList(res.Err)
			found := false
			for _, e := range errs {
				if strings.Contains(e, tt.want) {
					found = true
				}
				if !strings.HasPrefix(e, "pass_through_endpoints[1]") {
					t.Errorf("error %q does not name the failing endpoint pass_through_endpoints[1]", e)
				}
			}
			if !found {
				t.Errorf("errors = %q, want one containing %q", errs, tt.want)
			}
		})
	}
}

// A problem in one endpoint is reported once, not echoed by every later check.
func TestParseEndpointErrorsAreSingle(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
	}{
		{"missing target", []string{"path: /x", "auth: true"}},
		{"adapter target", []string{"path: /x", "target: custom_callbacks.anthropic_adapter", "auth: true"}},
		{"negative cost", []string{"path: /x", "target: https://api.example.com/x", "cost_per_request: -1", "auth: true"}},
		{"quoted bool", []string{"path: /x", "target: https://api.example.com/x", `forward_headers: "true"`, "auth: true"}},
		{"timeout zero", []string{"path: /x", "target: https://api.example.com/x", "timeout: 0", "auth: true"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := config.Parse([]byte(endpointDoc(tt.lines...)))
			if errs := errList(res.Err); len(errs) != 1 {
				t.Errorf("got %d errors, want exactly 1: %q", len(errs), errs)
			}
		})
	}
}

func TestParseUnknownFieldWarns(t *testing.T) {
	doc := "general_settings:\n" +
		"  pass_through_endpoints:\n" +
		"    - path: /x\n" +
		"      target: https://api.example.com/x\n" +
		"      auth: true\n" +
		"      forward_header: true\n" +
		"      is_from_config: true\n"
	res := config.Parse([]byte(doc))
	if res.Err != nil {
		t.Fatalf("an unknown field must not be an error: %v", res.Err)
	}
	want := []string{
		`pass_through_endpoints[0] (/x): unknown field "forward_header" is ignored (line 6)`,
		`pass_through_endpoints[0] (/x): unknown field "is_from_config" is ignored (line 7)`,
	}
	if !slices.Equal(res.Warnings, want) {
		t.Errorf("Warnings = %q, want %q", res.Warnings, want)
	}
	if res.Config.Endpoints[0].ForwardHeaders {
		t.Error("the misspelt forward_header must not turn forward_headers on")
	}
}

func TestParseOtherWarnings(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{
			"key header on a public endpoint",
			endpointDoc("path: /x", "target: https://api.example.com/x", "auth: false", "headers:", "  litellm_user_api_key: x-api-key"),
			[]string{"pass_through_endpoints[1] (/x): headers.litellm_user_api_key has no effect on an `auth: false` endpoint"},
		},
		{
			"no endpoints",
			"general_settings:\n  master_key: sk-1234\n",
			[]string{"config: general_settings.pass_through_endpoints is empty: every request will get 404"},
		},
		{
			"no general_settings",
			"model_list:\n  - model_name: x\n",
			[]string{"config: general_settings.pass_through_endpoints is empty: every request will get 404"},
		},
		{
			"empty list",
			"general_settings:\n  pass_through_endpoints: []\n",
			[]string{"config: general_settings.pass_through_endpoints is empty: every request will get 404"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := config.Parse([]byte(tt.doc))
			if res.Err != nil {
				t.Fatalf("Parse: %v", res.Err)
			}
			if res.Config == nil {
				t.Fatal("nil Config")
			}
			if !slices.Equal(res.Warnings, tt.want) {
				t.Errorf("Warnings = %q, want %q", res.Warnings, tt.want)
			}
		})
	}
}

func TestParseDuplicates(t *testing.T) {
	ep := func(index int, path, methods string) string {
		s := "    - path: " + path + "\n" +
			"      target: https://api.example.com/t" + string(rune('0'+index)) + "\n" +
			"      auth: true\n"
		if methods != "" {
			s += "      methods: " + methods + "\n"
		}
		return s
	}
	head := "general_settings:\n  pass_through_endpoints:\n"
	tests := []struct {
		name string
		doc  string
		want []string // nil: no error
	}{
		{"same path, disjoint methods", head + ep(0, "/x", "[POST]") + ep(1, "/x", "[GET]"), nil},
		{"different paths", head + ep(0, "/x", "") + ep(1, "/y", ""), nil},
		{"one shared method", head + ep(0, "/x", "[POST, PUT]") + ep(1, "/x", "[GET, PUT]"),
			[]string{"pass_through_endpoints[1] (/x): path /x method PUT is already served by pass_through_endpoints[0] (/x)"}},
		{"method case differs", head + ep(0, "/x", "[post]") + ep(1, "/x", "[POST]"),
			[]string{"pass_through_endpoints[1] (/x): path /x method POST is already served by pass_through_endpoints[0] (/x)"}},
		{"default methods against explicit", head + ep(0, "/x", "[DELETE]") + ep(1, "/y", "") + ep(2, "/x", ""),
			[]string{"pass_through_endpoints[2] (/x): path /x method DELETE is already served by pass_through_endpoints[0] (/x)"}},
		{"third endpoint names the first owner", head + ep(0, "/x", "[GET]") + ep(1, "/x", "[POST]") + ep(2, "/x", "[GET]"),
			[]string{"pass_through_endpoints[2] (/x): path /x method GET is already served by pass_through_endpoints[0] (/x)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := config.Parse([]byte(tt.doc))
			got := errList(res.Err)
			if !slices.Equal(got, tt.want) {
				t.Errorf("errors = %q, want %q", got, tt.want)
			}
			if tt.want == nil && res.Config == nil {
				t.Error("nil Config without error")
			}
		})
	}
}

func TestParseDocumentErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"general_settings scalar", "general_settings: nope\n", "general_settings: must be a mapping (line 1)"},
		{"general_settings list", "general_settings:\n  - a\n", "general_settings: must be a mapping (line 2)"},
		{"endpoints mapping", "general_settings:\n  pass_through_endpoints:\n    path: /x\n", "general_settings.pass_through_endpoints: must be a list (line 3)"},
		{"request timeout quoted", "general_settings:\n  pass_through_request_timeout: \"600\"\n", `general_settings.pass_through_request_timeout: must be a number, found "600" (line 2)`},
		{"request timeout zero", "general_settings:\n  pass_through_request_timeout: 0\n", "general_settings.pass_through_request_timeout: must be a number of seconds between 0 and 86400, found 0 (line 2)"},
		{"master key list", "general_settings:\n  master_key: [a]\n", "general_settings.master_key: must be a string (line 2)"},
		{"top level list", "- general_settings\n", "config: the top level must be a mapping, found a list"},
		{"invalid YAML", "general_settings:\n  pass_through_endpoints: [\n", "config is not valid YAML: "},
		{"tab indentation", "general_settings:\n\tmaster_key: x\n", "config is not valid YAML: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := config.Parse([]byte(tt.doc))
			if res.Config != nil {
				t.Errorf("Config = %+v, want nil", res.Config)
			}
			got := errList(res.Err)
			if len(got) != 1 || !strings.Contains(got[0], tt.want) {
				t.Errorf("errors = %q, want exactly one containing %q", got, tt.want)
			}
		})
	}
}

// An os.environ/ reference in master_key is checked like one in a header: without a name it
// would resolve to an empty key (every keyed route answers 401) and CheckSecrets would not
// notice, since SecretRefs skips a reference without a name.
func TestParseMasterKeyRef(t *testing.T) {
	tests := []struct {
		name, value, want string
	}{
		{"no name", "os.environ/", "general_settings.master_key: os.environ/ names no variable"},
		{"name with space", `"os.environ/MASTER KEY"`, `general_settings.master_key: secret name "MASTER KEY" must not contain white space`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := "general_settings:\n  master_key: " + tt.value + "\n" +
				"  pass_through_endpoints:\n    - {path: /x, target: 'https://h.example.com', auth: true}\n"
			res := config.Parse([]byte(doc))
			got := errList(res.Err)
			if len(got) != 1 || !strings.Contains(got[0], tt.want) {
				t.Errorf("errors = %q, want exactly one containing %q", got, tt.want)
			}
		})
	}
}

func TestParseReportsEveryError(t *testing.T) {
	res := config.Parse(readFixture(t, "many_errors.yaml"))
	if res.Config != nil {
		t.Errorf("Config = %+v, want nil", res.Config)
	}
	want := []string{
		"pass_through_endpoints[1] (/no-target): target: is required",
		"pass_through_endpoints[2]: path: is required",
		`pass_through_endpoints[3] (/bad-target): target: "ftp://files.example.com/x" must be an absolute http:// or https:// URL`,
		`pass_through_endpoints[5] (/flags): forward_headers: must be true or false, found "true" (line 21)`,
		"pass_through_endpoints[5] (/flags): timeout: must be a number of seconds between 0 and 86400, found 0 (line 22)",
		"pass_through_endpoints[4] (/ok): path /ok method POST is already served by pass_through_endpoints[0] (/ok)",
	}
	got := errList(res.Err)
	if !slices.Equal(got, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if res.Err != nil && res.Err.Error() != strings.Join(want, "\n") {
		t.Errorf("Err.Error() = %q, want one error per line", res.Err.Error())
	}
}

// fakeResolver resolves names from a map and counts lookups.
type fakeResolver struct {
	values map[string]string
	calls  map[string]int
}

func (f *fakeResolver) Resolve(_ context.Context, name string) (string, error) {
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[name]++
	if v, ok := f.values[name]; ok {
		return v, nil
	}
	return "", &secrets.NotFoundError{Name: name}
}

const secretsDoc = `general_settings:
  master_key: os.environ/MASTER_KEY
  pass_through_endpoints:
    - path: /a
      target: https://a.example.com
      auth: true
      headers:
        Authorization: "bearer os.environ/SHARED_KEY"
        X-Tenant: "os.environ/TENANT"
        X-Plain: not-a-secret
    - path: /b
      target: https://b.example.com
      auth: true
      headers:
        x-api-key: os.environ/SHARED_KEY
    - path: /lf
      target: https://cloud.langfuse.com
      auth: true
      headers:
        LANGFUSE_PUBLIC_KEY: os.environ/LF_PK
        LANGFUSE_SECRET_KEY: os.environ/LF_SK
`

func TestSecretRefs(t *testing.T) {
	res := config.Parse([]byte(secretsDoc))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	want := []string{"MASTER_KEY", "SHARED_KEY", "TENANT", "LF_PK", "LF_SK"}
	if got := res.Config.SecretRefs(); !slices.Equal(got, want) {
		t.Errorf("SecretRefs = %q, want %q", got, want)
	}

	literal := &config.Config{MasterKey: "sk-1234", Endpoints: []config.Endpoint{{Headers: []config.Header{{Name: "A", Value: "b"}}}}}
	if got := literal.SecretRefs(); got != nil {
		t.Errorf("SecretRefs of literal values = %q, want none", got)
	}
}

// SecretRefs promises file order; the Langfuse keys are headers like any other.
func TestSecretRefsOrder(t *testing.T) {
	doc := `general_settings:
  pass_through_endpoints:
    - path: /lf
      target: https://cloud.langfuse.com
      auth: true
      headers:
        LANGFUSE_PUBLIC_KEY: os.environ/LF_PK
        LANGFUSE_SECRET_KEY: os.environ/LF_SK
        X-Extra: os.environ/EXTRA
`
	res := config.Parse([]byte(doc))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	want := []string{"EXTRA", "LF_PK", "LF_SK"}
	if got := res.Config.SecretRefs(); !slices.Equal(got, want) {
		t.Errorf("SecretRefs = %q, want %q (headers, then the Langfuse pair)", got, want)
	}
}

func TestCheckSecrets(t *testing.T) {
	res := config.Parse([]byte(secretsDoc))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	cfg := res.Config
	all := map[string]string{
		"MASTER_KEY": "VALUE-master-9f3a",
		"SHARED_KEY": "VALUE-shared-7c1d",
		"TENANT":     "VALUE-tenant-2b8e",
		"LF_PK":      "VALUE-lfpk-4e6f",
		"LF_SK":      "VALUE-lfsk-0a5c",
	}
	without := func(names ...string) map[string]string {
		m := map[string]string{}
		for k, v := range all {
			if !slices.Contains(names, k) {
				m[k] = v
			}
		}
		return m
	}
	tests := []struct {
		name    string
		values  map[string]string
		want    []string
		missing []string
	}{
		{"all set", all, nil, nil},
		{"master key missing", without("MASTER_KEY"),
			[]string{`os.environ/MASTER_KEY (used by general_settings.master_key): secret "MASTER_KEY" is not set`},
			[]string{"MASTER_KEY"}},
		{"shared header secret missing", without("SHARED_KEY"),
			[]string{`os.environ/SHARED_KEY (used by pass_through_endpoints[0] (/a) headers.Authorization, pass_through_endpoints[1] (/b) headers.x-api-key): secret "SHARED_KEY" is not set`},
			[]string{"SHARED_KEY"}},
		{"several missing", without("TENANT", "LF_SK", "MASTER_KEY"),
			[]string{
				`os.environ/MASTER_KEY (used by general_settings.master_key): secret "MASTER_KEY" is not set`,
				`os.environ/TENANT (used by pass_through_endpoints[0] (/a) headers.X-Tenant): secret "TENANT" is not set`,
				`os.environ/LF_SK (used by pass_through_endpoints[2] (/lf) headers.LANGFUSE_SECRET_KEY): secret "LF_SK" is not set`,
			},
			[]string{"MASTER_KEY", "TENANT", "LF_SK"}},
		{"langfuse public key missing", without("LF_PK"),
			[]string{`os.environ/LF_PK (used by pass_through_endpoints[2] (/lf) headers.LANGFUSE_PUBLIC_KEY): secret "LF_PK" is not set`},
			[]string{"LF_PK"}},
		{"nothing set", map[string]string{}, nil, []string{"MASTER_KEY", "SHARED_KEY", "TENANT", "LF_PK", "LF_SK"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &fakeResolver{values: tt.values}
			err := cfg.CheckSecrets(context.Background(), r)
			got := errList(err)
			if tt.want != nil && !slices.Equal(got, tt.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if len(got) != len(tt.missing) {
				t.Errorf("got %d errors, want %d: %q", len(got), len(tt.missing), got)
			}
			for _, name := range tt.missing {
				var nf *secrets.NotFoundError
				if !errors.As(err, &nf) {
					t.Errorf("error does not wrap *secrets.NotFoundError: %v", err)
				}
				if err == nil || !strings.Contains(err.Error(), "os.environ/"+name+" (used by ") {
					t.Errorf("error %v does not name os.environ/%s and its users", err, name)
				}
			}
			if err != nil {
				for name, v := range tt.values {
					if strings.Contains(err.Error(), v) {
						t.Errorf("error text leaks the value of %s: %q", name, err.Error())
					}
				}
			}
			for name, n := range r.calls {
				if n != 1 {
					t.Errorf("Resolve(%s) called %d times, want once", name, n)
				}
			}
			if len(r.calls) != 5 {
				t.Errorf("resolved %d names, want 5 (%v)", len(r.calls), r.calls)
			}
		})
	}
}

// A stored route spec is one endpoint in JSON; it must read exactly as the same YAML.
func TestParseEndpointJSONEqualsYAML(t *testing.T) {
	tests := []struct {
		name       string
		yaml, json string
	}{
		{
			"every field",
			`id: rerank-post
path: /v1/rerank
target: "https://api.cohere.com/v1/rerank?client=gw"
headers:
  Authorization: "bearer os.environ/COHERE_API_KEY"
  content-type: application/json
  litellm_user_api_key: x-api-key
forward_headers: true
include_subpath: true
methods: [post, PUT]
auth: true
timeout: 2.5
merge_query_params: true
default_query_params: {api_version: "2023-01", limit: 10, ratio: 0.5}
cost_per_request: 0.5
guardrails:
  pii-guard:
  content-moderation:
    request_fields: [query, "documents[*].text"]
    response_fields: ["results[*].text"]
`,
			`{
  "id": "rerank-post",
  "path": "/v1/rerank",
  "target": "https://api.cohere.com/v1/rerank?client=gw",
  "headers": {
    "Authorization": "bearer os.environ/COHERE_API_KEY",
    "content-type": "application/json",
    "litellm_user_api_key": "x-api-key"
  },
  "forward_headers": true,
  "include_subpath": true,
  "methods": ["post", "PUT"],
  "auth": true,
  "timeout": 2.5,
  "merge_query_params": true,
  "default_query_params": {"api_version": "2023-01", "limit": 10, "ratio": 0.5},
  "cost_per_request": 0.5,
  "guardrails": {
    "pii-guard": null,
    "content-moderation": {"request_fields": ["query", "documents[*].text"], "response_fields": ["results[*].text"]}
  }
}`,
		},
		{
			"langfuse, string auth",
			`path: /api/public/ingestion
target: https://us.cloud.langfuse.com/api/public/ingestion
auth: "False"
custom_auth_parser: langfuse
guardrails: [a, b]
headers:
  LANGFUSE_PUBLIC_KEY: os.environ/LANGFUSE_PUBLIC_KEY
  LANGFUSE_SECRET_KEY: os.environ/LANGFUSE_SECRET_KEY
`,
			`{"path": "/api/public/ingestion", "target": "https://us.cloud.langfuse.com/api/public/ingestion",
 "auth": "False", "custom_auth_parser": "langfuse", "guardrails": ["a", "b"],
 "headers": {"LANGFUSE_PUBLIC_KEY": "os.environ/LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY": "os.environ/LANGFUSE_SECRET_KEY"}}`,
		},
		{
			"minimal, no auth",
			"path: /x\ntarget: https://h.example.com\n",
			`{"path":"/x","target":"https://h.example.com"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ey, wy, erry := config.ParseEndpoint([]byte(tt.yaml))
			ej, wj, errj := config.ParseEndpoint([]byte(tt.json))
			if erry != nil || errj != nil {
				t.Fatalf("ParseEndpoint: yaml err %v, json err %v", erry, errj)
			}
			diffEndpoint(t, ej, ey)
			// Warnings carry line numbers, which differ between the layouts; compare without them.
			strip := func(ws []string) []string {
				var out []string
				for _, w := range ws {
					if i := strings.LastIndex(w, " (line "); i >= 0 {
						w = w[:i]
					}
					out = append(out, w)
				}
				return out
			}
			if !slices.Equal(strip(wj), strip(wy)) {
				t.Errorf("JSON warnings %q, YAML warnings %q", wj, wy)
			}
		})
	}

	// Spot-check the first pair against exact values so "equal" cannot mean "equally empty".
	e, _, err := config.ParseEndpoint([]byte(tests[0].json))
	if err != nil {
		t.Fatal(err)
	}
	want := config.Endpoint{
		ID:     "rerank-post",
		Path:   "/v1/rerank",
		Target: "https://api.cohere.com/v1/rerank?client=gw",
		Headers: []config.Header{
			{Name: "Authorization", Value: "bearer os.environ/COHERE_API_KEY"},
			{Name: "content-type", Value: "application/json"},
		},
		KeyHeader:          "x-api-key",
		ForwardHeaders:     true,
		IncludeSubpath:     true,
		Methods:            []string{"POST", "PUT"},
		Auth:               config.AuthGranted,
		Timeout:            2500 * time.Millisecond,
		MergeQueryParams:   true,
		DefaultQueryParams: []config.Param{{Name: "api_version", Value: "2023-01"}, {Name: "limit", Value: "10"}, {Name: "ratio", Value: "0.5"}},
		CostPerRequest:     ptr(0.5),
		Guardrails: []config.Guardrail{
			{Name: "pii-guard"},
			{Name: "content-moderation", RequestFields: []string{"query", "documents[*].text"}, ResponseFields: []string{"results[*].text"}},
		},
	}
	diffEndpoint(t, e, want)
}

func TestParseEndpointErrorsJSON(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{"invalid JSON", `{"path": "/x",`, []string{"endpoint is not valid JSON or YAML: "}},
		{"empty document", "", []string{"endpoint: empty document"}},
		{"missing target", `{"path": "/x", "auth": true}`, []string{"pass_through_endpoints[0] (/x): target: is required"}},
		{"string bool", `{"path": "/x", "target": "https://h.example.com", "include_subpath": "true", "auth": true}`,
			[]string{`pass_through_endpoints[0] (/x): include_subpath: must be true or false, found "true" (line 1)`}},
		{"not an object", `["/x"]`, []string{"pass_through_endpoints[0]: must be a mapping with path and target (line 1)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := config.ParseEndpoint([]byte(tt.doc))
			got := errList(err)
			if len(got) != len(tt.want) {
				t.Fatalf("errors = %q, want %d containing %q", got, len(tt.want), tt.want)
			}
			for i := range got {
				if !strings.Contains(got[i], tt.want[i]) {
					t.Errorf("error %d = %q, want it to contain %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestCheckTarget(t *testing.T) {
	tests := []struct {
		target string
		want   string // "" means valid
	}{
		{"https://api.cohere.com/v1/rerank", ""},
		{"http://127.0.0.1:8080", ""},
		{"https://user:pass@h.example.com:8443/base?x=1", "must not carry credentials"},
		{"HTTPS://API.EXAMPLE.COM/x", ""},
		{"ftp://h.example.com/x", "must be an absolute http:// or https:// URL"},
		{"//h.example.com/x", "must be an absolute http:// or https:// URL"},
		{"https://", "has no host"},
		{"https://h.example.com/x#a", "must not have a #fragment"},
		{"custom_callbacks.anthropic_adapter", "adapter targets are not supported yet"},
		{"https://h.example.com/%zz", "is not a valid URL"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			err := config.CheckTarget(tt.target)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("CheckTarget(%q) = %v, want nil", tt.target, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("CheckTarget(%q) = %v, want an error containing %q", tt.target, err, tt.want)
			case strings.Contains(tt.target, "@"):
				if strings.Contains(err.Error(), "pass@") || !strings.Contains(err.Error(), "user:xxxxx@h.example.com") {
					t.Errorf("CheckTarget(%q) = %v, want the target with its password hidden", tt.target, err)
				}
			case tt.want != "" && !strings.Contains(err.Error(), `"`+tt.target+`"`):
				t.Errorf("CheckTarget(%q) = %v, want the message to quote the target", tt.target, err)
			}
		})
	}
}

// LiteLLM loads its config with PyYAML, so anchors, aliases and merge keys must work too.
func TestParseAnchorsAndMergeKeys(t *testing.T) {
	doc := `
x-defaults: &defaults
  auth: false
  forward_headers: true
x-headers: &hdrs
  Authorization: "bearer os.environ/K"
general_settings:
  master_key: sk-1234
  pass_through_endpoints:
    - <<: *defaults
      path: /a
      target: https://a.example.com
      headers: *hdrs
    - <<: [*defaults]
      path: /b
      target: https://b.example.com
      auth: true
`
	res := config.Parse([]byte(doc))
	if res.Err != nil || len(res.Warnings) != 0 {
		t.Fatalf("err %v, warnings %q", res.Err, res.Warnings)
	}
	a, b := res.Config.Endpoints[0], res.Config.Endpoints[1]
	if a.Auth != config.AuthPublic || !a.ForwardHeaders || len(a.Headers) != 1 || a.Headers[0].Value != "bearer os.environ/K" {
		t.Errorf("/a = %+v", a)
	}
	if b.Auth != config.AuthGranted || !b.ForwardHeaders { // the key written beside `<<` wins
		t.Errorf("/b = %+v", b)
	}
}

func TestParseSubpathPrefixCollision(t *testing.T) {
	doc := `
general_settings:
  pass_through_endpoints:
    - {path: /bria, target: https://a.example.com, include_subpath: true, auth: false}
    - {path: /bria/, target: https://b.example.com, include_subpath: true, auth: false, methods: [POST]}
`
	res := config.Parse([]byte(doc))
	want := "pass_through_endpoints[1] (/bria/): path /bria/ method POST is already served by pass_through_endpoints[0] (/bria)"
	if res.Err == nil || res.Err.Error() != want {
		t.Errorf("err = %v, want %q", res.Err, want)
	}
}

func TestParseWarnsOnPassThroughTypos(t *testing.T) {
	doc := `
general_settings:
  database_url: postgres://ignored
  pass_through_endpoint:
    - {path: /x, target: https://x.example.com, auth: false}
`
	res := config.Parse([]byte(doc))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	want := "general_settings.pass_through_endpoint is not a LiteLLM setting and is ignored (did you mean pass_through_endpoints?) (line 4)"
	if !slices.Contains(res.Warnings, want) {
		t.Errorf("warnings = %q, want %q", res.Warnings, want)
	}
}
