package config_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/secrets"
)

// default_vertex_config in LiteLLM's shape: every accepted spelling of each field.
func TestDefaultVertexConfig(t *testing.T) {
	tests := []struct {
		name  string
		doc   string
		want  *config.VertexConfig
		warns []string
	}{
		{"absent", "general_settings: {}\n", nil, nil},
		{"null", "default_vertex_config:\n", nil, nil},
		{"literal values, credentials by reference",
			"default_vertex_config:\n  vertex_project: adroit-crow-413218\n  vertex_location: us-central1\n  vertex_credentials: os.environ/VERTEX_SA\n",
			&config.VertexConfig{Project: "adroit-crow-413218", Location: "us-central1", Credentials: "os.environ/VERTEX_SA"}, nil},
		{"project and location from the environment, credentials as a path",
			"default_vertex_config:\n  vertex_project: os.environ/GCP_PROJECT\n  vertex_location: os.environ/GCP_LOCATION\n  vertex_credentials: /etc/sa.json\n",
			&config.VertexConfig{Project: "os.environ/GCP_PROJECT", Location: "os.environ/GCP_LOCATION", Credentials: "/etc/sa.json"}, nil},
		{"credentials as a YAML mapping (LiteLLM accepts a dict)",
			"default_vertex_config:\n  vertex_location: global\n  vertex_credentials:\n    type: service_account\n    client_email: sa@p.iam.gserviceaccount.com\n",
			&config.VertexConfig{Location: "global", Credentials: `{"client_email":"sa@p.iam.gserviceaccount.com","type":"service_account"}`}, nil},
		{"legacy domain-scoped project, null fields skipped",
			"default_vertex_config:\n  vertex_project: example.com:my-project\n  vertex_location: null\n",
			&config.VertexConfig{Project: "example.com:my-project"}, nil},
		{"vertex_region and unknown keys warn",
			"default_vertex_config:\n  vertex_region: us-central1\n  vertex_projet: x\n  vertex_location: eu\n",
			&config.VertexConfig{Location: "eu"},
			[]string{
				"default_vertex_config.vertex_region is ignored: LiteLLM and the gateway read vertex_location (line 2)",
				"default_vertex_config.vertex_projet is unknown and ignored (known: vertex_project, vertex_location, vertex_credentials) (line 3)",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := config.Parse([]byte(tt.doc))
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			got := res.Config.Vertex
			if (got == nil) != (tt.want == nil) || got != nil && *got != *tt.want {
				t.Errorf("Vertex = %+v, want %+v", got, tt.want)
			}
			if !slices.Equal(res.Warnings, tt.warns) {
				t.Errorf("warnings %q, want %q", res.Warnings, tt.warns)
			}
		})
	}
}

func TestDefaultVertexConfigErrors(t *testing.T) {
	tests := []struct{ doc, want string }{
		{"default_vertex_config: [a]\n", "default_vertex_config: must be a mapping with vertex_project, vertex_location and vertex_credentials (line 1)"},
		{"default_vertex_config:\n  vertex_location: us-central1.evil.com\n",
			`default_vertex_config.vertex_location: "us-central1.evil.com" is not a Vertex AI location such as us-central1, europe-west4, us, eu or global (line 2)`},
		{"default_vertex_config:\n  vertex_location: US-CENTRAL1\n",
			`default_vertex_config.vertex_location: "US-CENTRAL1" is not a Vertex AI location such as us-central1, europe-west4, us, eu or global (line 2)`},
		{"default_vertex_config:\n  vertex_project: a/b\n", `default_vertex_config.vertex_project: "a/b" is not a Google Cloud project id (line 2)`},
		{"default_vertex_config:\n  vertex_project: [a]\n", `default_vertex_config.vertex_project: must be a string, found a list (line 2)`},
		{"default_vertex_config:\n  vertex_project: p-os.environ/X\n", `default_vertex_config.vertex_project: "p-os.environ/X": an os.environ/ reference must be the whole value (line 2)`},
		{"default_vertex_config:\n  vertex_credentials: \"Bearer os.environ/SA\"\n",
			"default_vertex_config.vertex_credentials: an os.environ/ reference must be the whole value (the secret holds the service account's JSON or a path to it) (line 2)"},
		{"default_vertex_config:\n  vertex_credentials: os.environ/\n", "default_vertex_config.vertex_credentials: os.environ/ names no variable (line 2)"},
		{"default_vertex_config:\n  vertex_credentials: \"\"\n", "default_vertex_config.vertex_credentials: must not be empty (line 2)"},
	}
	for _, tt := range tests {
		res := config.Parse([]byte(tt.doc))
		if res.Err == nil || res.Err.Error() != tt.want {
			t.Errorf("%q: error %v, want %s", tt.doc, res.Err, tt.want)
		}
	}
}

// The service account reference is a secret like any other: listed, checked, named in errors;
// a service account written into the file is a literal credential.
func TestDefaultVertexConfigSecrets(t *testing.T) {
	res := config.Parse([]byte("general_settings:\n  master_key: os.environ/MK\ndefault_vertex_config:\n  vertex_project: os.environ/GCP_PROJECT\n  vertex_credentials: os.environ/VERTEX_SA\n"))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if got, want := res.Config.SecretRefs(), []string{"MK", "VERTEX_SA"}; !slices.Equal(got, want) {
		t.Errorf("SecretRefs = %q, want %q (the project is read from the environment, not a secret)", got, want)
	}
	err := res.Config.CheckSecrets(context.Background(), secrets.Inline{"MK": "x"})
	if want := `os.environ/VERTEX_SA (used by default_vertex_config.vertex_credentials): secret "VERTEX_SA" is not set`; err == nil || err.Error() != want {
		t.Errorf("CheckSecrets: %v, want %s", err, want)
	}
	if got := res.Config.LiteralCredentials(); got != nil {
		t.Errorf("LiteralCredentials = %q, want none", got)
	}
	for doc, want := range map[string][]string{
		"default_vertex_config:\n  vertex_credentials: '{\"type\":\"service_account\"}'\n":     {"default_vertex_config.vertex_credentials"},
		"default_vertex_config:\n  vertex_credentials:\n    type: service_account\n":           {"default_vertex_config.vertex_credentials"},
		"default_vertex_config:\n  vertex_credentials: /var/task/sa.json\n":                    nil,
		"default_vertex_config:\n  vertex_project: p\n":                                        nil,
		"default_vertex_config:\n  vertex_credentials: \"  {\\\"type\\\":\\\"x\\\"}\"\n":       {"default_vertex_config.vertex_credentials"},
		"default_vertex_config:\n  vertex_credentials: os.environ/SA\n  vertex_location: eu\n": nil,
	} {
		res := config.Parse([]byte(doc))
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		if got := res.Config.LiteralCredentials(); !slices.Equal(got, want) {
			t.Errorf("%s: LiteralCredentials = %q, want %q", strings.TrimSpace(doc), got, want)
		}
	}
}

func TestCheckVertexLocation(t *testing.T) {
	for _, ok := range []string{"us-central1", "europe-west4", "global", "us", "eu", "asia-northeast1", "me-central2"} {
		if err := config.CheckVertexLocation(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "1us", "us-", "US", "us_central1", "us.evil.com", "us/x", "us%2Fx", "us-central1@evil", "eu:443", strings.Repeat("a", 64)} {
		if config.CheckVertexLocation(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
