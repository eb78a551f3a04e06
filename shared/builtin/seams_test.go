package builtin_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/passthru/gateway/shared/builtin"
	"github.com/passthru/gateway/shared/route"
	"github.com/passthru/gateway/shared/secrets"
)

// bodySigner stands for SigV4: it signs the method, the path as sent and the body's hash, and
// has no credential while key is empty.
type bodySigner struct{ key string }

func (s bodySigner) NeedsBody() bool { return true }

func (s bodySigner) Authorize(_ context.Context, req *http.Request, body []byte) error {
	if s.key == "" {
		return &secrets.NotFoundError{Name: "SIGNING_KEY"}
	}
	sum := sha256.Sum256(body)
	req.Header.Set("X-Signature", s.key+":"+req.Method+":"+req.URL.EscapedPath()+":"+hex.EncodeToString(sum[:]))
	return nil
}

// withProvider serves an extra registry row for the test's duration.
func withProvider(t *testing.T, p builtin.Provider) {
	saved := builtin.Registry
	builtin.Registry = append(append([]builtin.Provider(nil), saved...), p)
	t.Cleanup(func() { builtin.Registry = saved })
}

// The seams part 2's providers plug into: a per-request Target (host from the path), an
// allow-list of client headers, and an Authorizer that signs the exact bytes sent.
func TestTargetAllowListAndAuthorizer(t *testing.T) {
	up := newRecorder(t)
	signer := bodySigner{key: "k1"}
	withProvider(t, builtin.Provider{
		Name: "signed", Prefixes: []string{"/signed"}, Base: "https://unused.invalid",
		Credential:     builtin.Credential{Kind: builtin.Authorized, Secrets: []string{"SIGNING_KEY"}},
		ForwardHeaders: true, AllowHeaders: []string{"Content-Type", "Anthropic-Beta"},
		Target: func(_ builtin.Options, subpath string) (*url.URL, string, error) {
			region, rest, ok := strings.Cut(strings.TrimPrefix(subpath, "/"), "/")
			if !ok || region == "" {
				return nil, "", fmt.Errorf("no region in %q", subpath)
			}
			u, _ := url.Parse(up.srv.URL + "/" + region)
			return u, "/" + rest, nil
		},
		Authorizer: func(builtin.Options) route.Authorizer { return signer },
	})
	gw, _ := gateway(t, up, providerKeys, "", nil)

	body := `{"anthropic_version":"bedrock-2023-05-31","messages":[]}`
	status, resp := call{target: "/signed/eu-west-1/model/anthropic.claude-3%3A0/invoke", body: body, header: map[string]string{
		"Authorization": "Bearer " + master, "Content-Type": "application/json", "Anthropic-Beta": "b1", "X-Other": "dropped"}}.do(t, gw.URL)
	got, _ := up.last(t)
	sum := sha256.Sum256([]byte(body))
	wantSig := "k1:POST:/eu-west-1/model/anthropic.claude-3%3A0/invoke:" + hex.EncodeToString(sum[:])
	if status != 200 || got.uri != "/eu-west-1/model/anthropic.claude-3%3A0/invoke" || string(got.body) != body {
		t.Fatalf("%d %s; upstream %s %q", status, resp, got.uri, got.body)
	}
	hdr := map[string]string{}
	for name, vv := range got.header {
		if name != "Content-Length" {
			hdr[name] = strings.Join(vv, ",")
		}
	}
	want := map[string]string{"Content-Type": "application/json", "Anthropic-Beta": "b1", "X-Signature": wantSig}
	if !mapsEqual(hdr, want) {
		t.Errorf("upstream headers %v, want %v", hdr, want)
	}

	// A subpath the Target refuses is the client's 400; nothing goes upstream.
	status, resp = call{target: "/signed/", body: body, header: map[string]string{"Authorization": "Bearer " + master}}.do(t, gw.URL)
	if _, called := up.last(t); status != 400 || called ||
		resp != `{"error":{"message":"Invalid request URL: no region in \"/\"","type":"invalid_request_error","param":"None","code":"400"}}` {
		t.Errorf("bad subpath: %d %s (upstream called %v)", status, resp, called)
	}
	// A body over the signing limit is refused whole, never sent unsigned.
	big := strings.Repeat("x", route.MaxSignedBody+1)
	status, resp = call{target: "/signed/r/x", body: big, header: map[string]string{"Authorization": "Bearer " + master}}.do(t, gw.URL)
	if _, called := up.last(t); status != 413 || called ||
		resp != `{"error":{"message":"the request body is over 32 MiB, the most this route can sign","type":"invalid_request_error","param":"None","code":"413"}}` {
		t.Errorf("big body: %d %s (upstream called %v)", status, resp, called)
	}
}

// An Authorizer without its credential answers 401 naming it, before anything goes upstream.
func TestAuthorizerWithoutCredential(t *testing.T) {
	up := newRecorder(t)
	withProvider(t, builtin.Provider{
		Name: "signed", Prefixes: []string{"/signed"}, Base: up.srv.URL,
		Credential: builtin.Credential{Kind: builtin.Authorized, Secrets: []string{"SIGNING_KEY"}},
		Authorizer: func(builtin.Options) route.Authorizer { return bodySigner{} },
	})
	gw, _ := gateway(t, up, providerKeys, "", nil)
	status, resp := call{target: "/signed/x", body: "{}", header: map[string]string{"Authorization": "Bearer " + master}}.do(t, gw.URL)
	const want = `{"error":{"message":"The gateway has no signed credential for /signed: set SIGNING_KEY (the environment locally, Secrets Manager on AWS).","type":"auth_error","param":"None","code":"401"}}`
	if _, called := up.last(t); status != 401 || resp != want || called {
		t.Errorf("%d %s (upstream called %v), want 401 %s", status, resp, called, want)
	}
}
