package providers

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"sort"
	"strings"
)

// The JSON scanner reads a JSON text incrementally, in chunks of any size, and hands the raw
// bytes of a few values (usage objects, model names…) to a sink as soon as each is complete.
// Values are located by their path from a "record": the top-level object, each object element
// of a top-level array (Gemini's streamGenerateContent without alt=sse), or each of several
// concatenated top-level values (NDJSON, Cohere v1 streams). Only containers on a pattern's
// path are followed key by key; any other container is skipped by counting brackets, at
// 8 bytes a step inside strings, with no state per nesting level. So the scanner holds the
// value being captured (at most maxCapture bytes) and a few fixed arrays, however long or
// deep the text: a 50 MB embeddings body or a 10 MB SSE event costs no memory.

const (
	maxTrack   = 8        // paths are followed this deep below the record; deeper values never match
	maxKeyLen  = 40       // longer keys never match
	maxCapture = 64 << 10 // a captured value longer than this is dropped
)

// leaf says what a captured value is and how the sink reads it.
type leaf uint8

const (
	leafNone      leaf = iota
	leafUsage          // a usage object: OpenAI, Anthropic, Cohere v2, Bedrock converse/Nova
	leafModel          // a model name (string)
	leafGemini         // Gemini/Vertex usageMetadata
	leafMeta           // Cohere meta (billed_units, tokens)
	leafType           // the record's "type" (Anthropic event types)
	leafBedrock        // amazon-bedrock-invocationMetrics
	leafInputExcl      // a number: input tokens, cache excluded (Titan, Llama on Bedrock)
	leafOutput         // a number: output tokens (Titan, Llama on Bedrock)
	leafSumInput       // a number summed over an array: input tokens (Vertex text embeddings)
)

// patterns are the values the meter reads in a response record; "*" is any array index.
var responsePatterns = []struct {
	path string
	leaf leaf
}{
	{"usage", leafUsage},
	{"message.usage", leafUsage},  // Anthropic message_start
	{"response.usage", leafUsage}, // OpenAI Responses stream events
	{"delta.usage", leafUsage},    // Cohere v2 message-end
	{"model", leafModel},
	{"modelVersion", leafModel},
	{"message.model", leafModel},
	{"response.model", leafModel},
	{"usageMetadata", leafGemini},
	{"meta", leafMeta},
	{"response.meta", leafMeta}, // Cohere v1 stream-end
	{"type", leafType},
	{"amazon-bedrock-invocationMetrics", leafBedrock},
	{"inputTextTokenCount", leafInputExcl},                            // Titan
	{"prompt_token_count", leafInputExcl},                             // Llama
	{"results.0.tokenCount", leafOutput},                              // Titan text
	{"totalOutputTextTokenCount", leafOutput},                         // Titan text stream
	{"generation_token_count", leafOutput},                            // Llama
	{"predictions.*.embeddings.statistics.token_count", leafSumInput}, // Vertex embeddings
}

// trie is a compiled pattern set; node 0 is the record root.
type trie []trieNode

type trieNode struct {
	leaf leaf
	keys []string // sorted by length
	next []int16
	// keys[byLen[l]:byLen[l+1]] are the keys l bytes long ("*" is not looked up by name)
	byLen [maxKeyLen + 2]uint8
}

// nodeRecords marks a top-level array, whose object elements are records.
const (
	nodeNone    int16 = -1
	nodeRecords int16 = -2
)

var responseTrie = compile(responsePatterns)

func compile(patterns []struct {
	path string
	leaf leaf
}) trie {
	t := trie{{}}
	for _, p := range patterns {
		n := int16(0)
		for _, seg := range strings.Split(p.path, ".") {
			c := t.lookup(n, seg)
			if c == nodeNone {
				t = append(t, trieNode{})
				c = int16(len(t) - 1)
				t[n].keys = append(t[n].keys, seg)
				t[n].next = append(t[n].next, c)
			}
			n = c
		}
		t[n].leaf = p.leaf
	}
	for n := range t {
		t[n].index()
	}
	return t
}

// index sorts a node's keys by length and records where each length starts.
func (n *trieNode) index() {
	idx := make([]int, len(n.keys))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return len(n.keys[idx[a]]) < len(n.keys[idx[b]]) })
	keys, next := make([]string, len(idx)), make([]int16, len(idx))
	for i, j := range idx {
		keys[i], next[i] = n.keys[j], n.next[j]
	}
	n.keys, n.next = keys, next
	for l := range n.byLen {
		for n.byLen[l] < uint8(len(keys)) && len(keys[n.byLen[l]]) < l {
			n.byLen[l]++
		}
		if l+1 < len(n.byLen) {
			n.byLen[l+1] = n.byLen[l]
		}
	}
}

