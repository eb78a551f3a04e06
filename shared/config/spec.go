package config

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Spec renders the endpoint as one JSON object in LiteLLM's field names, fields in a fixed order,
// so that the same endpoint always gives the same bytes (stored route specs diff cleanly).
// ParseEndpoint reads it back to an equal Endpoint.
func (e *Endpoint) Spec() []byte {
	var b specWriter
	b.str("id", e.ID)
	b.str("path", e.Path)
	b.str("target", e.Target)
	b.str("adapter", e.Adapter)
	if len(e.Models) > 0 {
		var m specWriter
		for _, x := range e.Models {
			m.str(x.Name, x.Value)
		}
		b.raw("models", m.bytes())
	}
	if len(e.Headers) > 0 || e.LangfusePublicKey != "" || e.KeyHeader != "" {
		var h specWriter
		for _, x := range e.Headers {
			h.str(x.Name, x.Value)
		}
		h.str("LANGFUSE_PUBLIC_KEY", e.LangfusePublicKey)
		h.str("LANGFUSE_SECRET_KEY", e.LangfuseSecretKey)
		h.str("litellm_user_api_key", e.KeyHeader)
		b.raw("headers", h.bytes())
	}
	b.flag("forward_headers", e.ForwardHeaders)
	b.flag("include_subpath", e.IncludeSubpath)
	if !slices.Equal(e.Methods, DefaultMethods) {
		m, _ := json.Marshal(e.Methods)
		b.raw("methods", m)
	}
	switch e.Auth {
	case AuthGranted:
		b.raw("auth", []byte("true"))
	case AuthPublic:
		b.raw("auth", []byte("false"))
	}
	b.str("custom_auth_parser", e.CustomAuthParser)
	if e.Timeout > 0 {
		b.raw("timeout", []byte(strconv.FormatFloat(e.Timeout.Seconds(), 'f', -1, 64)))
	}
	b.flag("merge_query_params", e.MergeQueryParams)
	if len(e.DefaultQueryParams) > 0 {
		var q specWriter
		for _, p := range e.DefaultQueryParams {
			q.str(p.Name, p.Value)
		}
		b.raw("default_query_params", q.bytes())
	}
	if e.CostPerRequest != nil {
		b.raw("cost_per_request", []byte(strconv.FormatFloat(*e.CostPerRequest, 'f', -1, 64)))
	}
	if len(e.Tags) > 0 {
		t, _ := json.Marshal(e.Tags)
		b.raw("tags", t)
	}
	b.flag("include_cost_in_streaming_usage", e.IncludeCostInStreamingUsage)
	b.str("provider", e.Provider)
	if len(e.Guardrails) > 0 {
		var g specWriter
		for _, x := range e.Guardrails {
			fields := map[string][]string{}
			if x.RequestFields != nil {
				fields["request_fields"] = x.RequestFields
			}
			if x.ResponseFields != nil {
				fields["response_fields"] = x.ResponseFields
			}
			v := []byte("null")
			if len(fields) > 0 {
				v, _ = json.Marshal(fields)
			}
			g.raw(x.Name, v)
		}
		b.raw("guardrails", g.bytes())
	}
	b.flag("guardrail_streaming", e.GuardrailStreaming)
	return b.bytes()
}

// specWriter builds a JSON object with keys in insertion order.
type specWriter struct{ buf bytes.Buffer }

func (w *specWriter) raw(key string, value []byte) {
	if w.buf.Len() == 0 {
		w.buf.WriteByte('{')
	} else {
		w.buf.WriteByte(',')
	}
	k, _ := json.Marshal(key)
	w.buf.Write(k)
	w.buf.WriteByte(':')
	w.buf.Write(value)
}

func (w *specWriter) str(key, value string) {
	if value != "" {
		v, _ := json.Marshal(value)
		w.raw(key, v)
	}
}

func (w *specWriter) flag(key string, value bool) {
	if value {
		w.raw(key, []byte("true"))
	}
}

func (w *specWriter) bytes() []byte {
	if w.buf.Len() == 0 {
		return []byte("{}")
	}
	return append(w.buf.Bytes(), '}')
}

var unsafeIDChars = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// RouteID names the endpoint where it is stored one per route: its `id` if set, else its path
// (and its methods, when it serves only some), in the characters a parameter name allows.
// /v1/rerank -> v1-rerank; /v1/rerank with methods [POST] -> v1-rerank.post; / -> root.
func (e *Endpoint) RouteID() string {
	if e.ID != "" {
		return strings.Trim(unsafeIDChars.ReplaceAllString(e.ID, "-"), "-")
	}
	id := strings.Trim(unsafeIDChars.ReplaceAllString(strings.ReplaceAll(e.Path, "/", "-"), "-"), "-")
	if id == "" {
		id = "root"
	}
	if !slices.Equal(e.Methods, DefaultMethods) {
		id += "." + strings.ToLower(strings.Join(e.Methods, "."))
	}
	return id
}
