package config

// The top-level `keys` section: config-file virtual keys and their checks.

import (
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// keys reads the top-level `keys` list of local virtual keys.
func (p *parser) keys(n *yaml.Node, cfg *Config) {
	if n == nil || isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf("keys: must be a list (line %d)", n.Line)
		return
	}
	aliases := map[string]bool{}
	for i, item := range n.Content {
		var raw struct {
			Alias    string            `yaml:"alias"`
			Key      string            `yaml:"key"`
			RPM      int               `yaml:"rpm"`
			Routes   []string          `yaml:"routes"`
			Expires  string            `yaml:"expires"`
			Tags     []string          `yaml:"tags"`
			Metadata map[string]string `yaml:"metadata"`
		}
		if err := item.Decode(&raw); err != nil {
			p.errorf("keys[%d]: %v (line %d)", i, err, item.Line)
			continue
		}
		k := KeySpec{Alias: raw.Alias, Key: raw.Key, RPM: raw.RPM, Routes: raw.Routes, Tags: raw.Tags, Metadata: raw.Metadata}
		if err := checkKey(&k, raw.Expires, aliases); err != nil {
			p.errorf("keys[%d] (%s): %v (line %d)", i, raw.Alias, err, item.Line)
			continue
		}
		cfg.Keys = append(cfg.Keys, k)
	}
}

func checkKey(k *KeySpec, expires string, aliases map[string]bool) error {
	switch {
	case k.Alias == "":
		return fmt.Errorf("alias: is required")
	case aliases[k.Alias]:
		return fmt.Errorf("alias: %q is used twice", k.Alias)
	case k.Key == "":
		return fmt.Errorf("key: is required (a literal or os.environ/NAME)")
	case k.RPM < 0:
		return fmt.Errorf("rpm: must not be negative")
	}
	aliases[k.Alias] = true
	if err := checkSecretRef(k.Key); err != nil {
		return fmt.Errorf("key: %v", err)
	}
	if err := keyRefError(k); err != nil {
		return err
	}
	for _, r := range k.Routes {
		if !strings.HasPrefix(r, "/") {
			return fmt.Errorf("routes: %q must start with /", r)
		}
	}
	if expires != "" {
		t, err := time.Parse(time.RFC3339, expires)
		if err != nil {
			if t, err = time.Parse(time.DateOnly, expires); err != nil {
				return fmt.Errorf("expires: %q is neither a date (2027-01-31) nor an RFC 3339 time", expires)
			}
		}
		k.Expires = &t
	}
	return nil
}
