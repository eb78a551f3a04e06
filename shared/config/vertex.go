package config

// The top-level `default_vertex_config` section: LiteLLM's default Vertex AI project, location
// and service account for the /vertex_ai pass-through route.

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/passthru/gateway/shared/secrets"
)

// VertexConfig is LiteLLM's default_vertex_config (litellm-providers.md §1.3.2). Project and
// Location, when set, replace the ones a request's path names; Credentials is the service
// account the gateway mints Google access tokens from.
type VertexConfig struct {
	// Project and Location as written: a literal, or an os.environ/ reference read from the
	// environment (they are not secrets; LiteLLM resolves them the same way).
	Project  string
	Location string
	// Credentials is vertex_credentials: an os.environ/ reference (a Secrets Manager secret on
	// AWS) holding the service-account JSON or a path to it, or that JSON or path itself.
	Credentials string
}

// vertexKeys are the keys LiteLLM reads from default_vertex_config.
var vertexKeys = []string{"vertex_project", "vertex_location", "vertex_credentials"}

// defaultVertexConfig reads the top-level default_vertex_config mapping.
func (p *parser) defaultVertexConfig(n *yaml.Node, cfg *Config) {
	if n == nil || isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		p.errorf("default_vertex_config: must be a mapping with vertex_project, vertex_location and vertex_credentials (line %d)", n.Line)
		return
	}
	var v VertexConfig
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i].Value, n.Content[i+1]
		if isNull(val) {
			continue
		}
		var err error
		switch key {
		case "vertex_project":
			err = decodeVertexField(val, &v.Project, checkVertexProject)
		case "vertex_location":
			err = decodeVertexField(val, &v.Location, checkVertexLocation)
		case "vertex_credentials":
			err = decodeVertexCredentials(val, &v.Credentials)
		case "vertex_region": // in some LiteLLM docs, but LiteLLM reads vertex_location
			p.warnf("default_vertex_config.vertex_region is ignored: LiteLLM and the gateway read vertex_location (line %d)", n.Content[i].Line)
		default:
			p.warnf("default_vertex_config.%s is unknown and ignored (known: %s) (line %d)", key, strings.Join(vertexKeys, ", "), n.Content[i].Line)
		}
		if err != nil {
			p.errorf("default_vertex_config.%s: %v (line %d)", key, err, val.Line)
		}
	}
	if v != (VertexConfig{}) {
		cfg.Vertex = &v
	}
}

// decodeVertexField reads a project or location: a literal that check accepts, or an
// os.environ/ reference (read when the route is built).
func decodeVertexField(n *yaml.Node, dst *string, check func(string) error) error {
	var s string
	if err := decodeString(n, &s); err != nil {
		return err
	}
	if err := checkVertexValue(s, check); err != nil {
		return err
	}
	*dst = s
	return nil
}

func checkVertexValue(s string, check func(string) error) error {
	if !secrets.ParseTemplate(s).IsSecret() {
		return check(s)
	}
	if !strings.HasPrefix(s, secrets.RefPrefix) {
		return fmt.Errorf("%q: an os.environ/ reference must be the whole value", s)
	}
	return checkSecretRef(s)
}

// decodeVertexCredentials reads vertex_credentials: a string (reference, JSON or path) or, as
// LiteLLM also accepts, the service account's JSON written as a YAML mapping.
func decodeVertexCredentials(n *yaml.Node, dst *string) error {
	if n.Kind == yaml.MappingNode {
		var m map[string]any
		if err := n.Decode(&m); err != nil {
			return fmt.Errorf("must be a string or a mapping (the service account's JSON): %v", err)
		}
		b, err := json.Marshal(m)
		if err != nil {
			return fmt.Errorf("must be a string or a mapping (the service account's JSON): %v", err)
		}
		*dst = string(b)
		return nil
	}
	var s string
	if err := decodeString(n, &s); err != nil {
		return err
	}
	if err := checkVertexCredentials(s); err != nil {
		return err
	}
	*dst = s
	return nil
}

func checkVertexCredentials(s string) error {
	if t := secrets.ParseTemplate(s); t.IsSecret() && t.Literal != "" {
		return fmt.Errorf("an os.environ/ reference must be the whole value (the secret holds the service account's JSON or a path to it)")
	}
	if err := checkSecretRef(s); err != nil {
		return err
	}
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("must not be empty")
	}
	return nil
}

// Check validates a VertexConfig read from elsewhere than a config file (the SSM settings
// parameter) as Parse validates default_vertex_config; empty fields are unset.
func (v *VertexConfig) Check() error {
	var errs []error
	add := func(field string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("default_vertex_config.%s: %w", field, err))
		}
	}
	if v.Project != "" {
		add("vertex_project", checkVertexValue(v.Project, checkVertexProject))
	}
	if v.Location != "" {
		add("vertex_location", checkVertexValue(v.Location, checkVertexLocation))
	}
	if v.Credentials != "" {
		add("vertex_credentials", checkVertexCredentials(v.Credentials))
	}
	return errors.Join(errs...)
}

// CheckVertexLocation refuses what is no Vertex AI location name. The location becomes part of
// the upstream host ({location}-aiplatform.googleapis.com), so only a DNS label's lowercase
// letters, digits and hyphens pass: nothing a caller writes in a path can change the host.
func CheckVertexLocation(s string) error { return checkVertexLocation(s) }

func checkVertexLocation(s string) error {
	ok := s != "" && len(s) <= 63 && s[0] >= 'a' && s[0] <= 'z' && s[len(s)-1] != '-'
	for i := 0; ok && i < len(s); i++ {
		c := s[i]
		ok = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-'
	}
	if !ok {
		return fmt.Errorf("%q is not a Vertex AI location such as us-central1, europe-west4, us, eu or global", s)
	}
	return nil
}

// checkVertexProject refuses a project that could not be one path segment.
func checkVertexProject(s string) error {
	if s == "" || strings.ContainsAny(s, "/?#% \t\r\n\\") {
		return fmt.Errorf("%q is not a Google Cloud project id", s)
	}
	return nil
}

// literalCredentials reports whether Credentials holds the service account itself (JSON)
// rather than a reference or a path: a credential written into the configuration.
func (v *VertexConfig) literalCredentials() bool {
	return v != nil && strings.HasPrefix(strings.TrimSpace(v.Credentials), "{")
}
