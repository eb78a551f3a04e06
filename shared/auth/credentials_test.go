package auth

import (
	"context"
	"encoding/base64"
	"net/http"
	"slices"
	"testing"
)

// Key extraction is one consumer of the list: every carrier in it is read, and nothing else is.
func TestKeyHeadersAreTheListsCarriers(t *testing.T) {
	for _, name := range keyHeaders {
		if !slices.Contains(CredentialHeaders(), name) {
			t.Errorf("key header %s is not in the credential list", name)
		}
		v := "sk-x"
		if name == "Authorization" {
			v = "Bearer sk-x"
		}
		key, carrier, err := Extract(http.Header{name: {v}}, Options{})
		if key != "sk-x" || carrier != name || err != nil {
			t.Errorf("Extract(%s) = %q, %q, %v", name, key, carrier, err)
		}
	}
	want := []string{"X-Litellm-Api-Key", "Authorization", "Api-Key", "X-Api-Key", "X-Goog-Api-Key"}
	if !slices.Equal(keyHeaders, want) {
		t.Errorf("keyHeaders = %v, want LiteLLM's order %v", keyHeaders, want)
	}
}

func TestIsCredentialHeader(t *testing.T) {
	for name, want := range map[string]bool{
		"authorization": true, "X-API-KEY": true, "ocp-apim-subscription-key": true, "Cookie": true,
		"x-amz-security-token": true, "Proxy-Authorization": true, "x-litellm-api-key": true,
		"Content-Type": false, "X-Api-Keys": false, "": false,
	} {
		if got := IsCredentialHeader(name); got != want {
			t.Errorf("IsCredentialHeader(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestOwnKeysHeldBy(t *testing.T) {
	basic := func(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }
	own := NewOwnKeys("sk-1234", "").With("team-key")
	for v, want := range map[string]bool{
		"sk-1234":                       true,
		"Bearer sk-1234":                true,
		"a=1&key=sk-1234":               true,
		basic("sk-1234:x"):              true,
		basic("u:team-key"):             true,
		"sk-gw-anything":                true,
		basic("u:sk-gw-x"):              true,
		"team-key":                      true,
		"sk-123":                        false, // a prefix of a key is not the key
		"SK-GW-upper":                   false,
		basic("u:other"):                false,
		"Basic !!!":                     false,
		"":                              false,
		"AWS4-HMAC-SHA256 Credential=x": false,
	} {
		if got := own.HeldBy(v); got != want {
			t.Errorf("HeldBy(%q) = %v, want %v", v, got, want)
		}
	}
	if NewOwnKeys().HeldBy("anything") {
		t.Error("an empty set holds only sk-gw- values")
	}
}

func TestOwnKeysMask(t *testing.T) {
	own := NewOwnKeys("sk-1234")
	got := own.Mask("/p/sk-gw-AbC_9-x?x=sk-1234&y=sk-gw-&z=1", "[R]")
	if want := "/p/[R]?x=[R]&y=[R]&z=1"; got != want {
		t.Errorf("Mask = %q, want %q", got, want)
	}
}

func TestMasterKeyMaster(t *testing.T) {
	var h MasterHolder = NewMasterKey("sk-1234")
	if k, err := h.Master(context.Background()); k != "sk-1234" || err != nil {
		t.Errorf("Master = %q, %v", k, err)
	}
	if k, err := NewMasterKey("").Master(context.Background()); k != "" || err != nil {
		t.Errorf("no master key: Master = %q, %v", k, err)
	}
}
