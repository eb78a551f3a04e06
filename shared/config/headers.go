package config

// The endpoint fields `headers` and `auth`, and header-name syntax.

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

func (p *parser) headers(e *Endpoint, _ string, n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("must be a mapping of header name to value")
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		name, val := n.Content[i].Value, n.Content[i+1]
		var v string
		if s, ok := scalarString(val); ok && !isNull(val) {
			v = s
		} else {
			p.errorf("%s: headers.%s: must be a string (line %d)", e.Name(), name, val.Line)
			continue
		}
		if lower := strings.ToLower(name); seen[lower] {
			p.errorf("%s: headers.%s: set twice (header names are case-insensitive) (line %d)", e.Name(), name, val.Line)
			continue
		} else {
			seen[lower] = true
		}
		if err := checkSecretRef(v); err != nil {
			p.errorf("%s: headers.%s: %v (line %d)", e.Name(), name, err, val.Line)
			continue
		}
		switch name {
		case "LANGFUSE_PUBLIC_KEY":
			e.LangfusePublicKey = v
		case "LANGFUSE_SECRET_KEY":
			e.LangfuseSecretKey = v
		case "litellm_user_api_key":
			if !validHeaderName(v) {
				p.errorf("%s: headers.litellm_user_api_key: %q is not a valid header name (line %d)", e.Name(), v, val.Line)
				continue
			}
			e.KeyHeader = v
		default:
			if !validHeaderName(name) {
				p.errorf("%s: headers: %q is not a valid header name (line %d)", e.Name(), name, n.Content[i].Line)
				continue
			}
			if strings.ContainsAny(v, "\r\n\x00") {
				p.errorf("%s: headers.%s: value must not contain line breaks (line %d)", e.Name(), name, val.Line)
				continue
			}
			e.Headers = append(e.Headers, Header{Name: name, Value: v})
		}
	}
	return nil
}

func (p *parser) auth(e *Endpoint, _ string, n *yaml.Node) error {
	s, ok := scalarString(n)
	if !ok {
		return fmt.Errorf("must be true or false")
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true":
		e.Auth = AuthGranted
	case "false":
		e.Auth = AuthPublic
	default:
		// LiteLLM treats any other value as a missing `auth`; say so rather than guess.
		e.Auth = AuthAnyKey
		p.warnf("%s: auth: %q is neither true nor false and is treated as missing (any valid key) (line %d)", e.Name(), s, n.Line)
	}
	return nil
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}
