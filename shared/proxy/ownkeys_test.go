package proxy_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/passthru/gateway/shared/auth"
	"github.com/passthru/gateway/shared/keys"
	"github.com/passthru/gateway/shared/proxy"
)

const (
	validVirtual   = "sk-gw-Valid0000000000000000000000000"
	revokedVirtual = "sk-gw-Revoked00000000000000000000000"
	unknownVirtual = "sk-gw-Unknown00000000000000000000000"
)

// ownKeysConfig has a route of each auth mode that forwards the caller's headers, one that
// forwards none, and one reading the key from its own header.
const ownKeysConfig = `
general_settings:
  master_key: sk-1234
  pass_through_endpoints:
    - {path: /pub, target: "{{UP}}/pub", forward_headers: true, auth: false, include_subpath: true}
    - {path: /pub-plain, target: "{{UP}}/pub-plain", auth: false}
    - {path: /any, target: "{{UP}}/any", forward_headers: true}
    - {path: /granted, target: "{{UP}}/granted", forward_headers: true, auth: true}
    - {path: /own-header, target: "{{UP}}/own-header", forward_headers: true, headers: {litellm_user_api_key: x-gw-key}}
`

// virtualKeys verifies the master key and two stored virtual keys, one of them revoked.
func virtualKeys() proxy.Option {
	store := keys.NewMemory(
		keys.Key{Hash: auth.Hash(validVirtual), Alias: "valid", Routes: []string{"/"}},
		keys.Key{Hash: auth.Hash(revokedVirtual), Alias: "revoked", Disabled: true},
		keys.Key{Hash: auth.Hash("team-plain-key"), Alias: "config-file key"}, // keys: in a config file
		keys.Key{Hash: auth.Hash("team-revoked-key"), Alias: "revoked config-file key", Disabled: true},
	)
	// Config-file keys may have any shape, so (as gateway wires them) the shape check is off.
	return proxy.WithKeys(keys.NewVerifier(auth.NewMasterKey(masterKey), store, keys.WithKeyShape(nil)))
}

// carrier puts a value in one place of a request: a header (raw or as a scheme's credential),
// a Basic pair, the query (as a value, a name, percent-encoded).
type carrier struct {
	name   string
	header func(v string) map[string]string
	query  func(v string) string
}

func carriers() []carrier {
	basic := func(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }
	var cs []carrier
	for _, h := range append(auth.CredentialHeaders(), "X-Custom", "X-Gw-Key", "X-Pass-Authorization", "X-Pass-X-Custom", "Traceparent") {
		cs = append(cs,
			carrier{name: h + " raw", header: func(v string) map[string]string { return map[string]string{h: v} }},
			carrier{name: h + " bearer", header: func(v string) map[string]string { return map[string]string{h: "Bearer " + v} }},
			carrier{name: h + " basic user", header: func(v string) map[string]string { return map[string]string{h: basic(v + ":pw")} }},
			carrier{name: h + " basic password", header: func(v string) map[string]string { return map[string]string{h: basic("user:" + v)} }},
			carrier{name: h + " inside", header: func(v string) map[string]string { return map[string]string{h: "a=1; k=" + v + "; b=2"} }},
		)
	}
	return append(cs,
		carrier{name: "query key", query: func(v string) string { return "key=" + v + "&b=2" }},
		carrier{name: "query other name", query: func(v string) string { return "a=1&q=" + v }},
		carrier{name: "query encoded", query: func(v string) string { return "key=" + url.QueryEscape(v+" x") }},
		carrier{name: "query percent-escaped letters", query: func(v string) string { return "key=%73%6B" + url.QueryEscape(v[2:]) }},
		carrier{name: "query name", query: func(v string) string { return url.QueryEscape(v) + "=1" }},
		carrier{name: "query repeated", query: func(v string) string { return "key=x&key=" + v }},
	)
}

// TestGatewayKeysNeverReachUpstream is a property over every carrier, route and auth mode: the
// master key and any sk-gw- value (valid, revoked, unknown) never reach the upstream, whether
// or not they authenticated the call.
func TestGatewayKeysNeverReachUpstream(t *testing.T) {
	up := startUpstream(t, jsonReply(200, `{}`))
	g := startGateway(t, ownKeysConfig, up.URL, virtualKeys())
	secrets := []string{masterKey, validVirtual, revokedVirtual, unknownVirtual}
	forwarded := 0
	for _, path := range []string{"/pub/x", "/pub-plain", "/any", "/granted", "/own-header"} {
		for _, c := range carriers() {
			for _, secret := range secrets {
				before := up.count()
				header := map[string]string{}
				uri := path
				if c.header != nil {
					header = c.header(secret)
				} else {
					uri += "?" + c.query(secret)
				}
				if path != "/pub/x" && path != "/pub-plain" && header["X-Litellm-Api-Key"] == "" {
					header["X-Litellm-Api-Key"] = validVirtual // authenticates keyed routes
				}
				resp, body := do(t, "GET", g.URL+uri, nil, header)
				g.usage.Next(t) // the sink's buffer is small: take each record
				if up.count() == before {
					continue // refused (401/403): nothing went upstream
				}
				forwarded++
				if resp.StatusCode != 200 {
					t.Fatalf("%s %s: status %d %s", path, c.name, resp.StatusCode, body)
				}
				if leak := leaked(up.last(t), secrets); leak != "" {
					t.Errorf("%s, %s carrying %s: upstream received %s", path, c.name, secret, leak)
				}
			}
		}
	}
	// Public routes forward every combination; keyed ones all but a bad key in the carrier.
	if min := 2 * len(carriers()) * len(secrets); forwarded < min {
		t.Errorf("only %d requests reached the upstream, want at least %d: the property was barely tested", forwarded, min)
	}
}

