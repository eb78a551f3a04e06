package route

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/passthru/gateway/shared/secrets"
)

// query is an ordered multi-map of query parameters. net/url.Values loses order, and LiteLLM's
// dict loses repeated keys; the merge here keeps both.
type query struct {
	keys   []string
	values map[string][]string
}

func (q *query) add(k, v string) {
	if q.values == nil {
		q.values = map[string][]string{}
	}
	if _, ok := q.values[k]; !ok {
		q.keys = append(q.keys, k)
	}
	q.values[k] = append(q.values[k], v)
}

// merge lets every key of o replace the same key of q (keeping q's position) or be appended.
func (q *query) merge(o *query) {
	if q.values == nil {
		q.values = map[string][]string{}
	}
	for _, k := range o.keys {
		if _, ok := q.values[k]; !ok {
			q.keys = append(q.keys, k)
		}
		q.values[k] = o.values[k]
	}
}

func (q *query) encode() string {
	var b strings.Builder
	for _, k := range q.keys {
		for _, v := range q.values[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(url.QueryEscape(k))
			b.WriteByte('=')
			b.WriteString(url.QueryEscape(v))
		}
	}
	return b.String()
}

func parseQuery(raw string) (query, error) {
	var q query
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			return query{}, fmt.Errorf("malformed query parameter %q", k)
		}
		val, err := url.QueryUnescape(v)
		if err != nil {
			return query{}, fmt.Errorf("malformed value for query parameter %q", key)
		}
		q.add(key, val)
	}
	return q, nil
}

// render returns a copy of q with every value's os.environ/ reference resolved through res (the
// text before it kept, as in a header value). q itself is shared by concurrent requests and
// never changes.
func (q *query) render(ctx context.Context, res secrets.Resolver) (query, error) {
	out := query{keys: q.keys, values: make(map[string][]string, len(q.values))}
	for _, k := range q.keys { // in order: the first missing secret is always the same one
		vv := q.values[k]
		rendered := make([]string, len(vv))
		for i, v := range vv {
			s, err := secrets.ParseTemplate(v).Render(ctx, res)
			if err != nil {
				return query{}, fmt.Errorf("%s: %w", k, err)
			}
			rendered[i] = s
		}
		out.values[k] = rendered
	}
	return out, nil
}
