package config

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// DefaultCORSMaxAge is how long a browser may cache a preflight answer when cors sets no max_age
// (Starlette's CORSMiddleware default, the one LiteLLM's proxy runs with).
const DefaultCORSMaxAge = 600 * time.Second

// CORS is general_settings.cors: which browser origins may call the configured routes. Without
// it the gateway sends no CORS headers and answers OPTIONS like any other unserved method.
type CORS struct {
	// AllowOrigins are exact origins (scheme://host[:port]) or "*" for any.
	AllowOrigins []string
	// MaxAge is Access-Control-Max-Age.
	MaxAge time.Duration
}

// Allows reports whether a request's Origin header is allowed.
func (c *CORS) Allows(origin string) bool {
	if c == nil || origin == "" {
		return false
	}
	return slices.Contains(c.AllowOrigins, "*") || slices.Contains(c.AllowOrigins, origin)
}

// cors reads general_settings.cors.
func (p *parser) cors(gs *yaml.Node, cfg *Config) {
	n := mappingValue(gs, "cors")
	if n == nil || isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		p.errorf("general_settings.cors: must be a mapping with allow_origins (line %d)", n.Line)
		return
	}
	c := &CORS{MaxAge: DefaultCORSMaxAge}
	ok := true
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, v := n.Content[i].Value, n.Content[i+1]
		var err error
		switch key {
		case "allow_origins":
			err = decodeOrigins(v, &c.AllowOrigins)
		case "max_age":
			err = decodeSeconds(v, &c.MaxAge)
		default:
			p.warnf("general_settings.cors.%s is unknown and ignored (line %d)", key, n.Content[i].Line)
			continue
		}
		if err != nil {
			p.errorf("general_settings.cors.%s: %v (line %d)", key, err, v.Line)
			ok = false
		}
	}
	if ok && len(c.AllowOrigins) == 0 {
		p.errorf("general_settings.cors.allow_origins: list at least one origin, or \"*\" (line %d)", n.Line)
		return
	}
	if ok {
		cfg.CORS = c
	}
}

// decodeOrigins reads a list of origins. An origin is what a browser sends in Origin: a scheme,
// a host and perhaps a port, nothing else (https://fetch.spec.whatwg.org/#origin-header), so a
// path or a trailing slash could never match and is reported instead.
func decodeOrigins(n *yaml.Node, dst *[]string) error {
	if n.Kind != yaml.SequenceNode {
		return fmt.Errorf("must be a list of origins, found %s", kindName(n))
	}
	var out []string
	for _, item := range n.Content {
		s, ok := scalarString(item)
		if !ok {
			return fmt.Errorf("must be a list of origins, found %s", kindName(item))
		}
		s = strings.TrimSpace(s)
		if s != "*" {
			u, err := url.Parse(s)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
				u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || strings.HasSuffix(s, "?") || strings.HasSuffix(s, "#") {
				return fmt.Errorf("%q is not an origin (scheme://host[:port], no path, or \"*\")", s)
			}
			s = strings.ToLower(s)
		}
		out = append(out, s)
	}
	*dst = out
	return nil
}
