package config

// Decoders from YAML nodes to typed endpoint fields; each names what it expected in its error.

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// decodeProvider reads a provider name. It becomes a metric dimension and an Athena value, so
// it is kept to a short, plain token.
func decodeProvider(n *yaml.Node, dst *string) error {
	var s string
	if err := decodeString(n, &s); err != nil {
		return err
	}
	ok := s != "" && len(s) <= 64
	for _, r := range s {
		ok = ok && (r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.')
	}
	if !ok {
		return fmt.Errorf("must be a provider name such as openai, anthropic, cohere, gemini, vertex_ai or bedrock (lowercase letters, digits, _ - . and at most 64 characters), found %q", s)
	}
	*dst = s
	return nil
}

func decodeTags(n *yaml.Node, dst *[]string) error {
	if n.Kind != yaml.SequenceNode {
		return fmt.Errorf("must be a list of strings")
	}
	var out []string
	for _, item := range n.Content {
		s, ok := scalarString(item)
		if !ok || strings.TrimSpace(s) == "" {
			return fmt.Errorf("must be a list of non-empty strings")
		}
		out = append(out, strings.TrimSpace(s))
	}
	*dst = out
	return nil
}

func decodeString(n *yaml.Node, dst *string) error {
	s, ok := scalarString(n)
	if !ok {
		return fmt.Errorf("must be a string, found %s", kindName(n))
	}
	*dst = strings.TrimSpace(s)
	return nil
}

// decodeBool accepts YAML booleans only: a quoted "true" is a typo worth reporting, and LiteLLM
// enables include_subpath only for a real boolean.
func decodeBool(n *yaml.Node, dst *bool) error {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		return fmt.Errorf("must be true or false, found %q", n.Value)
	}
	return n.Decode(dst)
}

var knownMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

func decodeMethods(n *yaml.Node, dst *[]string) error {
	if n.Kind != yaml.SequenceNode {
		return fmt.Errorf("must be a list such as [POST]")
	}
	if len(n.Content) == 0 {
		return fmt.Errorf("must list at least one method")
	}
	var out []string
	for _, item := range n.Content {
		s, ok := scalarString(item)
		m := strings.ToUpper(strings.TrimSpace(s))
		if !ok || !slices.Contains(knownMethods, m) {
			return fmt.Errorf("%q is not one of %s", item.Value, strings.Join(knownMethods, ", "))
		}
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	*dst = out
	return nil
}

func decodeSeconds(n *yaml.Node, dst *time.Duration) error {
	d, err := seconds(n)
	if err != nil {
		return err
	}
	*dst = d
	return nil
}

func seconds(n *yaml.Node) (time.Duration, error) {
	f, err := number(n)
	if err != nil {
		return 0, err
	}
	if f <= 0 || f > 86400 {
		return 0, fmt.Errorf("must be a number of seconds between 0 and 86400, found %s", n.Value)
	}
	return time.Duration(f * float64(time.Second)), nil
}

func decodeCost(n *yaml.Node, dst **float64) error {
	f, err := number(n)
	if err != nil {
		return err
	}
	if f < 0 {
		return fmt.Errorf("must not be negative, found %s", n.Value)
	}
	*dst = &f
	return nil
}

func number(n *yaml.Node) (float64, error) {
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
		return 0, fmt.Errorf("must be a number, found %q", n.Value)
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("must be a finite number, found %q", n.Value)
	}
	return f, nil
}

func decodeParams(n *yaml.Node, dst *[]Param) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("must be a mapping of parameter name to value")
	}
	var out []Param
	for i := 0; i+1 < len(n.Content); i += 2 {
		name, val := n.Content[i].Value, n.Content[i+1]
		s, ok := scalarString(val)
		if !ok || isNull(val) {
			return fmt.Errorf("%s: must be a string, number or boolean", name)
		}
		out = append(out, Param{Name: name, Value: s})
	}
	*dst = out
	return nil
}

var fieldPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_\-]*(\[\*\])?(\.[A-Za-z_][A-Za-z0-9_\-]*(\[\*\])?)*$`)

// decodeGuardrails accepts LiteLLM's two forms: a list of names, or a mapping of name to null
// or {request_fields, response_fields}.
func decodeGuardrails(n *yaml.Node, dst *[]Guardrail) error {
	var out []Guardrail
	switch n.Kind {
	case yaml.SequenceNode:
		for _, item := range n.Content {
			s, ok := scalarString(item)
			if !ok || strings.TrimSpace(s) == "" {
				return fmt.Errorf("list entries must be guardrail names")
			}
			out = append(out, Guardrail{Name: s})
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			g := Guardrail{Name: n.Content[i].Value}
			if err := decodeGuardrailFields(n.Content[i+1], &g); err != nil {
				return fmt.Errorf("%s: %w", g.Name, err)
			}
			out = append(out, g)
		}
	default:
		return fmt.Errorf("must be a list of names or a mapping of name to settings")
	}
	*dst = out
	return nil
}

func decodeGuardrailFields(n *yaml.Node, g *Guardrail) error {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("settings must be a mapping with request_fields/response_fields")
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i].Value, n.Content[i+1]
		var dst *[]string
		switch key {
		case "request_fields":
			dst = &g.RequestFields
		case "response_fields":
			dst = &g.ResponseFields
		default:
			return fmt.Errorf("unknown setting %q (expected request_fields or response_fields)", key)
		}
		if err := val.Decode(dst); err != nil {
			return fmt.Errorf("%s: must be a list of field expressions", key)
		}
		for _, f := range *dst {
			if !fieldPattern.MatchString(f) {
				return fmt.Errorf("%s: %q is not a field expression like a.b or items[*].text", key, f)
			}
		}
	}
	return nil
}
