package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"testing"
)

func TestExtract(t *testing.T) {
	basic := func(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name    string
		header  http.Header
		opts    Options
		key     string
		carrier string
		err     error
	}{
		{"none", http.Header{}, Options{}, "", "", ErrNoKey},
		{"litellm header wins over authorization", http.Header{"X-Litellm-Api-Key": {"sk-a"}, "Authorization": {"Bearer sk-b"}}, Options{}, "sk-a", "X-Litellm-Api-Key", nil},
		{"litellm header bearer", http.Header{"X-Litellm-Api-Key": {"Bearer sk-a"}}, Options{}, "sk-a", "X-Litellm-Api-Key", nil},
		{"bearer", http.Header{"Authorization": {"Bearer sk-b"}}, Options{}, "sk-b", "Authorization", nil},
		{"bearer any case", http.Header{"Authorization": {"BEARER sk-b"}}, Options{}, "sk-b", "Authorization", nil},
		{"basic takes the password", http.Header{"Authorization": {basic("user:sk-c")}}, Options{}, "sk-c", "Authorization", nil},
		{"basic langfuse takes the user", http.Header{"Authorization": {basic("sk-c:secret")}}, Options{Langfuse: true}, "sk-c", "Authorization", nil},
		{"basic not base64", http.Header{"Authorization": {"Basic %%%"}}, Options{}, "", "Authorization", ErrMalformedKey},
		{"no scheme", http.Header{"Authorization": {"sk-raw"}}, Options{}, "", "Authorization", ErrMalformedKey},
		{"empty bearer", http.Header{"Authorization": {"Bearer "}}, Options{}, "", "Authorization", ErrMalformedKey},
		{"sigv4 credential", http.Header{"Authorization": {"AWS4-HMAC-SHA256 Credential=Bearer sk-d/20240101/us-east-1/bedrock/aws4_request"}}, Options{}, "sk-d", "Authorization", nil},
		{"api-key", http.Header{"Api-Key": {"sk-e"}}, Options{}, "sk-e", "Api-Key", nil},
		{"x-api-key", http.Header{"X-Api-Key": {" sk-f "}}, Options{}, "sk-f", "X-Api-Key", nil},
		{"x-goog-api-key", http.Header{"X-Goog-Api-Key": {"sk-g"}}, Options{}, "sk-g", "X-Goog-Api-Key", nil},
		{"route header last", http.Header{"X-Gw": {"Bearer sk-h"}}, Options{Header: "X-Gw"}, "sk-h", "X-Gw", nil},
		{"standard header before route header", http.Header{"X-Gw": {"sk-h"}, "X-Api-Key": {"sk-f"}}, Options{Header: "X-Gw"}, "sk-f", "X-Api-Key", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, carrier, err := Extract(tt.header, tt.opts)
			if key != tt.key || carrier != tt.carrier || !errors.Is(err, tt.err) {
				t.Errorf("Extract = %q, %q, %v; want %q, %q, %v", key, carrier, err, tt.key, tt.carrier, tt.err)
			}
		})
	}
}

func TestMasterKey(t *testing.T) {
	ctx := context.Background()
	m := NewMasterKey("sk-1234")
	if p, err := m.Verify(ctx, "sk-1234"); err != nil || !p.Master || p.Alias != "master_key" {
		t.Errorf("valid key: %+v, %v", p, err)
	}
	for _, bad := range []string{"", "sk-123", "sk-12345", "SK-1234"} {
		if _, err := m.Verify(ctx, bad); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Verify(%q) = %v, want ErrInvalidKey", bad, err)
		}
	}
	if _, err := NewMasterKey("").Verify(ctx, "sk-1234"); !errors.Is(err, ErrNoMasterKey) {
		t.Errorf("no master key: %v", err)
	}
}

func TestPrincipalCanCall(t *testing.T) {
	p := Principal{Routes: []string{"/v1/rerank", "/fake-proxy/"}}
	for path, want := range map[string]bool{
		"/v1/rerank": true, "/v1/rerank/x": true, "/v1/rerank-2": false,
		"/fake-proxy": true, "/fake-proxy/x": true, "/fake-proxy-600": false, "/other": false,
	} {
		if got := p.CanCall(path); got != want {
			t.Errorf("CanCall(%s) = %v, want %v", path, got, want)
		}
	}
	if !(Principal{Master: true}).CanCall("/anything") {
		t.Error("master key must call every route")
	}
	if !(Principal{Routes: []string{"/"}}).CanCall("/anything") {
		t.Error(`grant "/" must call every route`)
	}
	for _, malformed := range []string{"", " ", "v1/rerank", "//"} {
		if (Principal{Routes: []string{malformed}}).CanCall("/v1/rerank") {
			t.Errorf("malformed grant %q granted /v1/rerank", malformed)
		}
	}
}
