package guardrail

// Field expressions (LiteLLM's JsonPathExtractor): `a`, `a.b`, `items[*].x`, and, unlike LiteLLM,
// `documents[*]` over a list of strings. A path that ends on a string takes it; one that ends on
// an object or an array takes every string inside it, at any depth, keys included (a tool_use
// block's input reaches the model keys and all): `messages[*].content` reads a message's text
// whether content is a string or a list of Anthropic/OpenAI content blocks (their "text", and
// their "type" tags, tool inputs and base64 payloads alike). A missing field, a number, a bool or
// null is skipped (LiteLLM would str() them). Keys match without regard to case, as Go's
// encoding/json matches them (an upstream that decodes with it reads "Messages" as messages):
// selecting more is the safe side. The walker reads the body in place and records where each
// string value sits, so the texts can be written back byte for byte: everything else in the
// body stays as it was sent.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// segment is one step of an expression: a key, then every element of the array when all.
type segment struct {
	key string
	all bool
}

// Expr is a compiled field expression.
type Expr struct {
	src  string
	segs []segment
}

func (e Expr) String() string { return e.src }

// ParseExpr compiles a field expression.
func ParseExpr(s string) (Expr, error) {
	e := Expr{src: s}
	for _, part := range strings.Split(s, ".") {
		seg := segment{key: part}
		if k, ok := strings.CutSuffix(part, "[*]"); ok {
			seg = segment{key: k, all: true}
		}
		if seg.key == "" || strings.ContainsAny(seg.key, "[]*") {
			return Expr{}, fmt.Errorf("%q is not a field expression like a.b, items[*].text or documents[*]", s)
		}
		e.segs = append(e.segs, seg)
	}
	return e, nil
}

// Field is one string value found in a body: its raw JSON string (quotes included) at
// [Start, End), and its decoded text.
type Field struct {
	Start, End int
	Text       string
}

// Extract returns the string values the expressions select in body, in body order, each once.
// A body that is not a JSON object or array selects nothing.
func Extract(body []byte, exprs []Expr) []Field {
	var out []Field
	var src string // body as a string, made at the first content block (walkValue)
	for _, e := range exprs {
		i := skipWS(body, 0)
		walkValue(body, &src, i, e.segs, &out)
	}
	return dedupe(out)
}

// dedupe sorts fields by position and drops repeats (two expressions naming one field).
func dedupe(fs []Field) []Field {
	for i := 1; i < len(fs); i++ { // insertion sort: a handful of fields
		for j := i; j > 0 && fs[j].Start < fs[j-1].Start; j-- {
			fs[j], fs[j-1] = fs[j-1], fs[j]
		}
	}
	out := fs[:0]
	for i, f := range fs {
		if i == 0 || f.Start != fs[i-1].Start {
			out = append(out, f)
		}
	}
	return out
}

// Strings returns every string of a JSON body, keys and values, in body order: what a
// guardrail without fields reads, so that a `\u` escape cannot hide text from it. body must be
// valid JSON (json.Valid). The texts share one copy of the body: no allocation per string
// without escapes.
func Strings(body []byte) []Field {
	return stringsIn(body, string(body), 0, len(body), nil)
}

// stringsIn appends the strings of the valid JSON in b[i:end), keys and values (src is b as a
// string: the texts share it). One pass: outside a string, a quote always opens one.
func stringsIn(b []byte, src string, i, end int, out []Field) []Field {
	for i < end {
		q := bytes.IndexByte(b[i:end], '"')
		if q < 0 {
			break
		}
		i += q
		e := skipString(b, i)
		if e < 0 || e > end {
			break
		}
		if f, ok := stringField(b, src, i, e); ok {
			out = append(out, f)
		}
		i = e
	}
	return out
}

// stringField decodes the JSON string at b[i:end).
func stringField(b []byte, src string, i, end int) (Field, bool) {
	if !hasEscape(b[i+1 : end-1]) { // the common case: the text is the bytes
		if src != "" {
			return Field{Start: i, End: end, Text: src[i+1 : end-1]}, true
		}
		return Field{Start: i, End: end, Text: string(b[i+1 : end-1])}, true
	}
	var s string
	if json.Unmarshal(b[i:end], &s) != nil {
		return Field{}, false
	}
	return Field{Start: i, End: end, Text: s}, true
}

