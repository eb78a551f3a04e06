package redact_test

import (
	"net/url"
	"testing"

	"github.com/passthru/gateway/shared/redact"
)

func TestURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://h/v1", "https://h/v1"},
		{"https://h/v1?b=2&a=1", "https://h/v1?b=2&a=1"},
		{"https://h/v1?key=AIzaSyLiteral&alt=sse", "https://h/v1?key=[REDACTED]&alt=sse"},
		{"https://h/v1?api_key=k1&apikey=k2&API-KEY=k3&token=t&access_token=t2", "https://h/v1?api_key=[REDACTED]&apikey=[REDACTED]&API-KEY=[REDACTED]&token=[REDACTED]&access_token=[REDACTED]"},
		{"https://h/b?sv=2024&sig=abc%2Bdef&se=x", "https://h/b?sv=2024&sig=[REDACTED]&se=x"},
		{"https://s3/o?X-Amz-Credential=AK%2F1&X-Amz-Signature=ff&X-Amz-Security-Token=tt&X-Amz-Expires=60", "https://s3/o?X-Amz-Credential=[REDACTED]&X-Amz-Signature=[REDACTED]&X-Amz-Security-Token=[REDACTED]&X-Amz-Expires=60"},
		{"https://h/cb?code=c0de&state=s&client_secret=cs&password=p&pwd=p2&signature=sg", "https://h/cb?code=[REDACTED]&state=s&client_secret=[REDACTED]&password=[REDACTED]&pwd=[REDACTED]&signature=[REDACTED]"},
		{"https://h/v1?k%65y=enc", "https://h/v1?k%65y=[REDACTED]"},                      // an encoded name is still a key
		{"https://h/v1?key=os.environ/UP_KEY", "https://h/v1?key=os.environ/UP_KEY"},     // a reference names, never reveals
		{"https://h/v1?key=os.environ%2FUP_KEY", "https://h/v1?key=os.environ%2FUP_KEY"}, // the same, encoded
		{"https://h/v1?key=lit-os.environ/UP_KEY", "https://h/v1?key=[REDACTED]"},        // literal text beside it is not
		{"https://h/v1?key=%zz&b=2", "https://h/v1?key=[REDACTED]&b=2"},                  // malformed value still hidden
		{"https://h/v1?key", "https://h/v1?key"},                                         // no value, nothing to hide
		{"https://user:pw@h/v1?x=1", "https://h/v1?x=1"},
		{"https://h/v1?", "https://h/v1?"},
		{"https://h/v1?monkey=1", "https://h/v1?monkey=[REDACTED]"}, // over-hiding is the cheap mistake
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.in)
		if err != nil {
			t.Fatalf("parse %q: %v", tt.in, err)
		}
		if got := redact.URL(u); got != tt.want {
			t.Errorf("URL(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := redact.String(tt.in); got != tt.want {
			t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := redact.URL(nil); got != "" {
		t.Errorf("URL(nil) = %q", got)
	}
}

func TestStringUnparseable(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://h:bad/v1?key=literal", "https://h:bad/v1?[REDACTED]"},
		{"%zz", "%zz"},
	}
	for _, tt := range tests {
		if got := redact.String(tt.in); got != tt.want {
			t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestIsCredentialParam(t *testing.T) {
	for _, name := range []string{"key", "KEY", "api_key", "apikey", "api-key", "x-goog-api-key", "token", "access_token", "id_token", "sig", "signature", "secret", "client_secret", "password", "code", "auth", "authorization", "X-Amz-Credential", "session", "jwt"} {
		if !redact.IsCredentialParam(name) {
			t.Errorf("IsCredentialParam(%q) = false, want true", name)
		}
	}
	for _, name := range []string{"alt", "b", "model", "api-version", "stream", "limit", "state", "se", "sv"} {
		if redact.IsCredentialParam(name) {
			t.Errorf("IsCredentialParam(%q) = true, want false", name)
		}
	}
}

func TestIsKnownCredentialParam(t *testing.T) {
	for _, name := range []string{"key", "api_key", "API-KEY", "apikey", "token", "access_token", "sig", "signature", "client_secret", "password", "subscription-key", "X-Amz-Signature", "X-Amz-Security-Token", "X-Amz-Credential", "x-goog-api-key"} {
		if !redact.IsKnownCredentialParam(name) || !redact.IsCredentialParam(name) {
			t.Errorf("%q: known %v, credential %v; want both true", name, redact.IsKnownCredentialParam(name), redact.IsCredentialParam(name))
		}
	}
	// Words a log hides on a guess are not enough to refuse a config.
	for _, name := range []string{"monkey", "author", "keyword", "code", "tokens_max", "alt", "api-version"} {
		if redact.IsKnownCredentialParam(name) {
			t.Errorf("IsKnownCredentialParam(%q) = true, want false", name)
		}
	}
}
