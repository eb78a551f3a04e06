package config

// Endpoints that serve the same (path, method): which one would answer would be an accident of
// file order, so the parser refuses them and other loaders can list them.

import (
	"strings"
)

// duplicates rejects two endpoints that serve the same (path, method): which one would answer
// is otherwise an accident of file order.
func (p *parser) duplicates(eps []Endpoint) {
	for _, c := range Conflicts(eps) {
		e := &eps[c.Index]
		p.errorf("%s: path %s method %s is already served by %s", e.Name(), e.Path, c.Method, eps[c.Other].Name())
	}
}

// Conflict is an endpoint serving a (path, method) an earlier endpoint already serves.
type Conflict struct {
	Index, Other int // positions in the list: the later endpoint and the one it collides with
	Method       string
}

// Conflicts lists every endpoint that repeats an earlier one's (path, method), once each;
// include_subpath endpoints also collide on their prefix (/x and /x/ serve the same subpaths).
func Conflicts(eps []Endpoint) []Conflict {
	var out []Conflict
	owner := map[string]int{}
	for i := range eps {
		e := &eps[i]
		if e.Path == "" {
			continue
		}
		// Check every method before claiming any: an endpoint that is left out must not keep
		// a later one out through the methods it would have served.
		if c, ok := conflict(owner, claims(e), i); ok {
			out = append(out, c)
			continue
		}
		for _, cl := range claims(e) {
			owner[cl.key] = i
		}
	}
	return out
}

type claim struct{ key, method string }

// claims are the (method, path) keys an endpoint serves; include_subpath endpoints also claim
// their prefix, so /x and /x/ collide.
func claims(e *Endpoint) []claim {
	var out []claim
	for _, m := range e.Methods {
		out = append(out, claim{m + " " + e.Path, m})
		if e.IncludeSubpath {
			out = append(out, claim{m + " " + strings.TrimSuffix(e.Path, "/") + "/**", m})
		}
	}
	return out
}

func conflict(owner map[string]int, cs []claim, i int) (Conflict, bool) {
	for _, c := range cs {
		if j, ok := owner[c.key]; ok {
			return Conflict{Index: i, Other: j, Method: c.method}, true
		}
	}
	return Conflict{}, false
}
