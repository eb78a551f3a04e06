package route

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/passthru/gateway/shared/config"
)

// Table finds the route for a request. Exact paths win over prefixes, and a longer prefix
// over a shorter one; a prefix matches only on a "/" boundary (/bria serves /bria/x, not /briax).
type Table struct {
	// MasterKey is general_settings.master_key as configured (a literal or an os.environ/
	// reference), for verifiers that follow the table as it changes.
	MasterKey string
	// ModelPrices are the configuration's price overrides, for pricers that follow the table.
	ModelPrices map[string]config.ModelPrice
	// CORS is general_settings.cors (nil: none), for the proxy's OPTIONS and CORS headers.
	CORS *config.CORS
	// Guardrails are the configuration's guardrail definitions; ProviderGuardrails the
	// guardrails of the built-in provider routes, by provider (the proxy builds the checkers).
	Guardrails         []config.GuardrailDef
	ProviderGuardrails map[string][]config.Guardrail

	exact  map[string][]*Route // every route, by its path
	prefix map[string][]*Route // include_subpath routes, by their path without a trailing "/"
	routes []*Route

	// Paths of routes that are configured but not served because their spec is invalid (SSM
	// keeps one parameter per route, so one bad route does not take the others down): a
	// request for one is told so instead of a plain "not found".
	invalidExact  map[string]bool
	invalidPrefix map[string]bool // include_subpath ones, without a trailing "/"
}

// NewTable compiles every endpoint of a validated configuration.
func NewTable(cfg *config.Config) (*Table, error) {
	t := &Table{MasterKey: cfg.MasterKey, ModelPrices: cfg.ModelPrices, CORS: cfg.CORS, exact: map[string][]*Route{}, prefix: map[string][]*Route{},
		Guardrails: cfg.Guardrails, ProviderGuardrails: cfg.ProviderRouteGuardrails}
	for i := range cfg.Endpoints {
		e := &cfg.Endpoints[i]
		r, err := New(e, cfg.EffectiveTimeout(e))
		if err != nil {
			return nil, err
		}
		r.InjectCost = r.InjectCost || cfg.IncludeCostInStreamingUsage
		if e.Adapter != "" {
			if err := r.newAdapter(e, cfg.Models); err != nil {
				return nil, fmt.Errorf("%s: %w", e.Name(), err)
			}
		}
		t.Add(r)
	}
	return t, nil
}

// Add puts a compiled route in the table. A (path, method) pair already served is an error the
// config validation reports; Add keeps the first.
func (t *Table) Add(r *Route) {
	t.routes = append(t.routes, r)
	t.exact[r.Path] = append(t.exact[r.Path], r)
	if r.IncludeSubpath {
		k := strings.TrimSuffix(r.Path, "/")
		t.prefix[k] = append(t.prefix[k], r)
	}
}

// AddInvalid records the path of a configured route whose spec is invalid (prefix: it has
// include_subpath). Served routes still win: the path is reported only when nothing serves it.
func (t *Table) AddInvalid(path string, prefix bool) {
	if t.invalidExact == nil {
		t.invalidExact, t.invalidPrefix = map[string]bool{}, map[string]bool{}
	}
	t.invalidExact[path] = true
	if prefix {
		t.invalidPrefix[strings.TrimSuffix(path, "/")] = true
	}
}

// Routes lists the routes in the order they were added.
func (t *Table) Routes() []*Route { return t.routes }

// Configured lists the configured routes (the built-in provider routes left out), in order.
func (t *Table) Configured() []*Route {
	out := make([]*Route, 0, len(t.routes))
	for _, r := range t.routes {
		if r.Builtin == nil {
			out = append(out, r)
		}
	}
	return out
}

// Match is a lookup result. Route is nil when nothing serves the request: Allowed then lists
// the methods served at that path (a 405), or is empty (a 404); Invalid then says that a
// route is configured for the path but not served because its spec is invalid.
type Match struct {
	Route   *Route
	Subpath string // the decoded path below the route's path, for include_subpath routes
	Allowed []string
	Invalid bool
}

// Lookup finds the route for method and a decoded request path.
func (t *Table) Lookup(method, path string) Match {
	var allowed []string
	if rs, ok := t.exact[path]; ok {
		if r := byMethod(rs, method); r != nil {
			return Match{Route: r}
		}
		allowed = methods(rs)
	}
	for i := strings.LastIndexByte(path, '/'); i >= 0; i = strings.LastIndexByte(path[:i], '/') {
		rs, ok := t.prefix[path[:i]]
		if !ok {
			continue
		}
		if r := byMethod(rs, method); r != nil {
			return Match{Route: r, Subpath: path[i:]}
		}
		allowed = appendNew(allowed, methods(rs))
	}
	return Match{Allowed: allowed, Invalid: len(allowed) == 0 && t.invalid(path)}
}

// invalid reports whether path belongs to a route AddInvalid recorded.
func (t *Table) invalid(path string) bool {
	if len(t.invalidExact) == 0 {
		return false
	}
	if t.invalidExact[path] {
		return true
	}
	for i := strings.LastIndexByte(path, '/'); i >= 0; i = strings.LastIndexByte(path[:i], '/') {
		if t.invalidPrefix[path[:i]] {
			return true
		}
	}
	return false
}

// byMethod picks the route of rs that serves method. HEAD is served by the route that serves
// GET unless one lists HEAD itself: HEAD is GET without the body (RFC 9110 §9.3.2), SDKs and
// health checks probe with it, and net/http's ServeMux routes it the same way. It is forwarded
// upstream as HEAD, never turned into a GET.
func byMethod(rs []*Route, method string) *Route {
	for _, r := range rs {
		if r.Allows(method) {
			return r
		}
	}
	if method == http.MethodHead {
		return byMethod(rs, http.MethodGet)
	}
	return nil
}

func appendNew(list, more []string) []string {
	for _, m := range more {
		if !slices.Contains(list, m) {
			list = append(list, m)
		}
	}
	return list
}

// methods lists the methods rs serve, HEAD after GET where byMethod lets GET serve it.
func methods(rs []*Route) []string {
	var out []string
	for _, r := range rs {
		out = appendNew(out, r.Methods)
	}
	if i := slices.Index(out, http.MethodGet); i >= 0 && !slices.Contains(out, http.MethodHead) {
		out = slices.Insert(out, i+1, http.MethodHead)
	}
	return out
}

// String summarises the configured routes for start-up logs and `validate`.
func (t *Table) String() string {
	var b strings.Builder
	for _, r := range t.Configured() {
		sub := ""
		if r.IncludeSubpath {
			sub = "/**"
		}
		target := r.RedactedTarget()
		if r.Adapter != nil {
			target = r.Adapter.String()
		}
		fmt.Fprintf(&b, "%s%s %v -> %s (auth %s)\n", r.Path, sub, r.Methods, target, r.Auth)
	}
	return b.String()
}

// Table returns t itself: a fixed table is its own route source.
func (t *Table) Table(context.Context) (*Table, error) { return t, nil }
