// Package auth finds the gateway key in a request and checks it. Keys are compared as SHA-256
// digests in constant time, so neither their content nor their length leaks through timing.
package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Errors a Verifier or Extract returns; the proxy turns them into LiteLLM's 401 messages.
var (
	ErrNoKey        = errors.New("Authentication Error, No api key passed in.")
	ErrMalformedKey = errors.New("Malformed API Key passed in. Ensure Key has `Bearer ` prefix.")
	ErrInvalidKey   = errors.New("Authentication Error, Invalid proxy server token passed.")
	// ErrInactiveKey is an ErrInvalidKey for a gateway key that exists but is revoked or
	// expired: still the gateway's own, so never forwarded even where it is refused.
	ErrInactiveKey = fmt.Errorf("%w", ErrInvalidKey)
	ErrNoMasterKey = errors.New("Authentication Error, no master_key is configured, so no key can be checked. Set general_settings.master_key.")
)

// Principal is who a valid key belongs to.
type Principal struct {
	// Alias names the key in logs and usage records; never the key itself.
	Alias string
	// Master is true for the master key, which may call every route.
	Master bool
	// Routes are the route grants of a virtual key (exact path or prefix on a "/" boundary).
	Routes []string
	// KeyHash identifies the key (hex SHA-256) for rate limiting; never the key itself.
	KeyHash string
	// RPM is the key's requests-per-minute limit; 0 means none.
	RPM int
	// Tags and Metadata go into the key's usage records.
	Tags     []string
	Metadata map[string]string
}

// VirtualKeyPrefix starts every generated virtual key. A key with it is never forwarded
// upstream, even when it cannot be verified.
const VirtualKeyPrefix = "sk-gw-"

// Hash is the hex SHA-256 of a key: how keys are stored and compared, never in clear.
func Hash(key string) string {
	d := sha256.Sum256([]byte(key))
	return hex.EncodeToString(d[:])
}

// CanCall reports whether the principal is granted the route at path.
func (p Principal) CanCall(path string) bool {
	if p.Master {
		return true
	}
	for _, g := range p.Routes {
		if g == "/" { // every route
			return true
		}
		if g = strings.TrimSuffix(g, "/"); g == "" || !strings.HasPrefix(g, "/") {
			continue // a malformed grant grants nothing
		}
		if path == g || strings.HasPrefix(path, g+"/") {
			return true
		}
	}
	return false
}

// MasterKey verifies the one master key from general_settings.master_key.
type MasterKey struct {
	digest [sha256.Size]byte
	set    bool
	key    string // for Master: the proxy looks for it in what goes upstream
}

// NewMasterKey returns a verifier for key; an empty key makes one that rejects every key.
func NewMasterKey(key string) MasterKey {
	if key == "" {
		return MasterKey{}
	}
	return MasterKey{digest: sha256.Sum256([]byte(key)), set: true, key: key}
}

// Verify implements the proxy's key verifier.
func (m MasterKey) Verify(_ context.Context, key string) (Principal, error) {
	if !m.set {
		return Principal{}, ErrNoMasterKey
	}
	d := sha256.Sum256([]byte(key))
	if subtle.ConstantTimeCompare(d[:], m.digest[:]) != 1 {
		return Principal{}, ErrInvalidKey
	}
	return Principal{Alias: "master_key", Master: true}, nil
}

// Options say where a route looks for the key beyond the standard headers.
type Options struct {
	// Header is the route's litellm_user_api_key header (canonical form), if any.
	Header string
	// Langfuse reads the key from the user part of `Authorization: Basic` (Langfuse SDKs send
	// public_key:secret_key there); otherwise Basic carries the key as its password.
	Langfuse bool
	// QueryKey is the request's `key` query parameter, on routes that read the key from the
	// query as well (Google SDKs send their key there). The headers come first.
	QueryKey string
}

// QueryCarrier names the query parameter as a key's carrier: no header has this name.
const QueryCarrier = "?key"

// Extract returns the gateway key, from the first of keyHeaders present (then the route's own
// header), and the canonical name of the header that carried it.
func Extract(h http.Header, o Options) (key, carrier string, err error) {
	for _, name := range keyHeaders {
		v := h.Get(name)
		if v == "" {
			continue
		}
		switch name {
		case "Authorization":
			key, err = fromAuthorization(v, o.Langfuse)
		case "X-Litellm-Api-Key":
			key = fromLiteLLMHeader(v)
		default:
			key = strings.TrimSpace(v)
		}
		if err != nil {
			return "", name, err
		}
		if key == "" {
			return "", name, ErrMalformedKey
		}
		return key, name, nil
	}
	if o.Header != "" {
		if v := strings.TrimSpace(h.Get(o.Header)); v != "" {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(v, "Bearer "), "bearer ")), o.Header, nil
		}
	}
	if k := strings.TrimSpace(o.QueryKey); k != "" {
		return k, QueryCarrier, nil
	}
	return "", "", ErrNoKey
}

func fromLiteLLMHeader(v string) string {
	if k, ok := sigV4Key(v); ok {
		return k
	}
	if scheme, rest, ok := strings.Cut(v, " "); ok && strings.EqualFold(scheme, "bearer") {
		return strings.TrimSpace(rest)
	}
	return strings.TrimSpace(v)
}

func fromAuthorization(v string, langfuse bool) (string, error) {
	if k, ok := sigV4Key(v); ok {
		return k, nil
	}
	scheme, rest, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok {
		return "", ErrMalformedKey
	}
	rest = strings.TrimSpace(rest)
	switch {
	case strings.EqualFold(scheme, "bearer"):
		return rest, nil
	case strings.EqualFold(scheme, "basic"):
		raw := BasicCredentials(v)
		if raw == "" {
			return "", ErrMalformedKey
		}
		user, pass, _ := strings.Cut(raw, ":")
		if langfuse {
			return user, nil
		}
		return pass, nil
	default:
		return "", ErrMalformedKey
	}
}

// sigV4Key reads `AWS4-HMAC-SHA256 Credential=Bearer <key>/...`, the form AWS SDK clients can be
// made to send the gateway key in.
func sigV4Key(v string) (string, bool) {
	const marker = "Credential=Bearer "
	if !strings.HasPrefix(v, "AWS4-HMAC-SHA256 ") {
		return "", false
	}
	i := strings.Index(v, marker)
	if i < 0 {
		return "", false
	}
	k, _, _ := strings.Cut(v[i+len(marker):], "/")
	return strings.TrimSpace(k), true
}
