package proxy

import (
	"net/http"
	"testing"

	"github.com/passthru/gateway/shared/auth"
)

// BenchmarkOwnKeyScan is what keeping the gateway's keys from the upstream costs one request:
// a clean three-parameter query and twelve headers checked against the master key, the
// request's key and the sk-gw- prefix.
func BenchmarkOwnKeyScan(b *testing.B) {
	own := auth.NewOwnKeys("sk-master-0123456789", "sk-gw-Abcdefghijklmnopqrstuvwxyz012345")
	h := http.Header{
		"Content-Type": {"application/json"}, "Accept": {"*/*"}, "User-Agent": {"OpenAI/Python 1.50.0"},
		"X-Stainless-Lang": {"python"}, "X-Stainless-Os": {"Linux"}, "X-Stainless-Arch": {"x64"},
		"X-Stainless-Runtime": {"CPython"}, "X-Stainless-Package-Version": {"1.50.0"},
		"Anthropic-Version": {"2023-06-01"}, "Anthropic-Beta": {"prompt-caching-2024-07-31"},
		"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}, "X-Request-Id": {"b8a5c1f2"},
	}
	const query = "api-version=2024-06-01&alt=sse&limit=20"
	b.ReportAllocs()
	for b.Loop() {
		if withoutOwnKeys(query, own) != query {
			b.Fatal("query changed")
		}
		for _, vv := range h {
			if holdsOwnKey(vv, own) {
				b.Fatal("a clean header held a key")
			}
		}
	}
}
