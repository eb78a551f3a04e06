package route

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/redact"
	"github.com/passthru/gateway/shared/secrets"
)

// Adapter is what an adapter endpoint adds to its route: the OpenAI-format backends its
// requests are translated for, by the model the client asks for.
type Adapter struct {
	Kind string // config.AdapterAnthropic
	// byName: target custom_callbacks.anthropic_adapter, one backend per model_list name.
	byName map[string]*Backend
	names  []string
	// native: adapter: anthropic on a URL target: every model goes to the target with the
	// route's own headers, renamed by the models map when listed.
	native *Backend
	rename map[string]string
}

// Backend is where one model's calls go: the chat completions URL, the backend's model name
// and the credential headers.
type Backend struct {
	URL     *url.URL
	Model   string
	headers []header
}

// WriteHeaders sets the backend's credential headers on dst, resolving secrets through res.
func (b *Backend) WriteHeaders(ctx context.Context, dst http.Header, res secrets.Resolver) error {
	for _, h := range b.headers {
		v, err := h.value.Render(ctx, res)
		if err != nil {
			return err
		}
		dst[h.name] = []string{v}
	}
	return nil
}

// Backend returns where a call for model goes, or an error for the client (400) when the
// route does not serve that model.
func (a *Adapter) Backend(model string) (*Backend, error) {
	if a.native != nil {
		b := *a.native
		b.Model = model
		if to, ok := a.rename[model]; ok {
			b.Model = to
		}
		return &b, nil
	}
	if b, ok := a.byName[model]; ok {
		return b, nil
	}
	if len(a.names) == 0 {
		return nil, fmt.Errorf("model %q is not served here: the gateway's model_list is empty", model)
	}
	return nil, fmt.Errorf("model %q is not served here; the models are: %s", model, strings.Join(a.names, ", "))
}

// chatURL is the chat completions URL under an OpenAI-compatible base URL (one that names the
// endpoint already is kept).
func chatURL(base *url.URL) *url.URL {
	u := *base
	if !strings.HasSuffix(u.Path, "/chat/completions") {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/chat/completions"
		u.RawPath = ""
	}
	return &u
}

// newAdapter compiles an adapter endpoint's backends: its target and headers (native), or
// model_list's entries (target custom_callbacks.anthropic_adapter), whose key references join
// the route's secrets (prefetched, redacted, dropped when the backend rejects them).
func (r *Route) newAdapter(e *config.Endpoint, models []config.Model) error {
	a := &Adapter{Kind: e.Adapter}
	r.Adapter = a
	if e.Target != config.AnthropicAdapterTarget {
		a.native = &Backend{URL: chatURL(r.target), headers: slices.Clone(r.headers)}
		a.rename = map[string]string{}
		for _, m := range e.Models {
			a.rename[m.Name] = m.Value
		}
		return nil
	}
	a.byName = map[string]*Backend{}
	for i := range models {
		m := &models[i]
		base, model, err := m.Backend()
		if err != nil {
			return fmt.Errorf("model_list (%s): %w", m.Name, err)
		}
		u, err := url.Parse(base)
		if err != nil {
			return fmt.Errorf("model_list (%s): api_base: %w", m.Name, err)
		}
		b := &Backend{URL: chatURL(u), Model: model}
		if m.APIKey != "" {
			t := secrets.ParseTemplate("Bearer " + m.APIKey)
			b.headers = []header{{name: "Authorization", value: t}}
			if t.IsSecret() {
				r.addSecret(t.Name)
			}
		}
		if _, dup := a.byName[m.Name]; !dup {
			a.byName[m.Name] = b
			a.names = append(a.names, m.Name)
		}
	}
	return nil
}

// String describes the adapter for start-up logs and `validate`: each model and where it
// goes (credentials never shown: they are references or left out).
func (a *Adapter) String() string {
	var b strings.Builder
	b.WriteString(a.Kind + " adapter:")
	if a.native != nil {
		fmt.Fprintf(&b, " %s", redact.URL(a.native.URL))
		for _, from := range slices.Sorted(maps.Keys(a.rename)) {
			fmt.Fprintf(&b, ", %s as %s", from, a.rename[from])
		}
		return b.String()
	}
	if len(a.names) == 0 {
		return b.String() + " no model_list entries: every call answers 404"
	}
	for i, name := range a.names {
		if i > 0 {
			b.WriteByte(',')
		}
		be := a.byName[name]
		fmt.Fprintf(&b, " %s -> %s (%s)", name, redact.URL(be.URL), be.Model)
	}
	return b.String()
}
