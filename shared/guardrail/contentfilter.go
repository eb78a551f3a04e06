package guardrail

// litellm_content_filter: LiteLLM's built-in regex and keyword guardrail, with Go's RE2 regexps
// (linear time on untrusted text). Config keys, actions and redaction formats are LiteLLM's
// (litellm/proxy/guardrails/guardrail_hooks/litellm_content_filter/content_filter.py).

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"

	"go.yaml.in/yaml/v3"
)

// KindContentFilter is the content filter's litellm_params.guardrail.
const KindContentFilter = "litellm_content_filter"

// LiteLLM's default redaction formats.
const (
	defaultPatternFormat = "[{pattern_name}_REDACTED]"
	defaultKeywordTag    = "[KEYWORD_REDACTED]"
)

type cfAction uint8

const (
	actBlock cfAction = iota + 1
	actMask
)

// cfPattern is one configured pattern: prebuilt (with its trigger) or a custom regex.
type cfPattern struct {
	name   string
	action cfAction
	pre    *prebuilt      // prebuilt
	re     *regexp.Regexp // custom: runs over the whole text
}

type cfWord struct {
	keyword     string // lower case
	action      cfAction
	description string
}

// ContentFilter is the litellm_content_filter checker.
type ContentFilter struct {
	name          string
	patterns      []cfPattern
	words         []cfWord
	patternFormat string
	keywordTag    string
	pool          sync.Pool // *scratch
}

// NewContentFilter builds a content filter from its definition.
func NewContentFilter(d Def) (*ContentFilter, error) {
	f := &ContentFilter{name: d.Name, patternFormat: defaultPatternFormat, keywordTag: defaultKeywordTag}
	f.pool.New = func() any { return &scratch{} }
	p := params{def: d}
	if s := p.str("pattern_redaction_format"); s != "" {
		f.patternFormat = s
	}
	if s := p.str("keyword_redaction_tag"); s != "" {
		f.keywordTag = s
	}
	for i, item := range p.list("patterns") {
		pat, err := parsePattern(item)
		if err != nil {
			p.fail("patterns[%d]: %v", i, err)
			continue
		}
		f.patterns = append(f.patterns, pat)
	}
	for i, item := range p.list("blocked_words") {
		w, err := parseWord(item)
		if err != nil {
			p.fail("blocked_words[%d]: %v", i, err)
			continue
		}
		f.words = append(f.words, w)
	}
	if file := p.str("blocked_words_file"); file != "" {
		words, err := loadWordsFile(file)
		if err != nil {
			p.fail("blocked_words_file: %v", err)
		}
		f.words = append(f.words, words...)
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	if len(f.patterns) == 0 && len(f.words) == 0 {
		return nil, fmt.Errorf("guardrail %q: litellm_content_filter needs patterns or blocked_words", d.Name)
	}
	return f, nil
}

func parseAction(v any) (cfAction, error) {
	s, _ := v.(string)
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "BLOCK":
		return actBlock, nil
	case "MASK":
		return actMask, nil
	}
	return 0, fmt.Errorf("action: must be BLOCK or MASK, got %v", v)
}

func parsePattern(item any) (cfPattern, error) {
	m, ok := item.(map[string]any)
	if !ok {
		return cfPattern{}, fmt.Errorf("must be a mapping with pattern_type and action")
	}
	act, err := parseAction(m["action"])
	if err != nil {
		return cfPattern{}, err
	}
	typ, _ := m["pattern_type"].(string)
	switch typ {
	case "prebuilt":
		name, _ := m["pattern_name"].(string)
		pre := lookupPrebuilt(name)
		if pre == nil {
			return cfPattern{}, fmt.Errorf("pattern_name: %q is not a prebuilt pattern (known: %s)", name, strings.Join(PrebuiltPatterns(), ", "))
		}
		return cfPattern{name: name, action: act, pre: pre}, nil
	case "regex":
		expr, _ := m["pattern"].(string)
		if expr == "" {
			return cfPattern{}, fmt.Errorf("pattern: is required for pattern_type regex")
		}
		re, err := regexp.Compile("(?i)" + expr) // LiteLLM compiles custom patterns with re.IGNORECASE
		if err != nil {
			return cfPattern{}, fmt.Errorf("pattern: not a Go (RE2) regular expression: %v", err)
		}
		name, _ := m["name"].(string)
		if name == "" {
			name = "custom_regex"
		}
		return cfPattern{name: name, action: act, re: re}, nil
	}
	return cfPattern{}, fmt.Errorf("pattern_type: must be prebuilt or regex, got %v", m["pattern_type"])
}

