package guardrail

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// checkerParams reads one guardrail's litellm_params as decoded from YAML or JSON, so a
// value arrives as a string, a bool, an int (YAML) or float64 / json.Number (JSON), a list or
// a map. Every error names the guardrail and the field, never a value that could be a secret.
type checkerParams struct {
	name string
	m    map[string]any
}

func newCheckerParams(d Def) checkerParams { return checkerParams{name: d.Name, m: d.Params} }

// errorf wraps a problem with one field.
func (p checkerParams) errorf(key, format string, args ...any) error {
	return fmt.Errorf("guardrail %q: %s: %s", p.name, key, fmt.Sprintf(format, args...))
}

func (p checkerParams) has(key string) bool {
	v, ok := p.m[key]
	return ok && v != nil
}

// str returns a string parameter ("" when absent). Numbers are accepted and written in
// decimal, because YAML reads `guardrailVersion: 1` as an int.
func (p checkerParams) str(key string) (string, error) {
	v, ok := p.m[key]
	if !ok || v == nil {
		return "", nil
	}
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case json.Number:
		return x.String(), nil
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatInt(int64(x), 10), nil
		}
	}
	return "", p.errorf(key, "want a string, got %s", kindOf(v))
}

// boolean returns a bool parameter (def when absent). "true"/"false" strings are accepted:
// environment-style configs write them quoted.
func (p checkerParams) boolean(key string, def bool) (bool, error) {
	v, ok := p.m[key]
	if !ok || v == nil {
		return def, nil
	}
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		if b, err := strconv.ParseBool(strings.TrimSpace(x)); err == nil {
			return b, nil
		}
	}
	return false, p.errorf(key, "want true or false, got %s", kindOf(v))
}

// seconds returns a duration given in seconds (def when absent), within (0, max].
func (p checkerParams) seconds(key string, def, max time.Duration) (time.Duration, error) {
	v, ok := p.m[key]
	if !ok || v == nil {
		return def, nil
	}
	var f float64
	switch x := v.(type) {
	case int:
		f = float64(x)
	case int64:
		f = float64(x)
	case uint64:
		f = float64(x)
	case float64:
		f = x
	case json.Number:
		n, err := x.Float64()
		if err != nil {
			return 0, p.errorf(key, "want a number of seconds, got %q", x.String())
		}
		f = n
	case string:
		n, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return 0, p.errorf(key, "want a number of seconds, got %q", x)
		}
		f = n
	default:
		return 0, p.errorf(key, "want a number of seconds, got %s", kindOf(v))
	}
	d := time.Duration(f * float64(time.Second))
	if math.IsNaN(f) || f <= 0 || d <= 0 || d > max {
		return 0, p.errorf(key, "want more than 0 and at most %g seconds, got %g", max.Seconds(), f)
	}
	return d, nil
}

// object returns a map parameter (nil when absent).
func (p checkerParams) object(key string) (map[string]any, error) {
	v, ok := p.m[key]
	if !ok || v == nil {
		return nil, nil
	}
	if m, ok := v.(map[string]any); ok {
		return m, nil
	}
	return nil, p.errorf(key, "want a map, got %s", kindOf(v))
}

// kindOf names a decoded value's type for an error message without printing the value.
func kindOf(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a bool"
	case int, int64, uint64, float64, json.Number:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "a map"
	default:
		return fmt.Sprintf("a %T", v)
	}
}
