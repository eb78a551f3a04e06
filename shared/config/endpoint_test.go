package config_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passthru/gateway/shared/config"
)

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
		{"unknown adapter target", []string{"path: /x", "target: custom_callbacks.proxy_handler_instance", "auth: true"},
			x + `target: "custom_callbacks.proxy_handler_instance" names a Python adapter (module.instance), which the gateway cannot load: its built-in adapter is target custom_callbacks.anthropic_adapter (or adapter: anthropic on an OpenAI-compatible URL target); otherwise use an absolute http(s) URL`},
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
		{"custom_callbacks.proxy_handler_instance", "names a Python adapter (module.instance), which the gateway cannot load"},
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
