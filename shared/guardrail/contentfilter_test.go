package guardrail

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func filter(t testing.TB, params map[string]any) *ContentFilter {
	t.Helper()
	f, err := NewContentFilter(Def{Name: "cf", Kind: KindContentFilter, Params: params})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func prebuiltBlock(names ...string) map[string]any {
	var ps []any
	for _, n := range names {
		ps = append(ps, map[string]any{"pattern_type": "prebuilt", "pattern_name": n, "action": "BLOCK"})
	}
	return map[string]any{"patterns": ps}
}

// TestPrebuiltPatterns: each prebuilt pattern blocks its true positives and lets its near misses
// through; the reason names the pattern, never the text.
func TestPrebuiltPatterns(t *testing.T) {
	cases := []struct {
		pattern string
		hits    []string
		misses  []string
	}{
		{"us_ssn", []string{"my ssn is 123-45-6789.", "ssn:078-05-1120"}, []string{"123-45-678", "000-12-3456", "666-12-3456", "912-34-5678", "123-00-4567", "1234-56-7890", "call 123 45 6789"}},
		{"email", []string{"write to jane.doe+x@example.co.uk now", "a@b.io"}, []string{"user@localhost", "@handle", "x@y.z"}},
		{"phone", []string{"call (555) 123-4567", "+1 555-123-4567", "555.123.4567", "5551234567"}, []string{"555-1234", "123456789", "12345678901234"}},
		{"visa", []string{"card 4111 1111 1111 1111 ok", "4111-1111-1111-1111", "4012888888881881"}, []string{"4111 1111 1111 1112", "411111111111111"}},
		{"mastercard", []string{"5555 5555 5555 4444", "2223003122003222"}, []string{"5555 5555 5555 4445", "6555555555554444"}},
		{"amex", []string{"3782 822463 10005", "371449635398431"}, []string{"3782 822463 10006", "37828224631000"}},
		{"iban", []string{"pay to DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432"}, []string{"DE89 3704 0044 0532 0130 01", "AB12"}},
		{"aws_access_key", []string{"key AKIAIOSFODNN7EXAMPLE here", "ASIAY34FZKBOKMUTVV7A"}, []string{"AKIAIOSFODNN7EXAMPL", "XAKIAIOSFODNN7EXAMPLE", "akiaiosfodnn7example"}},
		{"aws_secret_key", []string{"secret=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}, []string{"da39a3ee5e6b4b0d3255bfef95601890afd80709", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEYX", "the quick brown fox"}},
		{"github_token", []string{"ghp_" + strings.Repeat("a1B2", 9), "github_pat_11ABCDEFG0123456789abcdef_xyz"}, []string{"ghp_short", "ghx_" + strings.Repeat("a1B2", 9)}},
		{"slack_token", []string{"xoxb-1234567890-abcdefghij"}, []string{"xoxz-1234567890-abcdefghij", "xoxb-12"}},
		{"openai_api_key", []string{"sk-proj-abcdefghijklmnopqrstuvwxyz123", "sk-abcdefghijklmnopqrstuvwxyz"}, []string{"sk-short", "sk-ant-api03-abcdefghijklmnopqrstuvwxyz", "task-abcdefghijklmnopqrstuvwxyz"}},
		{"anthropic_api_key", []string{"sk-ant-api03-abcdefghijklmnopqrstuvwxyz"}, []string{"sk-ant-short", "sk-proj-abcdefghijklmnopqrstuvwxyz123"}},
		{"google_api_key", []string{"AIzaSyA1234567890abcdefghijklmnopqrstuv"}, []string{"AIzaShort"}},
		{"private_key", []string{"-----BEGIN RSA PRIVATE KEY-----\nMIIE", "-----BEGIN PRIVATE KEY-----"}, []string{"-----BEGIN PUBLIC KEY-----", "-----BEGIN CERTIFICATE-----"}},
		{"jwt", []string{"Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.abcdefghijklmnop"}, []string{"eyJhbGciOiJIUzI1NiJ9", "eyJhbGciOiJIUzI1NiJ9.notjwt.x"}},
	}
	for _, tc := range cases {
		f := filter(t, prebuiltBlock(tc.pattern))
		for _, hit := range tc.hits {
			v, err := f.Check(context.Background(), Input{Texts: []string{"x", hit}})
			if err != nil || v.Action != Block || v.Reason != "Content blocked: "+tc.pattern+" pattern detected" {
				t.Errorf("%s: %q: got %+v, %v; want blocked", tc.pattern, hit, v, err)
			}
			if strings.Contains(v.Reason, hit) {
				t.Errorf("%s: reason echoes the text", tc.pattern)
			}
		}
		for _, miss := range tc.misses {
			v, err := f.Check(context.Background(), Input{Texts: []string{miss}})
			if err != nil || v.Action != Allow || v.Texts != nil {
				t.Errorf("%s: %q: got %+v, %v; want none", tc.pattern, miss, v, err)
			}
		}
	}
}

// TestPrebuiltAgreesWithWholeText: the windows never change what a pattern finds, compared with
// its regexp (and check) run over the whole text.
func TestPrebuiltAgreesWithWholeText(t *testing.T) {
	texts := []string{
		"a 123-45-6789 b (555) 123-4567 c 4111111111111111 d jane@example.com e AKIAIOSFODNN7EXAMPLE",
		"k=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY; 2wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKE9",
		"x@y.co;4111 1111 1111 1111|+1 555.123.4567 GB82WEST12345698765432 AKIAIOSFODNN7EXAMPLEX",
		strings.Repeat("lorem 12 ipsum 3456 ", 50) + "078-05-1120" + strings.Repeat(" dolor@ sit", 30),
	}
	for _, p := range prebuiltPatterns {
		p := lookupPrebuilt(p.name) // compiles its regexp
		s := &scratch{}
		for _, text := range texts {
			s.reset()
			var got []span
			cp := cfPattern{name: p.name, action: actMask, pre: p}
			cp.find(s, text, &got)
			var want []span
			if p.trig != trigRun {
				findIn(p.re, p.verify, text, 0, len(text), &want)
			} else { // every maximal run of exactly 40 that mixes cases and digits
				for _, m := range runRE.FindAllStringSubmatchIndex(text, -1) {
					if mixedCase(text[m[2]:m[3]]) {
						want = append(want, span{m[2], m[3]})
					}
				}
			}
			if len(got) != len(want) {
				t.Errorf("%s on %q: windows found %v, whole text %v", p.name, text[:20], got, want)
				continue
			}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("%s: windows found %v, whole text %v", p.name, got, want)
				}
			}
		}
	}
}

