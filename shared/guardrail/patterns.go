package guardrail

// The prebuilt patterns of the content filter. Go's regexp (RE2) runs in linear time, but at
// roughly 150–300 µs per pattern over 10 KB of text, nine patterns over a whole body would cost
// milliseconds. So each prebuilt pattern names a trigger: one pass over the text finds the few
// places where it could match (a run of digits, an '@', a literal prefix such as AKIA), and the
// regexp runs only on a small window around each. A window always extends past the longest match
// plus one character, so \b at its edges reads the same bytes as in the whole text.

import (
	"regexp"
	"strings"
	"sync"
)

// trigger says where a prebuilt pattern can match.
type trigger uint8

const (
	trigDigits  trigger = iota + 1 // clusters of digits with separators: SSN, phone, cards
	trigAt                         // around each '@': email
	trigLiteral                    // after each occurrence of a literal prefix
	trigIBAN                       // at each [A-Z]{2}[0-9]{2}
	trigRun                        // maximal runs of [A-Za-z0-9/+] of one length
)

// prebuilt is one named pattern.
type prebuilt struct {
	name      string
	expr      string
	trig      trigger
	minDigits int      // trigDigits: the fewest digits a match holds
	lits      []string // trigLiteral
	maxLen    int      // trigLiteral: the longest match, for the window
	verify    func(m string) bool
	re        *regexp.Regexp // compiled by lookupPrebuilt, when a config first names it
	compile   sync.Once
}