// Replace writes texts (one per field, same order) back into body as JSON strings; a field whose
// text is unchanged keeps its bytes as sent (its escapes included).
func Replace(body []byte, fields []Field, texts []string) []byte {
	out := make([]byte, 0, len(body)+64)
	prev := 0
	for i, f := range fields {
		if texts[i] == f.Text {
			continue
		}
		out = append(out, body[prev:f.Start]...)
		q, _ := json.Marshal(texts[i]) // a string always marshals
		out = append(out, q...)
		prev = f.End
	}
	return append(out, body[prev:]...)
}

// walkValue follows segs from the value at i, appending the strings found. *src is b as a
// string once a content block needed it ("" until then): the block's texts share it.
func walkValue(b []byte, src *string, i int, segs []segment, out *[]Field) {
	if i >= len(b) {
		return
	}
	if len(segs) == 0 {
		switch b[i] {
		case '"':
			if end := skipString(b, i); end >= 0 {
				if f, ok := stringField(b, "", i, end); ok {
					*out = append(*out, f)
				}
			}
		case '{', '[': // content blocks and the like: every string inside, keys too (a tool's input is read by the model keys and all)
			if end := skipValue(b, i); end >= 0 {
				if *src == "" {
					*src = string(b)
				}
				*out = stringsIn(b, *src, i, end, *out)
			}
		}
		return
	}
	if b[i] != '{' {
		return
	}
	seg := segs[0]
	forEachMember(b, i, func(key []byte, v int) {
		if !keyIs(key, seg.key) {
			return
		}
		if !seg.all {
			walkValue(b, src, v, segs[1:], out)
			return
		}
		if b[v] == '[' {
			forEachElement(b, v, func(e int) { walkValue(b, src, e, segs[1:], out) })
		}
	})
}

// keyIs compares a raw JSON key (quotes included) to name without regard to case, decoding it
// only if it has escapes.
func keyIs(raw []byte, name string) bool {
	inner := raw[1 : len(raw)-1]
	if !strings.Contains(string(inner), `\`) {
		return strings.EqualFold(string(inner), name)
	}
	var s string
	return json.Unmarshal(raw, &s) == nil && strings.EqualFold(s, name)
}

// forEachMember calls fn with each member's raw key and value position of the object at i.
func forEachMember(b []byte, i int, fn func(key []byte, v int)) {
	i = skipWS(b, i+1)
	for i < len(b) && b[i] != '}' {
		if b[i] != '"' {
			return
		}
		kEnd := skipString(b, i)
		if kEnd < 0 {
			return
		}
		j := skipWS(b, kEnd)
		if j >= len(b) || b[j] != ':' {
			return
		}
		v := skipWS(b, j+1)
		end := skipValue(b, v)
		if end < 0 {
			return
		}
		fn(b[i:kEnd], v)
		if i = skipWS(b, end); i < len(b) && b[i] == ',' {
			i = skipWS(b, i+1)
		} else if i < len(b) && b[i] != '}' {
			return // malformed: stop rather than loop (the engine checks json.Valid first)
		}
	}
}

// forEachElement calls fn with the position of each element of the array at i.
func forEachElement(b []byte, i int, fn func(v int)) {
	i = skipWS(b, i+1)
	for i < len(b) && b[i] != ']' {
		end := skipValue(b, i)
		if end < 0 {
			return
		}
		fn(i)
		if i = skipWS(b, end); i < len(b) && b[i] == ',' {
			i = skipWS(b, i+1)
		} else if i < len(b) && b[i] != ']' {
			return // malformed: stop rather than loop
		}
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at i, or -1. It jumps from quote to
// quote (IndexByte), then counts the backslashes before one to know whether it is escaped.
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return -1
		}
		j += k
		n := 0
		for p := j - 1; p > i && b[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return j + 1
		}
		j++
	}
	return -1
}

// skipValue returns the index after the value at i, or -1 if it is cut short. It does not
// validate: the engine checks the body with json.Valid first.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				if j = skipString(b, j); j < 0 {
					return -1
				}
				j--
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' && b[j] != '\r' && b[j] != '\t' {
		j++
	}
	return j
}

// hasEscape reports whether a JSON string's inside holds a backslash.
func hasEscape(b []byte) bool { return bytes.IndexByte(b, '\\') >= 0 }
