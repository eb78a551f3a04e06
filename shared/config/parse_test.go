package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passthru/gateway/shared/config"
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

// The seed's adapter config (`target: custom_callbacks.anthropic_adapter`, the key in
// x-api-key, the backend in model_list) loads verbatim: an adapter endpoint serving POST, its
// model_list entry with the provider's default key reference.
func TestParseSeedAdapter(t *testing.T) {
	res := config.Parse(readFixture(t, "seed_adapter.yaml"))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	e := res.Config.Endpoints[0]
	if e.Adapter != config.AdapterAnthropic || e.Target != config.AnthropicAdapterTarget || e.KeyHeader != "x-api-key" || !slices.Equal(e.Methods, []string{"POST"}) {
		t.Errorf("endpoint = %+v", e)
	}
	want := []config.Model{{Name: "my-fake-claude-endpoint", Model: "gpt-3.5-turbo", APIKey: "os.environ/OPENAI_API_KEY"}}
	if !reflect.DeepEqual(res.Config.Models, want) {
		t.Errorf("Models = %+v, want %+v", res.Config.Models, want)
	}
	if refs := res.Config.SecretRefs(); !slices.Equal(refs, []string{"OPENAI_API_KEY"}) {
		t.Errorf("SecretRefs = %q", refs)
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
	var wantWarnings []string
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
		// Without endpoints the built-in provider routes still serve: nothing to warn about.
		{"no endpoints", "general_settings:\n  master_key: sk-1234\n", nil},
		{"no general_settings", "model_list:\n  - model_name: x\n", nil},
		{"empty list", "general_settings:\n  pass_through_endpoints: []\n", nil},
		{
			"no endpoints, built-in routes off",
			"general_settings:\n  disabled_provider_routes: [\"*\"]\n",
			[]string{"config: general_settings.pass_through_endpoints is empty and the built-in provider routes are off: every request will get 404"},
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