func (t trie) lookup(n int16, key string) int16 {
	for i, k := range t[n].keys {
		if k == key {
			return t[n].next[i]
		}
	}
	return nodeNone
}

func (t trie) child(n int16, key []byte) int16 {
	node := &t[n]
	if len(key) > maxKeyLen {
		return nodeNone
	}
	for i := node.byLen[len(key)]; i < node.byLen[len(key)+1]; i++ {
		if node.keys[i] == string(key) {
			return node.next[i]
		}
	}
	return nodeNone
}

func (t trie) element(n int16, idx int32) int16 {
	for i, k := range t[n].keys {
		if k == "*" || (idx == 0 && k == "0") {
			return t[n].next[i]
		}
	}
	return nodeNone
}

// sink receives captured values.
type sink interface {
	// want reports whether a value of this kind is still of interest (skipping a capture
	// saves a copy and a parse, e.g. the model name of every chunk of a stream).
	want(l leaf) bool
	found(l leaf, raw []byte)
}

// Scanner states; those up to sAfter skip whitespace.
const (
	sValue    uint8 = iota // a value is expected
	sArrFirst              // after '[': a value or ']'
	sObjFirst              // after '{': a key or '}'
	sKey                   // after ',' in an object: a key
	sColon                 // after a key
	sAfter                 // after a value: ',', '}', ']' (or, at the top, another value)
	sString                // inside a string
	sLiteral               // inside a number, true, false or null
	sSkip                  // inside a container nothing in which can match: brackets are counted
	sSkipStr               // inside a string in a skipped container
	sErr                   // malformed: ignore the rest (until a newline with resync)
)

type scanner struct {
	trie trie
	sink sink

	st    uint8
	kinds []byte // open containers on a pattern's path, '{' or '['
	node  [maxTrack + 2]int16
	idx   [maxTrack + 2]int32
	pend  int16 // the node of the value after the current key

	skipDepth int // open brackets in the skipped container

	strKey bool // the current string is an object key
	esc    bool // the previous byte was a backslash inside a string
	key    [maxKeyLen]byte
	keyLen int // bytes of the current key kept; -1 when it cannot match

	capturing bool
	capLeaf   leaf
	capDepth  int
	capStart  int // where the capture starts in the current chunk
	capOver   bool
	capBuf    []byte

	// initial backing arrays: most captures and nestings fit, so they cost no allocation
	capInline   [512]byte
	kindsInline [32]byte

	// resync: after a syntax error, start again at the next newline (NDJSON); otherwise
	// the rest of the text is ignored until reset.
	resync bool
}

// init readies a scanner in place (it points into itself, so it must not be copied after).
func (s *scanner) init(t trie, k sink, resync bool) {
	s.trie, s.sink, s.resync = t, k, resync
	s.kinds = s.kindsInline[:0]
	s.capBuf = s.capInline[:0]
}

func (s *scanner) reset() {
	s.st = sValue
	s.kinds = s.kinds[:0]
	s.esc = false
	s.capturing = false
	s.capOver = false
	s.capBuf = s.capBuf[:0]
}

// parentNode is the trie node of the innermost open container (nodeNone when untracked).
func (s *scanner) parentNode() int16 {
	d := len(s.kinds)
	if d > maxTrack {
		return nodeNone
	}
	return s.node[d]
}

// valueNode is the trie node of a value starting now, given its first byte.
func (s *scanner) valueNode(c byte) int16 {
	d := len(s.kinds)
	if d == 0 {
		if c == '[' {
			return nodeRecords
		}
		return 0
	}
	if d > maxTrack {
		return nodeNone
	}
	pn := s.node[d]
	if s.kinds[d-1] == '{' {
		return s.pend
	}
	switch {
	case pn == nodeRecords:
		return 0
	case pn >= 0:
		return s.trie.element(pn, s.idx[d])
	}
	return nodeNone
}

var skipTab = func() (t [256]bool) {
	for _, c := range []byte(`"{}[]`) {
		t[c] = true
	}
	return
}()

var isLiteral = func() (t [256]bool) {
	for _, c := range []byte("0123456789+-.eEtruefalsn") {
		t[c] = true
	}
	return
}()

func isSpace(c byte) bool { return c <= ' ' && (c == ' ' || c == '\n' || c == '\r' || c == '\t') }

