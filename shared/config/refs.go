package config

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/passthru/gateway/shared/redact"
	"github.com/passthru/gateway/shared/secrets"
)

// Where os.environ/ references are resolved: header values (Langfuse keys included), query
// parameter values (default_query_params and the target's query), the master key, config-file
// virtual keys and default_vertex_config (vertex_credentials through the secrets resolver;
// vertex_project and vertex_location, not secrets, from the environment). Anywhere else a reference would be used as text (a path, a host, a tag), so it is
// refused with the field named instead of being sent upstream or matched literally.

// refPlaces says, in the message refusing a misplaced reference, where one is resolved.
const refPlaces = "os.environ/ references are resolved only in header values and query parameter values"

// refuseRef fails when v holds an os.environ/ reference; field names the place in the message.
func refuseRef(field, v string) error {
	if strings.Contains(v, secrets.RefPrefix) {
		return fmt.Errorf("%s: %q holds an os.environ/ reference, which would be used as text: %s", field, v, refPlaces)
	}
	return nil
}

// endpointRefErrors lists every misplaced or malformed reference of an endpoint's fields other
// than its headers and target (checked where they are parsed and in CheckTarget).
func endpointRefErrors(e *Endpoint) []error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	add(refuseRef("id", e.ID))
	add(refuseRef("path", e.Path))
	add(refuseRef("custom_auth_parser", e.CustomAuthParser))
	for _, t := range e.Tags {
		add(refuseRef("tags", t))
	}
	for _, g := range e.Guardrails {
		add(refuseRef("guardrails", g.Name))
	}
	for _, p := range e.DefaultQueryParams {
		add(refuseRef("default_query_params", p.Name))
		if err := checkSecretRef(p.Value); err != nil {
			add(fmt.Errorf("default_query_params.%s: %w", p.Name, err))
		}
	}
	return errs
}

// keyRefError refuses a reference in a config-file virtual key's fields other than key.
func keyRefError(k *KeySpec) error {
	fields := []struct{ name, v string }{{"alias", k.Alias}}
	for _, r := range k.Routes {
		fields = append(fields, struct{ name, v string }{"routes", r})
	}
	for _, t := range k.Tags {
		fields = append(fields, struct{ name, v string }{"tags", t})
	}
	for name, v := range k.Metadata {
		fields = append(fields, struct{ name, v string }{"metadata." + name, v})
	}
	for _, f := range fields {
		if err := refuseRef(f.name, f.v); err != nil {
			return err
		}
	}
	return nil
}

// checkTargetRefs accepts a reference in the target's query values only (decoded: a value
// written os.environ%2FNAME is one too); its scheme, host, path and parameter names are text.
// raw is the target as written, for messages, which never show a query value.
func checkTargetRefs(u *url.URL, raw string) error {
	c := *u
	c.RawQuery, c.ForceQuery = "", false
	if strings.Contains(c.String(), secrets.RefPrefix) || strings.Contains(c.Path, secrets.RefPrefix) {
		return fmt.Errorf("%s holds an os.environ/ reference outside a query parameter value, where it would be used as text: %s", redact.String(raw), refPlaces)
	}
	params, err := targetQuery(u.RawQuery)
	if err != nil {
		return fmt.Errorf("%s: %w", redact.String(raw), err)
	}
	for _, p := range params {
		if strings.Contains(p.Name, secrets.RefPrefix) {
			return fmt.Errorf("query parameter name %q holds an os.environ/ reference: %s", p.Name, refPlaces)
		}
		if err := checkSecretRef(p.Value); err != nil {
			return fmt.Errorf("query parameter %s: %w", p.Name, err)
		}
	}
	return nil
}

// targetQuery decodes a target's query in order, repeated names kept (url.Values loses order).
func targetQuery(raw string) ([]Param, error) {
	var out []Param
	for _, pair := range strings.Split(raw, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		name, err := url.QueryUnescape(k)
		if err != nil {
			return nil, fmt.Errorf("malformed query parameter name %q", k)
		}
		value, err := url.QueryUnescape(v)
		if err != nil {
			return nil, fmt.Errorf("malformed value for query parameter %q", name)
		}
		out = append(out, Param{Name: name, Value: value})
	}
	return out, nil
}

// queryValues lists an endpoint's query parameter values as used, each labelled with where it is
// written: default_query_params first, then the target's query (the order of the merge).
func (e *Endpoint) queryValues() []Param {
	var out []Param
	for _, p := range e.DefaultQueryParams {
		out = append(out, Param{Name: "default_query_params." + p.Name, Value: p.Value})
	}
	if u, err := url.Parse(e.Target); err == nil {
		params, _ := targetQuery(u.RawQuery) // validated: a malformed query never gets here
		for _, p := range params {
			out = append(out, Param{Name: "target query " + p.Name, Value: p.Value})
		}
	}
	return out
}

// literalQueryCredentials lists the query parameters of e that carry a well-known credential name
// (redact.IsKnownCredentialParam: exact names, since a false positive blocks a push) with a
// literal value rather than an os.environ/ reference.
func literalQueryCredentials(e *Endpoint) []string {
	var out []string
	for _, p := range e.queryValues() {
		name := p.Name[strings.LastIndexAny(p.Name, ". ")+1:]
		if redact.IsKnownCredentialParam(name) && p.Value != "" && refName(p.Value) == "" {
			out = append(out, e.Name()+" "+p.Name)
		}
	}
	return out
}

// checkSecretRef refuses a malformed os.environ/ reference: one naming no variable, or a name
// holding white space (the name runs to the end of the value, so a space is a typo).
func checkSecretRef(v string) error {
	i := strings.Index(v, secrets.RefPrefix)
	if i < 0 {
		return nil
	}
	name := v[i+len(secrets.RefPrefix):]
	if name == "" {
		return fmt.Errorf("%s names no variable", secrets.RefPrefix)
	}
	if strings.ContainsAny(name, " \t\r\n") {
		return fmt.Errorf("secret name %q must not contain white space (the name runs to the end of the value)", name)
	}
	return nil
}

// refName is the variable an os.environ/ reference in v names, empty when v holds none.
func refName(v string) string { return secrets.ParseTemplate(v).Name }
