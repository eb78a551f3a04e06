package lambdahttp

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"unicode/utf8"
)

// A buffered response reaches Lambda as JSON: aws-lambda-go-api-proxy puts the body in a string
// field as it is when the whole body is valid UTF-8 and base64-encodes it otherwise
// (core.ProxyResponseWriter.GetProxyResponse), and the runtime encodes the response with
// encoding/json, HTML escaping off, without the encoder's trailing newline (aws-lambda-go
// lambda/handler.go). Lambda's limit applies to those bytes, so that is what is counted here,
// while the body is written, without a second copy of it.

// asciiJSONLen is how many bytes encoding/json writes inside a string for each ASCII byte (1, 2
// for \" \\ \n ..., 6 for \u00XX), taken from encoding/json itself so the count cannot drift from
// the encoder the runtime uses.
var asciiJSONLen = func() (t [utf8.RuneSelf]uint8) {
	for b := range t {
		t[b] = uint8(len(marshalNoHTML(string(rune(b)))) - 2)
	}
	return t
}()

// marshalNoHTML encodes v as the runtime does: HTML escaping off, no trailing newline.
func marshalNoHTML(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// jsonSize follows a body, write by write, and knows how many bytes it will take in the
// response's body field: its JSON-escaped length while it is valid UTF-8, its base64 length once
// it is not. A rune split across two writes is carried over.
type jsonSize struct {
	n       int  // raw bytes
	escaped int  // bytes inside the JSON string's quotes, while valid
	invalid bool // not valid UTF-8: the body goes as base64
	pending [utf8.UTFMax]byte
	np      int // bytes of an incomplete rune at the end of the last write
}

func (s *jsonSize) add(p []byte) {
	s.n += len(p)
	if s.invalid {
		return // base64 from now on: only the length counts
	}
	if s.np > 0 {
		var buf [2 * utf8.UTFMax]byte
		k := copy(buf[:], s.pending[:s.np])
		k += copy(buf[k:], p[:min(len(p), utf8.UTFMax)])
		if !utf8.FullRune(buf[:k]) {
			s.np = copy(s.pending[:], buf[:k])
			return
		}
		size := s.rune(buf[:k])
		if s.invalid {
			return
		}
		p = p[size-s.np:]
		s.np = 0
	}
	for i := 0; i < len(p); {
		if c := p[i]; c < utf8.RuneSelf {
			s.escaped += int(asciiJSONLen[c])
			i++
			continue
		}
		if !utf8.FullRune(p[i:]) {
			s.np = copy(s.pending[:], p[i:])
			return
		}
		i += s.rune(p[i:])
		if s.invalid {
			return
		}
	}
}

// rune counts the multi-byte rune at the start of p and returns its size; an invalid one marks
// the body invalid.
func (s *jsonSize) rune(p []byte) int {
	r, size := utf8.DecodeRune(p)
	switch {
	case r == utf8.RuneError && size == 1:
		s.invalid = true
	case r == '\u2028' || r == '\u2029':
		s.escaped += 6 // encoding/json escapes both, always
	default:
		s.escaped += size
	}
	return size
}

// isBase64 reports whether the body will go as base64: it is not valid UTF-8, or ends inside a
// rune.
func (s *jsonSize) isBase64() bool { return s.invalid || s.np > 0 }

// encodedLen is the body's length inside the JSON response (without the string's quotes).
func (s *jsonSize) encodedLen() int {
	if s.isBase64() {
		return base64.StdEncoding.EncodedLen(s.n)
	}
	return s.escaped
}
