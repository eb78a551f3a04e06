// Package secrets resolves the `os.environ/NAME` references that LiteLLM configs put in header
// values (and this gateway in query parameter values too). Where a name is looked up is the Resolver's business: the environment locally, Secrets
// Manager on Lambda. Values never leave this package except through Render's result.
package secrets

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// RefPrefix marks a secret reference inside a config value, exactly as LiteLLM spells it.
const RefPrefix = "os.environ/"

// Resolver returns the value of the secret called name.
type Resolver interface {
	Resolve(ctx context.Context, name string) (string, error)
}

// NotFoundError reports a secret that does not exist. It names the secret, never a value.
type NotFoundError struct{ Name string }

func (e *NotFoundError) Error() string { return fmt.Sprintf("secret %q is not set", e.Name) }

// Env resolves names from the process environment: the local and `make run` resolver.
type Env struct{}

// Resolve implements Resolver. An empty variable counts as missing: sending an empty credential
// upstream only moves the error somewhere harder to read. NAME:field reads a field of a JSON
// value, as it does for a Secrets Manager secret.
func (Env) Resolve(_ context.Context, ref string) (string, error) {
	name, field := SplitRef(ref)
	v, ok := os.LookupEnv(name)
	if !ok || v == "" {
		return "", &NotFoundError{Name: name}
	}
	return Field(v, field, ref)
}

// SplitRef splits a reference NAME:field into the secret's name and the JSON field to read from
// it (empty: the whole value). Secret names cannot contain a colon.
func SplitRef(ref string) (name, field string) {
	name, field, _ = strings.Cut(ref, ":")
	return name, field
}

// Field returns the JSON field of a secret value, or the value itself when field is empty.
func Field(value, field, ref string) (string, error) {
	if field == "" {
		return value, nil
	}
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(value))
	dec.UseNumber() // numbers exactly as written: 12345678, not 1.2345678e+07
	if err := dec.Decode(&m); err != nil {
		return "", fmt.Errorf("secret %q is not a JSON object, so it has no field %q", strings.TrimSuffix(ref, ":"+field), field)
	}
	switch v := m[field].(type) {
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	case bool:
		return fmt.Sprint(v), nil
	default:
		return "", &NotFoundError{Name: ref}
	}
}

// Template is a config value that may end in a secret reference. LiteLLM takes everything after
// `os.environ/` to the end of the string as the name, and keeps the text before it as written,
// so "bearer os.environ/COHERE_API_KEY" is Literal "bearer " and Name "COHERE_API_KEY".
type Template struct {
	Literal string
	Name    string // empty when the value holds no reference
}

// ParseTemplate splits a config value into its literal part and its secret name.
func ParseTemplate(value string) Template {
	i := strings.Index(value, RefPrefix)
	if i < 0 {
		return Template{Literal: value}
	}
	return Template{Literal: value[:i], Name: value[i+len(RefPrefix):]}
}

// IsSecret reports whether rendering needs a Resolver.
func (t Template) IsSecret() bool { return t.Name != "" }

// Render returns the literal followed by the resolved secret.
func (t Template) Render(ctx context.Context, r Resolver) (string, error) {
	if t.Name == "" {
		return t.Literal, nil
	}
	v, err := r.Resolve(ctx, t.Name)
	if err != nil {
		return "", err
	}
	return t.Literal + v, nil
}

// String shows the template as configured, which never includes a secret value.
func (t Template) String() string {
	if t.Name == "" {
		return t.Literal
	}
	return t.Literal + RefPrefix + t.Name
}

// Inline resolves names from a fixed map: for `sam local`, whose container sees only the
// variables a template declares, and for tests. Not for production credentials.
type Inline map[string]string

// ParseInline reads a JSON object of name to value.
func ParseInline(data string) (Inline, error) {
	var m Inline
	if err := json.Unmarshal([]byte(data), &m); err != nil {
		return nil, fmt.Errorf("inline secrets must be a JSON object of name to value: %w", err)
	}
	return m, nil
}

// Resolve implements Resolver.
func (m Inline) Resolve(_ context.Context, ref string) (string, error) {
	name, field := SplitRef(ref)
	v, ok := m[name]
	if !ok || v == "" {
		return "", &NotFoundError{Name: name}
	}
	return Field(v, field, ref)
}
