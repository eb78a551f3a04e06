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
	"net/http"
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

// decodeRequestBody undoes the codings, the last applied first, for the guardrail named guard,
// reading at most maxGuardBody decoded bytes (a small gzip body can decode to gigabytes).
func decodeRequestBody(body []byte, codings []string, guard string) ([]byte, error) {
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
			out, err = io.ReadAll(io.LimitReader(zr, maxGuardBody+1))
		}
		if err != nil {
			return nil, &guardBodyError{http.StatusUnsupportedMediaType,
				fmt.Sprintf("Guardrail %s cannot inspect the request body: it does not decode as %s.", guard, enc),
				fmt.Sprintf("Content-Encoding %s cannot be inspected", enc)}
		}
		if len(out) > maxGuardBody {
			return nil, &guardBodyError{status: http.StatusRequestEntityTooLarge,
				message: fmt.Sprintf("The request body decodes to over %d MB, the most a guardrail inspects.", maxGuardBody>>20)}
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

// looksJSON reports whether a body starts like a JSON object or array, after a UTF-8 BOM and
// white space.
func looksJSON(b []byte) bool {
	b = bytes.TrimLeft(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")), " \t\r\n")
	return len(b) > 0 && (b[0] == '{' || b[0] == '[')
}
