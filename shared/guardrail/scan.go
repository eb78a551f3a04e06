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
	lits   []litHit
	done   bool
	joined []byte // the texts of one check joined by NULs (ContentFilter.clean)
}

// litHit is an occurrence of a trigLiteral pattern's literal.
type litHit struct {
	at int
	p  *prebuilt
}

func (s *scratch) reset() {
	s.digits, s.digitN, s.ibans, s.runs, s.lits, s.done = s.digits[:0], s.digitN[:0], s.ibans[:0], s.runs[:0], s.lits[:0], false
}

// Byte classes, looked up once per byte of the scan.
const (
	cRun   = 1 << iota // [A-Za-z0-9/+]
	cDigit             // [0-9]
	cSep               // a separator inside a number
	cUpper             // [A-Z]
	cLit               // the first byte of a literal prefix
)

var (
	classes     [256]uint8
	litsByFirst [256][]litRef // the literals starting with each byte
)

type litRef struct {
	lit string
	p   *prebuilt
}

func init() {
	for c := 0; c < 256; c++ {
		b := byte(c)
		if isRunChar(b) {
			classes[c] |= cRun
		}
		if isDigit(b) {
			classes[c] |= cDigit
		}
		if isDigitSep(b) {
			classes[c] |= cSep
		}
		if isUpper(b) {
			classes[c] |= cUpper
		}
	}
	for _, p := range prebuiltPatterns {
		for _, lit := range p.lits {
			litsByFirst[lit[0]] = append(litsByFirst[lit[0]], litRef{lit, p})
			classes[lit[0]] |= cLit
		}
	}
}

// isRunChar is [A-Za-z0-9/+], the alphabet of an AWS secret key (base64 without padding).
func isRunChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c) || c == '/' || c == '+'
}

// scan finds, in one pass, the digit clusters, IBAN starts, literal prefixes and the
// 40-character runs that hold a digit (an AWS secret key mixes digits in, so a run without one
// is never reported). Most bytes are letters and spaces outside any number: for them the loop
// does one table lookup and one branch.
func (s *scratch) scan(text string) {
	s.done = true
	clStart, clEnd, clN := -1, -1, 0
	runChecked := 0 // digits before this index lie in a run already measured
	for i := 0; i < len(text); i++ {
		c := text[i]
		cl := classes[c]
		if cl&(cDigit|cLit) == 0 {
			if clN > 0 && cl&cSep == 0 {
				s.addCluster(clStart, clEnd, clN)
				clN = 0
			}
			continue
		}
		if cl&cLit != 0 {
			for _, r := range litsByFirst[c] {
				// The second byte first: 'e' and 's' are common, "ey" and "sk" are not.
				if i+len(r.lit) <= len(text) && text[i+1] == r.lit[1] && text[i:i+len(r.lit)] == r.lit {
					s.lits = append(s.lits, litHit{i, r.p})
				}
			}
			if cl&cDigit == 0 {
				if clN > 0 && cl&cSep == 0 {
					s.addCluster(clStart, clEnd, clN)
					clN = 0
				}
				continue
			}
		}
		if clN > 0 && i-clEnd > digitGap {
			s.addCluster(clStart, clEnd, clN)
			clN = 0
		}
		if clN == 0 {
			clStart = i
		}
		clEnd, clN = i+1, clN+1
		if i >= 3 && classes[text[i-1]]&cDigit != 0 && classes[text[i-2]]&cUpper != 0 && classes[text[i-3]]&cUpper != 0 &&
			(i < 4 || classes[text[i-4]]&cUpper == 0) {
			s.ibans = append(s.ibans, i-3)
		}
		if i >= runChecked {
			runChecked = s.measureRun(text, i)
		}
	}
	if clN > 0 {
		s.addCluster(clStart, clEnd, clN)
	}
}

// measureRun records the run of [A-Za-z0-9/+] around i when it is exactly 40 long, and returns
// where the measured part ends. Each side is read at most 41 bytes, so the scan stays linear.
func (s *scratch) measureRun(text string, i int) int {
	lo, hi := i, i+1
	for lo > 0 && i-lo <= 40 && classes[text[lo-1]]&cRun != 0 {
		lo--
	}
	for hi < len(text) && hi-i <= 40 && classes[text[hi]]&cRun != 0 {
		hi++
	}
	if hi-lo == 40 && (lo == 0 || classes[text[lo-1]]&cRun == 0) && (hi == len(text) || classes[text[hi]]&cRun == 0) {
		s.runs = append(s.runs, span{lo, hi})
	}
	return hi
}

func (s *scratch) addCluster(lo, hi, n int) {
	s.digits = append(s.digits, span{lo, hi})
	s.digitN = append(s.digitN, n)
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
	if p.trig != trigAt && !s.done {
		s.scan(text)
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
		for _, h := range s.lits {
			if h.p == p && !fn(clamp(h.at-1, h.at+p.maxLen+1, len(text))) {
				return
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
