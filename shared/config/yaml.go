package config

// YAML loading: anchors, aliases and `<<` merge keys resolved as LiteLLM's loader (PyYAML)
// does, and small helpers for reading yaml.Node trees.

import (
	"errors"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// parseYAML returns the document's root node (nil for an empty document) with anchors and
// merge keys resolved, since LiteLLM's loader (PyYAML) accepts configs that use them.
func parseYAML(data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, nil
	}
	return resolveAliases(doc.Content[0], 0)
}

// resolveAliases returns n with every alias replaced by its anchor's node and every `<<` merge
// key applied: keys written in the mapping win over merged ones, and earlier merged mappings
// over later ones, as in YAML 1.1.
func resolveAliases(n *yaml.Node, depth int) (*yaml.Node, error) {
	if depth > 100 {
		return nil, errors.New("aliases nest too deeply")
	}
	switch n.Kind {
	case yaml.AliasNode:
		return resolveAliases(n.Alias, depth+1)
	case yaml.SequenceNode:
		out := *n
		out.Content = make([]*yaml.Node, len(n.Content))
		for i, c := range n.Content {
			r, err := resolveAliases(c, depth+1)
			if err != nil {
				return nil, err
			}
			out.Content[i] = r
		}
		return &out, nil
	case yaml.MappingNode:
		return resolveMapping(n, depth)
	default:
		return n, nil
	}
}

func resolveMapping(n *yaml.Node, depth int) (*yaml.Node, error) {
	out := *n
	out.Content = nil
	var merged []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		v, err := resolveAliases(n.Content[i+1], depth+1)
		if err != nil {
			return nil, err
		}
		if k.Tag == "!!merge" {
			if v.Kind == yaml.SequenceNode {
				merged = append(merged, v.Content...)
			} else {
				merged = append(merged, v)
			}
			continue
		}
		out.Content = append(out.Content, k, v)
	}
	for _, m := range merged {
		if m.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("line %d: `<<` must merge a mapping", m.Line)
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			if mappingValue(&out, m.Content[i].Value) == nil {
				out.Content = append(out.Content, m.Content[i], m.Content[i+1])
			}
		}
	}
	return &out, nil
}

func mappingValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func scalarString(n *yaml.Node) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		return "", false
	}
	return n.Value, true
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return fmt.Sprintf("%q", n.Value)
	}
}
