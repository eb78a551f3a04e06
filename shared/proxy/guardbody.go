package proxy

// What a guardrail reads from a body, and the bodies it cannot read. A compressed request body
// is decoded first (gzip, deflate); a JSON body is read as its decoded strings, so that a `\u`
// escape hides nothing; a body that is not JSON where the guardrail needs JSON is refused, not
// read as raw text. Each refusal is a guardBodyError: the client's request is what is wrong.

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/passthru/gateway/shared/guardrail"
)

// guardBodyError is a body a guardrail cannot inspect: the call is refused with status and
// message (LiteLLM's error shape), and the record says reason.
type guardBodyError struct {
	status          int
	message, reason string
}

func (e *guardBodyError) Error() string { return e.message }

// requestCodings lists the request body's content codings in the order they were applied
// (RFC 9110 §8.4), identity left out, lower case.
func requestCodings(h http.Header) []string {
	var out []string
	for _, v := range h.Values("Content-Encoding") {
		for _, t := range strings.Split(v, ",") {
			if t = strings.ToLower(strings.TrimSpace(t)); t != "" && t != "identity" {
				out = append(out, t)
			}
		}
	}
	return out
}

// maxCodings bounds the codings undone for a guardrail: each layer may decode to the limit, so
// "gzip, gzip, ..." over stored layers would multiply the work. Two covers every real client.
const maxCodings = 2

// decodeLimit is the most a compressed request body may decode to for a guardrail: maxGuardBody,
// or an eighth of the Go runtime's soft memory limit when that is smaller (on Lambda, 3/4 of the
// function's memory: 12 MiB at 128 MB), since decoding and checking hold a few copies of it at
// once and a small gzip request could otherwise take the function past its memory.
func decodeLimit() int {
	limit := maxGuardBody
	if soft := debug.SetMemoryLimit(-1); soft < math.MaxInt64 && soft/8 < int64(limit) {
		limit = max(int(soft/8), 1<<20)
	}
	return limit
}

// decodeRequestBody undoes the codings, the last applied first, for the guardrail named guard,
// reading at most decodeLimit decoded bytes (a small gzip body can decode to gigabytes).
func decodeRequestBody(body []byte, codings []string, guard string) ([]byte, error) {
	if len(codings) > maxCodings || (len(codings) == 2 && codings[0] == codings[1]) {
		return nil, &guardBodyError{http.StatusUnsupportedMediaType,
			fmt.Sprintf("Guardrail %s cannot inspect a request body with Content-Encoding %s; send it uncompressed, or in one coding (gzip or deflate).", guard, truncate(strings.Join(codings, ", "), 40)),
			"stacked Content-Encoding cannot be inspected"}
	}
	limit := decodeLimit()
	for i := len(codings) - 1; i >= 0; i-- {
		enc := codings[i]
		zr, err := decompressor(enc, body)
		if err == errUnknownCoding {
			return nil, &guardBodyError{http.StatusUnsupportedMediaType,
				fmt.Sprintf("Guardrail %s cannot inspect a request body with Content-Encoding %s; send it uncompressed, or as gzip or deflate.", guard, truncate(enc, 40)),
				fmt.Sprintf("Content-Encoding %s cannot be inspected", truncate(enc, 40))}
		}
		var out []byte
		if err == nil {
			out, err = io.ReadAll(io.LimitReader(zr, int64(limit)+1))
		}
		if err != nil {
			return nil, &guardBodyError{http.StatusUnsupportedMediaType,
				fmt.Sprintf("Guardrail %s cannot inspect the request body: it does not decode as %s.", guard, enc),
				fmt.Sprintf("Content-Encoding %s cannot be inspected", enc)}
		}
		if len(out) > limit {
			return nil, &guardBodyError{status: http.StatusRequestEntityTooLarge,
				message: fmt.Sprintf("The request body decodes to over %d MB, the most a guardrail inspects here.", limit>>20)}
		}
		body = out
	}
	return body, nil
}

