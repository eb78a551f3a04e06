// Package redact renders URLs for log lines with their credentials hidden. A key in a query
// string (`?key=` is how Google SDKs authenticate, `?sig=` an Azure SAS, `X-Amz-Signature` a
// presigned S3 URL) is as secret as an Authorization header, and a log line lives far longer
// than the request: every line that shows a URL (the route listing at start-up, detailed-debug
// logs, validation errors) goes through URL or String here.
package redact

import (
	"net/url"
	"strings"

	"github.com/passthru/gateway/shared/secrets"
)

// Placeholder replaces every hidden value.
const Placeholder = "[REDACTED]"

// credentialNames are query parameter names (lower case, without '-' and '_') whose values are
// credentials although they hold none of credentialWords: OAuth's `code`, Azure SAS's `sig`,
// short password spellings.
var credentialNames = map[string]bool{
	"sig": true, "code": true, "pass": true, "pwd": true, "jwt": true, "session": true, "sid": true,
}

// knownCredentialNames are the names APIs actually use for a credential in a query string
// (normalised as credentialNames): Google's `key`, `api_key`, OAuth's `access_token`, Azure SAS's
// `sig`, presigned S3's X-Amz-*. Unlike IsCredentialParam they are exact, for checks that refuse
// a config (a false positive there blocks a deploy instead of hiding a log value).
var knownCredentialNames = map[string]bool{
	"key": true, "apikey": true, "token": true, "accesstoken": true, "authtoken": true, "sig": true,
	"signature": true, "secret": true, "clientsecret": true, "password": true, "subscriptionkey": true,
	"xamzsignature": true, "xamzsecuritytoken": true, "xamzcredential": true, "xgoogapikey": true,
}

func normalise(name string) string {
	return strings.NewReplacer("-", "", "_", "").Replace(strings.ToLower(name))
}

// IsKnownCredentialParam reports whether name is one of the well-known credential parameter names.
func IsKnownCredentialParam(name string) bool { return knownCredentialNames[normalise(name)] }

// credentialWords mark a query parameter name as a credential wherever they appear in it
// (api_key, access_token, client_secret, X-Amz-Signature, X-Amz-Credential, password...).
// Hiding a harmless value now and then costs a log reader little; showing a key costs a rotation.
var credentialWords = []string{"key", "token", "secret", "password", "passwd", "signature", "credential", "auth"}

// IsCredentialParam reports whether a query parameter called name carries a credential.
func IsCredentialParam(name string) bool {
	n := strings.ToLower(name)
	if credentialNames[normalise(n)] || IsKnownCredentialParam(n) {
		return true
	}
	for _, w := range credentialWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// URL renders u for a log line: user info dropped, and the value of every credential-like query
// parameter replaced by Placeholder. An os.environ/ reference is kept as written: it names a
// secret without revealing it, which is what an operator reading the route listing needs. The
// rest of the query keeps its order and its bytes.
func URL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.User = nil
	q := Query(c.RawQuery)
	c.RawQuery, c.ForceQuery = "", false
	s := c.String()
	if q != "" || u.ForceQuery {
		s += "?" + q
	}
	return s
}

// String is URL for a URL that may not parse (an invalid target in a validation error): when it
// does not, everything from the first '?' on is hidden, since the query cannot be read safely.
func String(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if i := strings.IndexByte(raw, '?'); i >= 0 {
			return raw[:i+1] + Placeholder
		}
		return raw
	}
	return URL(u)
}

// Query hides the values of credential-like parameters in a raw query string, pair by pair, so
// that a malformed pair elsewhere cannot make the whole query unreadable or leak through.
func Query(raw string) string {
	if raw == "" {
		return ""
	}
	pairs := strings.Split(raw, "&")
	for i, pair := range pairs {
		k, v, hasValue := strings.Cut(pair, "=")
		name, err := url.QueryUnescape(k)
		if err != nil {
			name = k
		}
		if !hasValue || !IsCredentialParam(name) {
			continue
		}
		if dec, err := url.QueryUnescape(v); err == nil && isReference(dec) {
			continue
		}
		pairs[i] = k + "=" + Placeholder
	}
	return strings.Join(pairs, "&")
}

// isReference reports whether a value is exactly an os.environ/ reference, with no literal text
// beside it that could itself be a credential.
func isReference(v string) bool {
	t := secrets.ParseTemplate(v)
	return t.IsSecret() && t.Literal == "" && !strings.ContainsAny(t.Name, " &=")
}