// write scans p. It never fails: malformed input puts the scanner in its error state.
func (s *scanner) write(p []byte) {
	if s.capturing {
		s.capStart = 0
	}
	i := 0
	for i < len(p) {
		c := p[i]
		if s.st <= sAfter && isSpace(c) {
			for i++; i < len(p) && isSpace(p[i]); i++ {
			}
			continue
		}
		switch s.st {
		case sValue, sArrFirst:
			if s.st == sArrFirst && c == ']' {
				s.pop(p, i)
				i++
				continue
			}
			s.beginValue(p, i, c)
			i++
		case sObjFirst, sKey:
			switch {
			case c == '"':
				s.st, s.strKey, s.esc = sString, true, false
				s.keyLen = -1
				if s.parentNode() >= 0 {
					s.keyLen = 0
				}
			case c == '}' && s.st == sObjFirst:
				s.pop(p, i)
			default:
				s.fail()
			}
			i++
		case sColon:
			switch {
			case c == ':':
				s.st = sValue
			default:
				s.fail()
			}
			i++
		case sString:
			if s.esc {
				s.esc = false
				s.keyLen = -1 // an escaped key never matches
				i++
				continue
			}
			j := i + quoteOrBackslash(p[i:])
			if s.strKey && s.keyLen >= 0 {
				s.addKey(p[i:j])
			}
			if j == len(p) {
				i = j
				continue
			}
			if p[j] == '\\' {
				s.esc = true
				i = j + 1
				continue
			}
			// closing quote
			if s.strKey {
				s.strKey = false
				s.st = sColon
				s.pend = nodeNone
				if s.keyLen >= 0 {
					s.pend = s.trie.child(s.parentNode(), s.key[:s.keyLen])
				}
			} else {
				s.endValue(p, j)
			}
			i = j + 1
		case sLiteral:
			j := i
			for j < len(p) && isLiteral[p[j]] {
				j++
			}
			if j == len(p) {
				i = j
				continue
			}
			s.endValue(p, j-1)
			i = j // p[j] is read again, in sAfter
		case sAfter:
			d := len(s.kinds)
			if d == 0 {
				s.st = sValue // another top-level value (NDJSON, concatenated JSON)
				continue
			}
			k := s.kinds[d-1]
			switch {
			case c == ',' && k == '{':
				s.st = sKey
			case c == ',' && k == '[':
				if d <= maxTrack {
					s.idx[d]++
				}
				s.st = sValue
			case c == '}' && k == '{', c == ']' && k == '[':
				s.pop(p, i)
			default:
				s.fail()
			}
			i++
		case sSkip:
			j := i
			for ; j < len(p); j++ {
				if c := p[j]; skipTab[c] {
					if c == '"' {
						break
					}
					if c == '{' || c == '[' {
						s.skipDepth++
					} else if s.skipDepth--; s.skipDepth == 0 {
						break
					}
				}
			}
			switch {
			case j == len(p):
				i = j
			case p[j] == '"':
				s.st = sSkipStr
				i = j + 1
			default: // the container closed
				s.endValue(p, j)
				i = j + 1
			}
		case sSkipStr:
			if s.esc {
				s.esc = false
				i++
				continue
			}
			j := i + quoteOrBackslash(p[i:])
			switch {
			case j == len(p):
				i = j
			case p[j] == '\\':
				s.esc = true
				i = j + 1
			default:
				s.st = sSkip
				i = j + 1
			}
		case sErr:
			if !s.resync {
				return
			}
			nl := bytes.IndexByte(p[i:], '\n')
			if nl < 0 {
				return
			}
			s.reset()
			i += nl + 1
		}
	}
	if s.capturing && !s.capOver {
		s.capAppend(p[s.capStart:])
	}
}

func (s *scanner) addKey(b []byte) {
	if s.keyLen+len(b) > maxKeyLen {
		s.keyLen = -1
		return
	}
	s.keyLen += copy(s.key[s.keyLen:], b)
}

// beginValue starts the value whose first byte is p[i].
func (s *scanner) beginValue(p []byte, i int, c byte) {
	n := s.valueNode(c)
	if !s.capturing && n >= 0 && s.trie[n].leaf != leafNone && s.sink.want(s.trie[n].leaf) {
		s.capturing, s.capLeaf, s.capDepth, s.capStart, s.capOver = true, s.trie[n].leaf, len(s.kinds), i, false
		s.capBuf = s.capBuf[:0]
	}
	if n >= 0 && s.trie[n].leaf != leafNone {
		n = nodeNone // nothing is matched inside a captured value
	}
	switch {
	case (c == '{' || c == '[') && (n == nodeNone || len(s.kinds) >= maxTrack):
		// Nothing inside can match: skip to the matching bracket, counting brackets only.
		// This is where the bulk of a body goes (choices, content, embeddings), and it keeps
		// no state per level, so any nesting depth is free.
		s.st, s.skipDepth, s.esc = sSkip, 1, false
	case c == '{' || c == '[':
		s.kinds = append(s.kinds, c)
		if d := len(s.kinds); d <= maxTrack {
			s.node[d], s.idx[d] = n, 0
		}
		if c == '{' {
			s.st = sObjFirst
		} else {
			s.st = sArrFirst
		}
	case c == '"':
		s.st, s.strKey, s.esc = sString, false, false
	case isLiteral[c]:
		s.st = sLiteral
	default:
		s.fail()
	}
}

