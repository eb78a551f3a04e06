package route_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/route"
	"github.com/passthru/gateway/shared/secrets"
)

func TestUpstreamURLContextRendersQuerySecrets(t *testing.T) {
	ep := &config.Endpoint{
		Path:               "/g",
		Target:             "https://up.example/v1?key=os.environ%2FUP_KEY&v=1",
		IncludeSubpath:     true,
		DefaultQueryParams: []config.Param{{Name: "token", Value: "Bearer os.environ/UP_TOKEN:t"}, {Name: "v", Value: "0"}},
		Headers:            []config.Header{{Name: "X-Api-Key", Value: "os.environ/UP_KEY"}},
	}
	r, err := route.New(ep, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.SecretNames(), []string{"UP_KEY", "UP_TOKEN:t"}; !slices.Equal(got, want) {
		t.Errorf("SecretNames() = %q, want %q (headers' and query values' names, once each)", got, want)
	}
	res := secrets.Inline{"UP_KEY": "k&y=1", "UP_TOKEN": `{"t":"tok"}`} // UP_TOKEN:t is field t of the JSON secret UP_TOKEN
	tests := []struct{ subpath, query, want string }{
		{"", "", "https://up.example/v1?token=Bearer+tok&v=1&key=k%26y%3D1"},
		{"models", "key=client&z=2", "https://up.example/v1/models?token=Bearer+tok&v=1&key=client&z=2"},
	}
	for _, tt := range tests {
		u, err := r.UpstreamURLContext(context.Background(), res, tt.subpath, tt.query)
		if err != nil {
			t.Fatalf("UpstreamURLContext(%q, %q): %v", tt.subpath, tt.query, err)
		}
		if u.String() != tt.want {
			t.Errorf("UpstreamURLContext(%q, %q) = %q, want %q", tt.subpath, tt.query, u.String(), tt.want)
		}
	}
	if got, want := r.Target().String(), ep.Target; got != want {
		t.Errorf("Target() = %q after rendering, want %q as configured", got, want)
	}

	// A missing secret is a *SecretError wrapping the resolver's error; so is calling the
	// resolver-less UpstreamURL on such a route: it never sends the reference as text.
	_, err = r.UpstreamURLContext(context.Background(), secrets.Inline{"UP_KEY": "k"}, "", "")
	var se *route.SecretError
	var nf *secrets.NotFoundError
	if !errors.As(err, &se) || !errors.As(err, &nf) || nf.Name != "UP_TOKEN" {
		t.Errorf("missing secret: err = %v, want *SecretError wrapping NotFoundError{UP_TOKEN}", err)
	}
	if u, err := r.UpstreamURL("", ""); !errors.As(err, &se) {
		t.Errorf("UpstreamURL without resolver = %v, %v; want *SecretError", u, err)
	}
	// The client's malformed query is not a secret problem.
	if _, err := r.UpstreamURLContext(context.Background(), res, "", "a=%zz"); err == nil || errors.As(err, &se) {
		t.Errorf("malformed client query: err = %v, want a non-secret error", err)
	}
}

// BenchmarkUpstreamURLQuerySecrets measures what rendering query references adds per request
// (the resolver here is a map: a cache hit, as on a warm Lambda).
func BenchmarkUpstreamURLQuerySecrets(b *testing.B) {
	for _, bc := range []struct{ name, key string }{{"literal", "lit"}, {"reference", "os.environ/UP_KEY"}} {
		r, err := route.New(&config.Endpoint{
			Path: "/g", Target: "https://up.example/v1?alt=sse",
			DefaultQueryParams: []config.Param{{Name: "key", Value: bc.key}},
		}, time.Second)
		if err != nil {
			b.Fatal(err)
		}
		res := secrets.Inline{"UP_KEY": "k"}
		ctx := context.Background()
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.UpstreamURLContext(ctx, res, "", "b=2"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
