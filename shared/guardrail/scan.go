package guardrail

import "strings"

// span is a window [lo, hi) of a text.
type span struct{ lo, hi int }

// digitGap is how many separator characters may sit between two digits of one cluster: "(555) 123"
// has two (") ").
const digitGap = 2

// isDigitSep reports whether c may separate the digits of a number (card groups, phone parts).
func isDigitSep(c byte) bool {
	return c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '+' || c == '\t'
}

// scratch holds the windows found in one text, reused across texts and calls (pooled), so a
// check allocates nothing however long the text.
type scratch struct {
	digits []span // digit clusters, with the digit count in digitN
	digitN []int
	ibans  []int // positions of [A-Z]{2}[0-9]{2}
	runs   []span
	done   bool
}

func (s *scratch) reset() {
	s.digits, s.digitN, s.ibans, s.runs, s.done = s.digits[:0], s.digitN[:0], s.ibans[:0], s.runs[:0], false
}

// isRunChar is [A-Za-z0-9/+], the alphabet of an AWS secret key (base64 without padding).
func isRunChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c) || c == '/' || c == '+'
}

// scan finds, in one pass, the digit clusters, IBAN starts and 40-character runs of text.
func (s *scratch) scan(text string) {
	s.done = true
	runStart := -1
	clStart, clEnd, clN := -1, -1, 0
	flush := func() {
		if clN > 0 {
			s.digits = append(s.digits, span{clStart, clEnd})
			s.digitN = append(s.digitN, clN)
		}
		clStart, clN = -1, 0
	}
	for i := 0; i < len(text); i++ {
		c := text[i]
		if isRunChar(c) {
			if runStart < 0 {
				runStart = i
			}
		} else if runStart >= 0 {
			if i-runStart == 40 {
				s.runs = append(s.runs, span{runStart, i})
			}
			runStart = -1
		}
		if isDigit(c) {
			if clN > 0 && i-clEnd > digitGap {
				flush()
			}
			if clN == 0 {
				clStart = i
			}
			clEnd, clN = i+1, clN+1
			if i >= 3 && isDigit(text[i-1]) && isUpper(text[i-2]) && isUpper(text[i-3]) && (i < 4 || !isDigit(text[i-4])) {
				s.ibans = append(s.ibans, i-3)
			}
			continue
		}
		if clN > 0 && !isDigitSep(c) {
			flush()
		}
	}
	flush()
	if runStart >= 0 && len(text)-runStart == 40 {
		s.runs = append(s.runs, span{runStart, len(text)})
	}
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

// clamp returns the window [lo, hi) cut to the text.
func clamp(lo, hi, n int) (int, int) {
	return max(lo, 0), min(hi, n)
}

// isEmailChar is a character of an email address around its '@'.
func isEmailChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}

// windows calls fn with each window of text where p can match, in order; fn returns false to
// stop.
func (s *scratch) windows(p *prebuilt, text string, fn func(lo, hi int) bool) {
	switch p.trig {
	case trigDigits, trigIBAN, trigRun:
		if !s.done {
			s.scan(text)
		}
	}
	switch p.trig {
	case trigDigits:
		for i, w := range s.digits {
			if s.digitN[i] < p.minDigits {
				continue
			}
			// Room for "+1 (" before the first digit and ")" after the last, and one more
			// character each side for \b.
			if !fn(clamp(w.lo-5, w.hi+2, len(text))) {
				return
			}
		}
	case trigAt:
		for off := 0; ; {
			at := strings.IndexByte(text[off:], '@')
			if at < 0 {
				return
			}
			at += off
			lo, hi := at, at+1
			for lo > 0 && isEmailChar(text[lo-1]) {
				lo--
			}
			for hi < len(text) && isEmailChar(text[hi]) {
				hi++
			}
			if !fn(clamp(lo-1, hi+1, len(text))) {
				return
			}
			off = hi
		}
	case trigLiteral:
		for _, lit := range p.lits {
			for off := 0; off < len(text); {
				k := strings.Index(text[off:], lit)
				if k < 0 {
					break
				}
				k += off
				if !fn(clamp(k-1, k+p.maxLen+1, len(text))) {
					return
				}
				off = k + len(lit)
			}
		}
	case trigIBAN:
		for _, at := range s.ibans {
			if !fn(clamp(at-1, at+34+8+1, len(text))) { // 34 characters, up to 8 spaces
				return
			}
		}
	case trigRun:
		for _, w := range s.runs {
			if !fn(w.lo, w.hi) {
				return
			}
		}
	}
}
