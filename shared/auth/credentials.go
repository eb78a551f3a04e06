package auth

import (
	"context"
	"encoding/base64"
	"net/textproto"
	"strings"
)

// credentialHeader is a header whose value is a credential. carriesKey marks the ones a
// gateway key is read from, in LiteLLM's order (get_api_key in user_api_key_auth.py).
type credentialHeader struct {
	name       string
	carriesKey bool
}

// credentialHeaders is the one list of credential header names. Key extraction reads the
// carriers from it; the proxy keeps x-pass- from setting any of them and redacts them in
// debug logs; `gatewayctl routes push` refuses literal values for them. A name added here is
// covered by all four (tests in this package and in proxy and config check each consumer).
var credentialHeaders = []credentialHeader{
	{"X-Litellm-Api-Key", true},
	{"Authorization", true},
	{"Api-Key", true},        // Azure SDKs
	{"X-Api-Key", true},      // Anthropic SDKs
	{"X-Goog-Api-Key", true}, // Google SDKs
	{"Ocp-Apim-Subscription-Key", false},
	{"Proxy-Authorization", false},
	{"X-Amz-Security-Token", false},
	{"Cookie", false},
	{"Set-Cookie", false},
}

// CredentialHeaders returns the canonical names of the headers whose values are credentials.
func CredentialHeaders() []string {
	names := make([]string, len(credentialHeaders))
	for i, h := range credentialHeaders {
		names[i] = h.name
	}
	return names
}

// IsCredentialHeader reports whether name (any case) is a credential header.
func IsCredentialHeader(name string) bool {
	name = textproto.CanonicalMIMEHeaderKey(name)
	for _, h := range credentialHeaders {
		if h.name == name {
			return true
		}
	}
	return false
}

// keyHeaders are the credential headers a gateway key is read from, in order.
var keyHeaders = func() []string {
	var names []string
	for _, h := range credentialHeaders {
		if h.carriesKey {
			names = append(names, h.name)
		}
	}
	return names
}()

// MasterHolder is a key verifier that can say what the master key is without reading the key
// store, so the proxy can keep it from the upstream wherever a caller puts it. It returns ""
// when no master key is configured.
type MasterHolder interface {
	Master(ctx context.Context) (string, error)
}

// Master implements MasterHolder.
func (m MasterKey) Master(context.Context) (string, error) { return m.key, nil }

// OwnKeys are the gateway's own credentials as far as one request can know them: the master
// key, any sk-gw- value (every virtual key, valid or not, has that prefix), and the keys the
// request was found to carry. None of them may reach an upstream.
type OwnKeys struct {
	keys []string
}

// NewOwnKeys returns the set of keys (empty ones ignored) plus every sk-gw- value.
func NewOwnKeys(keys ...string) OwnKeys {
	var o OwnKeys
	return o.With(keys...)
}

// With returns o plus keys (empty ones ignored); o is unchanged.
func (o OwnKeys) With(keys ...string) OwnKeys {
	out := OwnKeys{keys: append([]string(nil), o.keys...)}
	for _, k := range keys {
		if k != "" {
			out.keys = append(out.keys, k)
		}
	}
	return out
}

// HeldBy reports whether v holds one of the keys or an sk-gw- value, as written or inside
// Basic credentials (`Basic base64(user:pass)`, either half). A substring match, not an
// equality: `Bearer <key>`, `key=<key>` and a key in a SigV4 Credential all hold it. (Only a
// value that contains a whole key matches, so the check is no oracle for a key's prefix.)
func (o OwnKeys) HeldBy(v string) bool {
	return o.in(v) || o.in(BasicCredentials(v))
}

func (o OwnKeys) in(v string) bool {
	if v == "" {
		return false
	}
	if strings.Contains(v, VirtualKeyPrefix) {
		return true
	}
	for _, k := range o.keys {
		if strings.Contains(v, k) {
			return true
		}
	}
	return false
}

// BasicCredentials decodes `Basic <base64>` into `user:pass`, or returns "".
func BasicCredentials(v string) string {
	scheme, rest, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok || !strings.EqualFold(scheme, "basic") {
		return ""
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
	if err != nil {
		return ""
	}
	return string(raw)
}

// Mask replaces in s every one of the keys and every sk-gw- value (the prefix and the
// characters a key can hold after it) with mask, for log lines.
func (o OwnKeys) Mask(s, mask string) string {
	for _, k := range o.keys {
		s = strings.ReplaceAll(s, k, mask)
	}
	for {
		i := strings.Index(s, VirtualKeyPrefix)
		if i < 0 {
			return s
		}
		j := i + len(VirtualKeyPrefix)
		for j < len(s) && isKeyChar(s[j]) {
			j++
		}
		s = s[:i] + mask + s[j:]
	}
}

func isKeyChar(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b == '-' || b == '_'
}