// runRE finds maximal 40-character runs; the separators it consumes are never run characters.
var runRE = regexp.MustCompile(`(?:^|[^A-Za-z0-9/+])([A-Za-z0-9/+]{40})(?:$|[^A-Za-z0-9/+])`)

// TestMaskFormats: LiteLLM's default tags, a custom pattern_redaction_format and
// keyword_redaction_tag, custom regex names, and keyword matching regardless of case.
func TestMaskFormats(t *testing.T) {
	cases := []struct {
		name   string
		params map[string]any
		in     string
		want   string
	}{
		{"default pattern tag", map[string]any{"patterns": []any{map[string]any{"pattern_type": "prebuilt", "pattern_name": "email", "action": "MASK"}}},
			"mail a@b.io and c@d.org", "mail [EMAIL_REDACTED] and [EMAIL_REDACTED]"},
		{"custom format", map[string]any{"pattern_redaction_format": "***{pattern_name}***", "patterns": []any{map[string]any{"pattern_type": "prebuilt", "pattern_name": "us_ssn", "action": "MASK"}}},
			"ssn 123-45-6789", "ssn ***US_SSN***"},
		{"custom regex", map[string]any{"patterns": []any{map[string]any{"pattern_type": "regex", "pattern": `emp-\d{4}`, "name": "employee_id", "action": "mask"}}},
			"id EMP-1234 and emp-9999", "id [EMPLOYEE_ID_REDACTED] and [EMPLOYEE_ID_REDACTED]"},
		{"custom regex unnamed", map[string]any{"patterns": []any{map[string]any{"pattern_type": "regex", "pattern": `zz\d`, "action": "MASK"}}},
			"a zz1 b", "a [CUSTOM_REGEX_REDACTED] b"},
		{"keyword default tag", map[string]any{"blocked_words": []any{map[string]any{"keyword": "Project Falcon", "action": "MASK"}}},
			"about PROJECT FALCON and project falcon.", "about [KEYWORD_REDACTED] and [KEYWORD_REDACTED]."},
		{"keyword custom tag", map[string]any{"keyword_redaction_tag": "<hidden>", "blocked_words": []any{map[string]any{"keyword": "secret", "action": "MASK"}}},
			"a Secret b", "a <hidden> b"},
		{"two patterns in order", map[string]any{"patterns": []any{
			map[string]any{"pattern_type": "prebuilt", "pattern_name": "email", "action": "MASK"},
			map[string]any{"pattern_type": "prebuilt", "pattern_name": "phone", "action": "MASK"}}},
			"x@y.io or 555-123-4567", "[EMAIL_REDACTED] or [PHONE_REDACTED]"},
	}
	for _, tc := range cases {
		f := filter(t, tc.params)
		v, err := f.Check(context.Background(), Input{Texts: []string{"untouched", tc.in}})
		if err != nil || v.Action != Mask || len(v.Texts) != 2 || v.Texts[0] != "untouched" || v.Texts[1] != tc.want {
			t.Errorf("%s: got %+v, %v; want masked %q", tc.name, v, err, tc.want)
		}
	}
}