// pop closes the container whose closing byte is p[i].
func (s *scanner) pop(p []byte, i int) {
	s.kinds = s.kinds[:len(s.kinds)-1]
	s.endValue(p, i)
}

// endValue ends the value whose last byte is p[end] (end may be -1: it ended with the
// previous chunk).
func (s *scanner) endValue(p []byte, end int) {
	s.st = sAfter
	if !s.capturing || len(s.kinds) != s.capDepth {
		return
	}
	s.capturing = false
	if s.capOver {
		return
	}
	if end >= s.capStart {
		s.capAppend(p[s.capStart : end+1])
	}
	if !s.capOver {
		s.sink.found(s.capLeaf, s.capBuf)
	}
}

func (s *scanner) capAppend(b []byte) {
	if len(s.capBuf)+len(b) > maxCapture {
		s.capOver = true
		return
	}
	s.capBuf = append(s.capBuf, b...)
}

func (s *scanner) fail() {
	s.st = sErr
	s.capturing = false
}

// members calls fn with the key and raw value of each member of the JSON object raw, in
// order, stopping quietly at the first malformed byte. Keys are compared raw: an escaped key
// never matches.
func members(raw []byte, fn func(key, val []byte)) {
	for i := firstMember(raw); i >= 0; {
		k, v, next, ok := nextMember(raw, i)
		if !ok {
			return
		}
		fn(k, v)
		i = next
	}
}

// member returns the value of the first member named key of the JSON object raw; raw may be
// truncated after it.
func member(raw []byte, key string) ([]byte, bool) {
	for i := firstMember(raw); i >= 0; {
		k, v, next, ok := nextMember(raw, i)
		if !ok {
			return nil, false
		}
		if string(k) == key {
			return v, true
		}
		i = next
	}
	return nil, false
}

// firstMember is the index after an object's '{', or -1.
func firstMember(raw []byte) int {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return -1
	}
	return i + 1
}

// nextMember reads the member at raw[i:] (after '{' or ','): ok when there is one, with its
// key, its value and where the next one starts (-1: there is none).
func nextMember(raw []byte, i int) (key, val []byte, next int, ok bool) {
	i = skipSpace(raw, i)
	if i >= len(raw) || raw[i] != '"' {
		return nil, nil, -1, false // '}' or malformed
	}
	kEnd := skipString(raw, i)
	if kEnd < 0 {
		return nil, nil, -1, false
	}
	key = raw[i+1 : kEnd-1]
	i = skipSpace(raw, kEnd)
	if i >= len(raw) || raw[i] != ':' {
		return nil, nil, -1, false
	}
	i = skipSpace(raw, i+1)
	vEnd := skipValue(raw, i)
	if vEnd < 0 {
		return nil, nil, -1, false
	}
	next = skipSpace(raw, vEnd)
	if next < len(raw) && raw[next] == ',' {
		next++
	} else {
		next = -1
	}
	return key, raw[i:vEnd], next, true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] ('"'), or -1.
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); {
		q := bytes.IndexByte(b[j:], '"')
		if q < 0 {
			return -1
		}
		q += j
		// the quote is escaped when an odd number of backslashes precede it
		bs := 0
		for k := q - 1; k > i && b[k] == '\\'; k-- {
			bs++
		}
		if bs%2 == 0 {
			return q + 1
		}
		j = q + 1
	}
	return -1
}

// skipValue returns the index after the value starting at b[i], or -1.
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
				e := skipString(b, j)
				if e < 0 {
					return -1
				}
				j = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) && isLiteral[b[j]] {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

// quoteOrBackslash is the index of the first '"' or '\\' in p, or len(p). It reads eight bytes
// at a time: strings are most of a JSON text.
func quoteOrBackslash(p []byte) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(p); i += 8 {
		x := binary.LittleEndian.Uint64(p[i:])
		q, b := x^(ones*'"'), x^(ones*'\\')
		// a byte of q or b is zero where x holds '"' or '\\'; the lowest flag is exact
		if m := ((q - ones) &^ q & highs) | ((b - ones) &^ b & highs); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(p); i++ {
		if p[i] == '"' || p[i] == '\\' {
			return i
		}
	}
	return i
}
