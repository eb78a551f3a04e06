package proxy_test

import "testing"

// The subpath reaches the upstream in the client's own percent-encoding: a Bedrock model id's
// %3A, an inference-profile ARN's %2F, %25, spaces and unicode escapes, lower-case escapes too;
// encoded dot segments are still resolved (before the route lookup) and a bad escape is a 400.
func TestSubpathKeepsTheClientsEncoding(t *testing.T) {
	const cfg = `
general_settings:
  pass_through_endpoints:
    - path: /bedrock
      target: "{{UP}}/runtime"
      include_subpath: true
      auth: false
`
	up := startUpstream(t, jsonReply(200, `{}`))
	g := startGateway(t, cfg, up.URL)
	arn := "arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3-5-sonnet-20240620-v1%3A0"
	tests := []struct{ requestURI, upstreamURI string }{
		{"/bedrock/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse", "/runtime/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"},
		{"/bedrock/model/" + arn + "/converse-stream", "/runtime/model/" + arn + "/converse-stream"},
		{"/bedrock/x/100%25off/a%20b/%CE%BB/v1%3a0", "/runtime/x/100%25off/a%20b/%CE%BB/v1%3a0"},
		{"/bedrock/x/%2e%2e/%2E%2E/bedrock/admin", "/runtime/admin"},
		{"/bedrock/a/b%2F..%2F..%2Fadmin", "/runtime/admin"},
	}
	for _, tt := range tests {
		resp, body := rawRequest(t, g.URL, "POST "+tt.requestURI)
		if resp.StatusCode != 200 {
			t.Errorf("%s: status %d %s", tt.requestURI, resp.StatusCode, body)
			continue
		}
		if got := up.last(t).URI; got != tt.upstreamURI {
			t.Errorf("%s: upstream got %s, want %s", tt.requestURI, got, tt.upstreamURI)
		}
	}
}
