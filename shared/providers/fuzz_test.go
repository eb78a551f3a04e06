package providers

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
)

var fuzzContentTypes = []string{sse, js, awsES, "", "application/stream+json", "text/plain"}

var fuzzURLs = []string{
	"https://api.openai.com/v1/chat/completions",
	"https://api.anthropic.com/v1/messages",
	bdHost + "/model/anthropic.claude-3-haiku-20240307-v1:0/invoke-with-response-stream",
	"https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:streamGenerateContent",
	"https://api.example.com/v1/anything",
}

// FuzzMeter feeds arbitrary requests and bodies under each content type: the meter never
// panics, counts are never negative, and the result does not depend on how the body is
// split into writes.
func FuzzMeter(f *testing.F) {
	files, _ := filepath.Glob("testdata/*")
	for i, name := range files {
		b, err := os.ReadFile(name)
		if err == nil {
			f.Add([]byte(`{"model":"m"}`), b, uint8(i), uint16(len(b)/2))
		}
	}
	for i, g := range golden {
		if g.x.build != nil {
			b := g.x.build()
			f.Add([]byte(g.x.request), b, uint8(2+i*len(fuzzContentTypes)), uint16(len(b)/3))
		}
	}
	f.Add([]byte(`{"model":`), []byte("data: {\"usage\":{\"prompt_tokens\":1}}\r\n\r"), uint8(0), uint16(7))
	f.Fuzz(func(t *testing.T, request, body []byte, kind uint8, split uint16) {
		ct := fuzzContentTypes[int(kind)%len(fuzzContentTypes)]
		u, _ := url.Parse(fuzzURLs[int(kind)/len(fuzzContentTypes)%len(fuzzURLs)])
		h := http.Header{}
		if ct != "" {
			h.Set("Content-Type", ct)
		}
		whole := NewMeter(u, request, 200, h)
		whole.Write(body)
		want := whole.Tokens()
		for _, p := range []*int64{want.Input, want.Output, want.Cached, want.CacheWrite, want.Reasoning, want.SearchUnits} {
			if p != nil && *p < 0 {
				t.Fatalf("negative count in %+v", want)
			}
		}

		at := int(split) % (len(body) + 1)
		parts := NewMeter(u, request, 200, h)
		parts.Write(body[:at])
		parts.Write(nil)
		parts.Write(body[at:])
		if d := diffTokens(parts.Tokens(), want); len(d) > 0 {
			t.Fatalf("split at %d: %v", at, d)
		}

		bytewise := NewMeter(u, request, 200, h)
		feed(bytewise, body, 1)
		if d := diffTokens(bytewise.Tokens(), want); len(d) > 0 {
			t.Fatalf("byte by byte: %v", d)
		}
	})
}
