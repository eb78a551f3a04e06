package lambdahttp

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"
)

// jsonSize agrees with encoding/json (and base64) on any body in any chunking: multi-byte runes
// split across writes, U+2028/U+2029, control bytes, quotes, invalid bytes anywhere, a body that
// ends inside a rune.
func TestJSONSizeMatchesTheEncoder(t *testing.T) {
	pieces := [][]byte{
		[]byte("a"), []byte(`"`), []byte(`\`), []byte("\n"), []byte("\t"), []byte("\b"), []byte("\f"),
		{0x00}, {0x1f}, {0x7f}, []byte("<>&"), []byte("λ"), []byte("世"), []byte("😀"), []byte("\u2028"),
		[]byte("\u2029"), []byte("\ufffd"), {0xff}, {0xe4, 0xb8}, {0xc0, 0x80}, {0xed, 0xa0, 0x80},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 5000 {
		var body []byte
		for range rng.IntN(40) {
			// Mostly valid pieces, so that valid bodies are common too.
			p := pieces[rng.IntN(len(pieces))]
			if i%2 == 0 && !utf8.Valid(p) {
				p = []byte("x")
			}
			body = append(body, p...)
		}
		var s jsonSize
		for rest := body; len(rest) > 0; {
			n := 1 + rng.IntN(len(rest))
			s.add(rest[:n])
			rest = rest[n:]
		}
		want, wantBase64 := len(marshalNoHTML(string(body)))-2, false
		if !utf8.Valid(body) {
			want, wantBase64 = base64.StdEncoding.EncodedLen(len(body)), true
		}
		if s.encodedLen() != want || s.isBase64() != wantBase64 {
			t.Fatalf("body %q: jsonSize says %d (base64 %v), the encoders %d (base64 %v)", body, s.encodedLen(), s.isBase64(), want, wantBase64)
		}
	}
}

// The cap's cost: counting a 6 MB body as the proxy relays it (16 KiB writes) allocates nothing
// and keeps no copy of the body.
func BenchmarkJSONSize(b *testing.B) {
	for _, tt := range []struct {
		name string
		body []byte
	}{
		{"json", bytes.Repeat([]byte(`{"text":"caf\u00e9 \"quoted\"\n"},`), 6<<20/32)},
		{"binary", bytes.Repeat([]byte{0xff, 0x00, 0x10}, 2<<20)},
	} {
		b.Run(tt.name, func(b *testing.B) {
			b.SetBytes(int64(len(tt.body)))
			b.ReportAllocs()
			for b.Loop() {
				var s jsonSize
				for rest := tt.body; len(rest) > 0; {
					n := min(len(rest), 16<<10)
					s.add(rest[:n])
					rest = rest[n:]
				}
				if s.encodedLen() == 0 {
					b.Fatal("nothing counted")
				}
			}
		})
	}
}

// envelopeBound is never below the exact envelope, for every buffered response type and for
// headers that escape worst (control bytes take 6), few or many.
func TestEnvelopeBoundIsAnUpperBound(t *testing.T) {
	worst := strings.Repeat("\x01", 300)
	headers := []http.Header{
		{},
		{"Content-Type": {"application/json"}},
		{"X-A": {worst, worst}, "X-B\x02": {worst}, "Set-Cookie": {"a=" + worst, "b=2"}},
	}
	many := http.Header{}
	for i := range 200 {
		many.Add(fmt.Sprintf("X-H%d", i), strings.Repeat("\"\\<>&", 20))
	}
	headers = append(headers, many)
	exact := map[string]func(int, http.Header, bool) int{
		"rest":         envelopeSize(core.NewProxyResponseWriter, same[events.APIGatewayProxyResponse]),
		"http-api":     envelopeSize(core.NewProxyResponseWriterV2, same[events.APIGatewayV2HTTPResponse]),
		"function-url": envelopeSize(core.NewProxyResponseWriterV2, toFunctionURL),
	}
	for name, size := range exact {
		for i, h := range headers {
			for _, b64 := range []bool{false, true} {
				if got, bound := size(599, h.Clone(), b64), envelopeBound(h); got > bound {
					t.Errorf("%s headers[%d] base64 %v: envelope %d over the bound %d", name, i, b64, got, bound)
				}
			}
		}
	}
}