// prebuiltPatterns are LiteLLM's (patterns.json) plus common secrets. Differences from LiteLLM,
// all to cut false positives: card numbers must pass the Luhn check, SSNs must have a possible
// area/group/serial, IBANs must pass the mod-97 check, and aws_secret_key needs a 40-character
// run that mixes upper case, lower case and digits (LiteLLM's matches any 40-letter word run).
var prebuiltPatterns = []*prebuilt{
	{name: "us_ssn", expr: `\b\d{3}-\d{2}-\d{4}\b`, trig: trigDigits, minDigits: 9, verify: validSSN},
	{name: "email", expr: `\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b`, trig: trigAt},
	{name: "phone", expr: `(?:\+?\b1[\s.-]?)?(?:\(\d{3}\)|\b\d{3})[\s.-]?\d{3}[\s.-]?\d{4}\b`, trig: trigDigits, minDigits: 10},
	{name: "visa", expr: `\b4\d{3}[\s-]?\d{4}[\s-]?\d{4}[\s-]?\d{4}\b`, trig: trigDigits, minDigits: 16, verify: luhn},
	{name: "mastercard", expr: `\b(?:5[1-5]\d{2}|2[2-7]\d{2})[\s-]?\d{4}[\s-]?\d{4}[\s-]?\d{4}\b`, trig: trigDigits, minDigits: 16, verify: luhn},
	{name: "amex", expr: `\b3[47]\d{2}[\s-]?\d{6}[\s-]?\d{5}\b`, trig: trigDigits, minDigits: 15, verify: luhn},
	{name: "discover", expr: `\b6(?:011|5\d{2})[\s-]?\d{4}[\s-]?\d{4}[\s-]?\d{4}\b`, trig: trigDigits, minDigits: 16, verify: luhn},
	{name: "iban", expr: `\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b`, trig: trigIBAN, verify: validIBAN},
	{name: "aws_access_key", expr: `\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`, trig: trigLiteral, lits: []string{"AKIA", "ASIA"}, maxLen: 20},
	{name: "aws_secret_key", expr: `^[A-Za-z0-9/+]{40}$`, trig: trigRun, verify: mixedCase},
	{name: "github_token", expr: `\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,255})\b`, trig: trigLiteral,
		lits: []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"}, maxLen: 266},
	{name: "slack_token", expr: `\bxox[abposr]-[A-Za-z0-9-]{10,250}`, trig: trigLiteral, lits: []string{"xox"}, maxLen: 256},
	{name: "openai_api_key", expr: `\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,250}`, trig: trigLiteral, lits: []string{"sk-"}, maxLen: 264,
		verify: func(m string) bool { return !strings.HasPrefix(m, "sk-ant-") }},
	{name: "anthropic_api_key", expr: `\bsk-ant-[A-Za-z0-9_-]{20,250}`, trig: trigLiteral, lits: []string{"sk-ant-"}, maxLen: 258},
	{name: "google_api_key", expr: `\bAIza[0-9A-Za-z_-]{35}\b`, trig: trigLiteral, lits: []string{"AIza"}, maxLen: 39},
	{name: "private_key", expr: `-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----`, trig: trigLiteral, lits: []string{"-----BEGIN "}, maxLen: 64},
	{name: "jwt", expr: `\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{10,}`, trig: trigLiteral, lits: []string{"eyJ"}, maxLen: 8192},
}

// prebuiltAliases are other names LiteLLM and its docs use for the same patterns.
var prebuiltAliases = map[string]string{"us_phone": "phone", "ssn": "us_ssn"}

var prebuiltByName = func() map[string]*prebuilt {
	m := make(map[string]*prebuilt, len(prebuiltPatterns))
	for _, p := range prebuiltPatterns {
		m[p.name] = p
	}
	return m
}()

// PrebuiltPatterns lists the prebuilt pattern names, for docs and messages.
func PrebuiltPatterns() []string {
	out := make([]string, len(prebuiltPatterns))
	for i, p := range prebuiltPatterns {
		out[i] = p.name
	}
	return out
}

// lookupPrebuilt finds a prebuilt pattern by name or alias, its regexp compiled. Compiling
// them all at start-up cost every process 0.6 MB of heap, most of it for guardrails it has not
// got.
func lookupPrebuilt(name string) *prebuilt {
	if a, ok := prebuiltAliases[name]; ok {
		name = a
	}
	p := prebuiltByName[name]
	if p != nil {
		p.compile.Do(func() { p.re = regexp.MustCompile(p.expr) })
	}
	return p
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// luhn reports whether the digits of m pass the Luhn check every card number carries.
func luhn(m string) bool {
	sum, n := 0, 0
	for i := len(m) - 1; i >= 0; i-- {
		c := m[i]
		if !isDigit(c) {
			continue
		}
		d := int(c - '0')
		if n%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		n++
	}
	return n > 0 && sum%10 == 0
}

// validSSN rejects numbers the SSA never issues: area 000, 666 or 9xx, group 00, serial 0000.
func validSSN(m string) bool {
	area, group, serial := m[0:3], m[4:6], m[7:11]
	return area != "000" && area != "666" && area[0] != '9' && group != "00" && serial != "0000"
}

// validIBAN applies ISO 13616's mod-97 check to the IBAN's characters (spaces ignored).
func validIBAN(m string) bool {
	s := strings.ReplaceAll(m, " ", "")
	if len(s) < 15 || len(s) > 34 {
		return false
	}
	rem := 0
	for i := 0; i < len(s); i++ {
		c := s[(i+4)%len(s)] // the first four characters move to the end
		switch {
		case isDigit(c):
			rem = (rem*10 + int(c-'0')) % 97
		case c >= 'A' && c <= 'Z':
			rem = (rem*100 + int(c-'A'+10)) % 97
		default:
			return false
		}
	}
	return rem == 1
}

// mixedCase holds for a run with upper case, lower case and a digit: a random secret, not a
// word, a hex digest or a base64 run of one case.
func mixedCase(m string) bool {
	var up, low, dig bool
	for i := 0; i < len(m); i++ {
		c := m[i]
		up = up || (c >= 'A' && c <= 'Z')
		low = low || (c >= 'a' && c <= 'z')
		dig = dig || isDigit(c)
	}
	return up && low && dig
}
