package config_test

import (
	"testing"

	"github.com/passthru/gateway/shared/config"
)

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