func parseWord(item any) (cfWord, error) {
	m, ok := item.(map[string]any)
	if !ok {
		return cfWord{}, fmt.Errorf("must be a mapping with keyword and action")
	}
	kw, _ := m["keyword"].(string)
	if strings.TrimSpace(kw) == "" {
		return cfWord{}, fmt.Errorf("keyword: is required")
	}
	act, err := parseAction(m["action"])
	if err != nil {
		return cfWord{}, err
	}
	desc, _ := m["description"].(string)
	return cfWord{keyword: strings.ToLower(kw), action: act, description: desc}, nil
}

// loadWordsFile reads LiteLLM's blocked words file: a YAML mapping with a blocked_words list.
func loadWordsFile(path string) ([]cfWord, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		BlockedWords []map[string]any `yaml:"blocked_words"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: not a YAML mapping with blocked_words: %v", path, err)
	}
	var out []cfWord
	for i, item := range doc.BlockedWords {
		w, err := parseWord(item)
		if err != nil {
			return nil, fmt.Errorf("%s: blocked_words[%d]: %v", path, i, err)
		}
		out = append(out, w)
	}
	return out, nil
}

// Check implements Checker: patterns in their order, then keywords, over every text. A BLOCK
// match stops at once; MASK matches are replaced and the next pattern sees the masked text.
func (f *ContentFilter) Check(_ context.Context, in Input) (Verdict, error) {
	var out []string // set on the first mask
	s := f.pool.Get().(*scratch)
	defer f.pool.Put(s)
	if len(in.Texts) > 1 && f.clean(s, in.Texts) {
		return Verdict{Action: Allow}, nil
	}
	for i, text := range in.Texts {
		s.reset()
		masked, reason := f.checkText(s, text)
		if reason != "" {
			return Verdict{Action: Block, Reason: reason}, nil
		}
		if masked != text && out == nil {
			out = append([]string(nil), in.Texts...)
		}
		if out != nil {
			out[i] = masked
		}
	}
	if out != nil {
		return Verdict{Action: Mask, Texts: out, Reason: "sensitive content masked"}, nil
	}
	return Verdict{Action: Allow}, nil
}

// clean reports whether no pattern and no keyword matches any of texts, looking at them joined
// by NUL bytes in one pass (many short fields cost one scan, not one per field). No prebuilt
// pattern or keyword can match a NUL, so nothing matches across two texts; custom regexps could,
// and run on each text. Any match sends the caller to the exact per-text path.
func (f *ContentFilter) clean(s *scratch, texts []string) bool {
	s.joined = s.joined[:0]
	for i, t := range texts {
		if i > 0 {
			s.joined = append(s.joined, 0)
		}
		s.joined = append(s.joined, t...)
	}
	if len(s.joined) == 0 {
		return true
	}
	// The string is only read during this call, and s (with its buffer) is not reused before it
	// returns: no copy of the fields is needed.
	joined := unsafe.String(&s.joined[0], len(s.joined))
	s.reset()
	for i := range f.patterns {
		p := &f.patterns[i]
		if p.re != nil {
			for _, t := range texts {
				if findIn(p.re, nil, t, 0, len(t), nil) {
					return false
				}
			}
			continue
		}
		if p.find(s, joined, nil) {
			return false
		}
	}
	for _, w := range f.words {
		if indexFold(joined, w.keyword) >= 0 {
			return false
		}
	}
	return true
}

// checkText returns the text with MASK matches replaced, or the reason of a BLOCK. The reason
// is LiteLLM's message, which names the pattern and never the matched text.
func (f *ContentFilter) checkText(s *scratch, text string) (string, string) {
	for i := range f.patterns {
		p := &f.patterns[i]
		if p.action == actBlock {
			if p.find(s, text, nil) {
				return text, fmt.Sprintf("Content blocked: %s pattern detected", p.name)
			}
			continue
		}
		var spans []span
		p.find(s, text, &spans)
		if len(spans) > 0 {
			tag := strings.ReplaceAll(f.patternFormat, "{pattern_name}", strings.ToUpper(p.name))
			text = replaceSpans(text, spans, tag)
			s.reset() // the text changed: its windows must be found again
		}
	}
	for _, w := range f.words {
		at := indexFold(text, w.keyword)
		if at < 0 {
			continue
		}
		if w.action == actBlock {
			msg := "Content blocked: blocked keyword detected"
			if w.description != "" {
				msg += " (" + w.description + ")"
			}
			return text, msg
		}
		text = replaceFold(text, w.keyword, f.keywordTag)
		s.reset()
	}
	return text, ""
}

// find looks for p in text: with all nil it reports the first match; otherwise it appends every
// match, in order and without overlaps, to *all.
func (p *cfPattern) find(s *scratch, text string, all *[]span) bool {
	if p.re != nil {
		return findIn(p.re, nil, text, 0, len(text), all)
	}
	found := false
	last := 0 // end of the last match kept: windows may overlap
	s.windows(p.pre, text, func(lo, hi int) bool {
		lo = max(lo, last)
		if lo >= hi {
			return true
		}
		if findIn(p.pre.re, p.pre.verify, text, lo, hi, all) {
			found = true
			if all == nil {
				return false
			}
			if n := len(*all); n > 0 {
				last = (*all)[n-1].hi
			}
		}
		return true
	})
	return found
}

// findIn runs re over text[lo:hi], keeping matches that pass verify (nil: all).
func findIn(re *regexp.Regexp, verify func(string) bool, text string, lo, hi int, all *[]span) bool {
	found := false
	for lo < hi {
		loc := re.FindStringIndex(text[lo:hi])
		if loc == nil {
			break
		}
		a, b := lo+loc[0], lo+loc[1]
		if b == a { // an empty match (a custom pattern like `x*`) must not loop
			lo = b + 1
			continue
		}
		if verify == nil || verify(text[a:b]) {
			found = true
			if all == nil {
				return true
			}
			*all = append(*all, span{a, b})
		}
		lo = b
	}
	return found
}

// replaceSpans replaces each span (ascending, disjoint) of text with tag.
func replaceSpans(text string, spans []span, tag string) string {
	var b strings.Builder
	b.Grow(len(text) + len(spans)*len(tag))
	prev := 0
	for _, sp := range spans {
		b.WriteString(text[prev:sp.lo])
		b.WriteString(tag)
		prev = sp.hi
	}
	b.WriteString(text[prev:])
	return b.String()
}

// indexFold is the index of the first case-insensitive occurrence of kw (lower case) in text,
// without lowering the whole text: ASCII first bytes are found with IndexByte.
func indexFold(text, kw string) int {
	if kw == "" {
		return -1
	}
	c := kw[0]
	if c >= utf8.RuneSelf || !(c >= 'a' && c <= 'z') {
		if c >= utf8.RuneSelf {
			return strings.Index(strings.ToLower(text), kw) // rare: keep it simple (byte offsets may shift)
		}
		for off := 0; ; {
			k := strings.IndexByte(text[off:], c)
			if k < 0 {
				return -1
			}
			k += off
			if len(text)-k >= len(kw) && strings.EqualFold(text[k:k+len(kw)], kw) {
				return k
			}
			off = k + 1
		}
	}
	upper := c - 'a' + 'A'
	for off := 0; off < len(text); {
		rest := text[off:]
		k1, k2 := strings.IndexByte(rest, c), strings.IndexByte(rest, upper)
		k := k1
		if k < 0 || (k2 >= 0 && k2 < k) {
			k = k2
		}
		if k < 0 {
			return -1
		}
		k += off
		if len(text)-k >= len(kw) && strings.EqualFold(text[k:k+len(kw)], kw) {
			return k
		}
		off = k + 1
	}
	return -1
}

// replaceFold replaces every case-insensitive occurrence of kw with tag, as LiteLLM's
// re.sub(re.escape(keyword), tag, flags=re.IGNORECASE).
func replaceFold(text, kw, tag string) string {
	re := regexp.MustCompile("(?i)" + regexp.QuoteMeta(kw))
	return re.ReplaceAllLiteralString(text, tag)
}