// TestKeywordBlock: a blocked word blocks regardless of case; the reason carries the
// description, not the keyword.
func TestKeywordBlock(t *testing.T) {
	f := filter(t, map[string]any{"blocked_words": []any{
		map[string]any{"keyword": "falcon", "action": "BLOCK", "description": "internal codename"},
		map[string]any{"keyword": "+secret", "action": "BLOCK"}}})
	cases := map[string]string{
		"the FALCON flies":  "Content blocked: blocked keyword detected (internal codename)",
		"a +SECRET b":       "Content blocked: blocked keyword detected",
		"nothing here, fal": "",
	}
	for in, want := range cases {
		v, _ := f.Check(context.Background(), Input{Texts: []string{in}})
		if want == "" && v.Action != Allow || want != "" && (v.Action != Block || v.Reason != want) {
			t.Errorf("%q: got %+v, want %q", in, v, want)
		}
	}
}

func TestBlockedWordsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "words.yaml")
	if err := os.WriteFile(path, []byte("blocked_words:\n  - keyword: forbidden\n    action: BLOCK\n  - keyword: hush\n    action: MASK\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := filter(t, map[string]any{"blocked_words_file": path})
	if v, _ := f.Check(context.Background(), Input{Texts: []string{"a Forbidden b"}}); v.Action != Block {
		t.Errorf("got %+v, want blocked", v)
	}
	if v, _ := f.Check(context.Background(), Input{Texts: []string{"hush now"}}); v.Action != Mask || v.Texts[0] != "[KEYWORD_REDACTED] now" {
		t.Errorf("got %+v, want masked", v)
	}
}

// TestContentFilterConfigErrors: each bad parameter is an error naming the guardrail and field.
func TestContentFilterConfigErrors(t *testing.T) {
	cases := []struct {
		params map[string]any
		want   string
	}{
		{map[string]any{}, `guardrail "cf": litellm_content_filter needs patterns or blocked_words`},
		{map[string]any{"patterns": []any{map[string]any{"pattern_type": "prebuilt", "pattern_name": "nope", "action": "BLOCK"}}}, `guardrail "cf": patterns[0]: pattern_name: "nope" is not a prebuilt pattern`},
		{map[string]any{"patterns": []any{map[string]any{"pattern_type": "regex", "pattern": `(?=x)`, "action": "BLOCK"}}}, `guardrail "cf": patterns[0]: pattern: not a Go (RE2) regular expression`},
		{map[string]any{"patterns": []any{map[string]any{"pattern_type": "regex", "pattern": `x`, "action": "DROP"}}}, `guardrail "cf": patterns[0]: action: must be BLOCK or MASK, got DROP`},
		{map[string]any{"patterns": []any{map[string]any{"pattern_type": "glob", "action": "BLOCK"}}}, `guardrail "cf": patterns[0]: pattern_type: must be prebuilt or regex, got glob`},
		{map[string]any{"patterns": "email"}, `guardrail "cf": patterns: must be a list`},
		{map[string]any{"blocked_words": []any{map[string]any{"action": "BLOCK"}}}, `guardrail "cf": blocked_words[0]: keyword: is required`},
		{map[string]any{"blocked_words_file": "/nonexistent/words.yaml"}, `guardrail "cf": blocked_words_file: open /nonexistent/words.yaml`},
		{map[string]any{"pattern_redaction_format": 3, "blocked_words": []any{map[string]any{"keyword": "x", "action": "BLOCK"}}}, `guardrail "cf": pattern_redaction_format: must be a string`},
	}
	for _, tc := range cases {
		_, err := NewContentFilter(Def{Name: "cf", Kind: KindContentFilter, Params: tc.params})
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want %q", tc.params, err, tc.want)
		}
	}
}

func TestNewDispatch(t *testing.T) {
	if _, err := New(Def{Name: "x", Kind: "presidio"}, Deps{}); err == nil || !strings.Contains(err.Error(), `guardrail "x": guardrail "presidio" is not supported`) {
		t.Errorf("got %v", err)
	}
	c, err := New(Def{Name: "x", Kind: KindContentFilter, Params: prebuiltBlock("email")}, Deps{})
	if _, ok := c.(*ContentFilter); !ok || err != nil {
		t.Errorf("got %T, %v", c, err)
	}
}

// TestNoMatchAcrossTexts: texts are checked as separate values: a number or an address split over
// two fields is not seen, by the prebuilt patterns, keywords or custom regexps.
func TestNoMatchAcrossTexts(t *testing.T) {
	params := allPrebuilt()
	params["patterns"] = append(params["patterns"].([]any), map[string]any{"pattern_type": "regex", "pattern": `45.6789`, "action": "BLOCK"})
	params["blocked_words"] = []any{map[string]any{"keyword": "ab", "action": "BLOCK"}}
	f := filter(t, params)
	for _, texts := range [][]string{{"123-45", "-6789"}, {"123-45", "6789"}, {"jane@example", ".com"}, {"AKIA", "IOSFODNN7EXAMPLE"}, {"xa", "bx"}} {
		if v, err := f.Check(context.Background(), Input{Texts: texts}); err != nil || v.Action != Allow {
			t.Errorf("%q: %+v %v", texts, v, err)
		}
	}
	if v, _ := f.Check(context.Background(), Input{Texts: []string{"ok", "123-45-6789"}}); v.Action != Block {
		t.Errorf("got %+v", v)
	}
}