var errUnknownCoding = fmt.Errorf("unknown content coding")

// decompressor reads body in the coding enc. "deflate" is the zlib format (RFC 9110 §8.4.1.2);
// some clients send raw deflate under that name, which is read too.
func decompressor(enc string, body []byte) (io.Reader, error) {
	switch enc {
	case "gzip", "x-gzip":
		return gzip.NewReader(bytes.NewReader(body))
	case "deflate":
		if zr, err := zlib.NewReader(bytes.NewReader(body)); err == nil {
			return zr, nil
		}
		return flate.NewReader(bytes.NewReader(body)), nil
	}
	return nil, errUnknownCoding
}

// guardInput is what a guardrail reads from a body: texts, and the JSON strings they come from
// (fields), or one raw text (raw) for a body that is not JSON.
type guardInput struct {
	texts  []string
	fields []guardrail.Field
	raw    bool
}

// guardTexts reads a body for a guardrail. With field expressions, the string values they
// select (content blocks included); a body that is not JSON for Go (a BOM, NaN, trailing
// bytes, text) is refused, since a lenient parser upstream may read what raw text would hide.
// Without fields, a JSON body's strings, keys and values, decoded; a body that looks like JSON
// but is not valid is refused for the same reason; any other body is one raw text.
func guardTexts(body []byte, exprs []guardrail.Expr, side, guard string) (guardInput, *guardBodyError) {
	if len(body) == 0 {
		return guardInput{}, nil
	}
	valid := json.Valid(body)
	var in guardInput
	switch {
	case !valid && wideUnicode(body):
		return in, notJSON(side, fmt.Sprintf("The %s body is UTF-16 or UTF-32 text; guardrail %s reads UTF-8 only.", side, guard))
	case len(exprs) > 0 && !valid:
		names := make([]string, len(exprs))
		for i, e := range exprs {
			names[i] = e.String()
		}
		return in, notJSON(side, fmt.Sprintf("The %s body is not JSON; guardrail %s needs fields %s from it.", side, guard, strings.Join(names, ", ")))
	case len(exprs) > 0:
		in.fields = guardrail.Extract(body, exprs)
	case valid:
		in.fields = guardrail.Strings(body)
	case looksJSON(body):
		return in, notJSON(side, fmt.Sprintf("The %s body is not valid JSON; guardrail %s reads the strings of a JSON body.", side, guard))
	default:
		return guardInput{texts: []string{string(body)}, raw: true}, nil
	}
	in.texts = make([]string, len(in.fields))
	for i, f := range in.fields {
		in.texts[i] = f.Text
	}
	return in, nil
}

func notJSON(side, msg string) *guardBodyError {
	return &guardBodyError{status: http.StatusBadRequest, message: msg, reason: side + " body is not JSON"}
}

// wideUnicode reports whether a body is UTF-16 or UTF-32 text, which JSON parsers such as
// Python's json.loads and Jackson detect and read (RFC 4627 §3): by a byte order mark, or by NULs
// among the first four bytes around an ASCII character (JSON starts with one). As raw text its
// characters are interleaved with NULs and no pattern would match, so it is refused instead.
func wideUnicode(b []byte) bool {
	for _, bom := range []string{"\x00\x00\xfe\xff", "\xff\xfe\x00\x00", "\xfe\xff", "\xff\xfe"} {
		if bytes.HasPrefix(b, []byte(bom)) {
			return true
		}
	}
	if len(b) < 4 {
		return false
	}
	nuls := bytes.Count(b[:4], []byte{0})
	return nuls > 0 && nuls < 4 && looksJSON(bytes.ReplaceAll(b[:4], []byte{0}, nil))
}

// looksJSON reports whether a body starts like a JSON object or array, after a UTF-8 BOM and
// white space.
func looksJSON(b []byte) bool {
	b = bytes.TrimLeft(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")), " \t\r\n")
	return len(b) > 0 && (b[0] == '{' || b[0] == '[')
}