// leaked names where a secret appears in what the upstream received ("" if nowhere).
func leaked(s seen, secrets []string) string {
	uri, _ := url.QueryUnescape(s.URI)
	for _, secret := range secrets {
		if strings.Contains(s.URI, secret) || strings.Contains(uri, secret) {
			return "URI " + s.URI
		}
		for name, vv := range s.Header {
			for _, v := range vv {
				if strings.Contains(v, secret) || strings.Contains(auth.BasicCredentials(v), secret) {
					return "header " + name + ": " + v
				}
			}
		}
	}
	return ""
}

// A caller's own credentials (unknown to the gateway) still pass on a public route, in the
// query and in headers: only the gateway's keys are taken out.
func TestPublicRouteKeepsCallerCredentials(t *testing.T) {
	up := startUpstream(t, jsonReply(200, `{}`))
	g := startGateway(t, ownKeysConfig, up.URL, virtualKeys())
	tests := []struct {
		name, uri string
		header    map[string]string
		wantURI   string
		wantAuth  string
	}{
		{"master key in ?key= on a public route", "/pub/x?key=" + masterKey + "&b=2", nil, "/pub/x?b=2", ""},
		{"virtual key in ?key=, none in headers", "/pub/x?key=" + validVirtual, nil, "/pub/x", ""},
		{"revoked key in ?api_key=", "/pub/x?a=1&api_key=" + revokedVirtual + "&z=3", nil, "/pub/x?a=1&z=3", ""},
		{"config-file key in ?key=", "/pub/x?key=team-plain-key&b=2", nil, "/pub/x?b=2", ""},
		{"revoked config-file key in ?key=", "/pub/x?b=2&key=team-revoked-key", nil, "/pub/x?b=2", ""},
		{"past two unknown ?key= values, the rest are dropped", "/pub/x?key=a1&key=a2&key=team-plain-key", nil, "/pub/x?key=a1&key=a2", ""},
		{"caller's own query key passes", "/pub/x?key=AIza-caller&b=2", nil, "/pub/x?key=AIza-caller&b=2", ""},
		{"caller's own bearer passes, master in the query goes", "/pub/x?key=" + masterKey, map[string]string{"Authorization": "Bearer caller-own"}, "/pub/x", "Bearer caller-own"},
		{"query left byte for byte when clean", "/pub/x?b=%2c&a=1&a=2", nil, "/pub/x?b=%2c&a=1&a=2", ""},
		{"no forward_headers: query still cleaned", "/pub-plain?x=1&key=" + masterKey, nil, "/pub-plain?x=1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, "GET", g.URL+tt.uri, nil, tt.header)
			wantStatus(t, resp, body, 200)
			got := up.last(t)
			if got.URI != tt.wantURI || got.Header.Get("Authorization") != tt.wantAuth {
				t.Errorf("upstream got URI %q Authorization %q, want %q %q", got.URI, got.Header.Get("Authorization"), tt.wantURI, tt.wantAuth)
			}
		})
	}
}

// failingMaster is a verifier whose master key cannot be read (its secret is unavailable).
type failingMaster struct{ proxy.KeyVerifier }

func (failingMaster) Master(context.Context) (string, error) {
	return "", errors.New("secret unavailable")
}

// When the master key cannot be known, a request that would forward caller values is refused
// (503, as for a key that cannot be checked) rather than risk forwarding it; one that forwards
// nothing of the caller's is served.
func TestMasterKeyUnknownFailsClosed(t *testing.T) {
	up := startUpstream(t, jsonReply(200, `{}`))
	g := startGateway(t, ownKeysConfig, up.URL, proxy.WithKeys(failingMaster{auth.NewMasterKey(masterKey)}))
	resp, body := do(t, "GET", g.URL+"/pub/x?key="+masterKey, nil, nil)
	wantStatus(t, resp, body, 503)
	const want = `{"error":{"message":"Key verification is unavailable; try again shortly.","type":"service_unavailable","param":"None","code":"503"}}`
	if got := strings.TrimSpace(string(body)); got != want {
		t.Errorf("body %s, want %s", got, want)
	}
	if up.count() != 0 {
		t.Errorf("upstream called %d times", up.count())
	}
	resp, body = do(t, "GET", g.URL+"/pub-plain", nil, nil)
	wantStatus(t, resp, body, 200)
}
