package config_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passthru/gateway/shared/config"
	"github.com/passthru/gateway/shared/secrets"
)

func TestEffectiveTimeout(t *testing.T) {
	tests := []struct {
		name             string
		general, enpoint time.Duration
		want             time.Duration
	}{
		{"endpoint wins over general", 120 * time.Second, 30 * time.Second, 30 * time.Second},
		{"endpoint longer than general still wins", 5 * time.Second, 900 * time.Second, 900 * time.Second},
		{"general when endpoint unset", 120 * time.Second, 0, 120 * time.Second},
		{"600s when neither is set", 0, 0, 600 * time.Second},
		{"endpoint alone", 0, 1500 * time.Millisecond, 1500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &config.Config{RequestTimeout: tt.general}
			e := &config.Endpoint{Timeout: tt.enpoint}
			if got := c.EffectiveTimeout(e); got != tt.want {
				t.Errorf("EffectiveTimeout = %v, want %v", got, tt.want)
			}
		})
	}
	if config.DefaultTimeout != 600*time.Second {
		t.Errorf("DefaultTimeout = %v, want 10m0s (LiteLLM's 600.0)", config.DefaultTimeout)
	}
}

// fakeResolver resolves names from a map and counts lookups.
type fakeResolver struct {
	values map[string]string
	calls  map[string]int
}

func (f *fakeResolver) Resolve(_ context.Context, name string) (string, error) {
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[name]++
	if v, ok := f.values[name]; ok {
		return v, nil
	}
	return "", &secrets.NotFoundError{Name: name}
}

const secretsDoc = `general_settings:
  master_key: os.environ/MASTER_KEY
  pass_through_endpoints:
    - path: /a
      target: https://a.example.com
      auth: true
      headers:
        Authorization: "bearer os.environ/SHARED_KEY"
        X-Tenant: "os.environ/TENANT"
        X-Plain: not-a-secret
    - path: /b
      target: https://b.example.com
      auth: true
      headers:
        x-api-key: os.environ/SHARED_KEY
    - path: /lf
      target: https://cloud.langfuse.com
      auth: true
      headers:
        LANGFUSE_PUBLIC_KEY: os.environ/LF_PK
        LANGFUSE_SECRET_KEY: os.environ/LF_SK
`

func TestSecretRefs(t *testing.T) {
	res := config.Parse([]byte(secretsDoc))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	want := []string{"MASTER_KEY", "SHARED_KEY", "TENANT", "LF_PK", "LF_SK"}
	if got := res.Config.SecretRefs(); !slices.Equal(got, want) {
		t.Errorf("SecretRefs = %q, want %q", got, want)
	}

	literal := &config.Config{MasterKey: "sk-1234", Endpoints: []config.Endpoint{{Headers: []config.Header{{Name: "A", Value: "b"}}}}}
	if got := literal.SecretRefs(); got != nil {
		t.Errorf("SecretRefs of literal values = %q, want none", got)
	}
}

// SecretRefs promises file order; the Langfuse keys are headers like any other.
func TestSecretRefsOrder(t *testing.T) {
	doc := `general_settings:
  pass_through_endpoints:
    - path: /lf
      target: https://cloud.langfuse.com
      auth: true
      headers:
        LANGFUSE_PUBLIC_KEY: os.environ/LF_PK
        LANGFUSE_SECRET_KEY: os.environ/LF_SK
        X-Extra: os.environ/EXTRA
`
	res := config.Parse([]byte(doc))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	want := []string{"EXTRA", "LF_PK", "LF_SK"}
	if got := res.Config.SecretRefs(); !slices.Equal(got, want) {
		t.Errorf("SecretRefs = %q, want %q (headers, then the Langfuse pair)", got, want)
	}
}

func TestCheckSecrets(t *testing.T) {
	res := config.Parse([]byte(secretsDoc))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	cfg := res.Config
	all := map[string]string{
		"MASTER_KEY": "VALUE-master-9f3a",
		"SHARED_KEY": "VALUE-shared-7c1d",
		"TENANT":     "VALUE-tenant-2b8e",
		"LF_PK":      "VALUE-lfpk-4e6f",
		"LF_SK":      "VALUE-lfsk-0a5c",
	}
	without := func(names ...string) map[string]string {
		m := map[string]string{}
		for k, v := range all {
			if !slices.Contains(names, k) {
				m[k] = v
			}
		}
		return m
	}
	tests := []struct {
		name    string
		values  map[string]string
		want    []string
		missing []string
	}{
		{"all set", all, nil, nil},
		{"master key missing", without("MASTER_KEY"),
			[]string{`os.environ/MASTER_KEY (used by general_settings.master_key): secret "MASTER_KEY" is not set`},
			[]string{"MASTER_KEY"}},
		{"shared header secret missing", without("SHARED_KEY"),
			[]string{`os.environ/SHARED_KEY (used by pass_through_endpoints[0] (/a) headers.Authorization, pass_through_endpoints[1] (/b) headers.x-api-key): secret "SHARED_KEY" is not set`},
			[]string{"SHARED_KEY"}},
		{"several missing", without("TENANT", "LF_SK", "MASTER_KEY"),
			[]string{
				`os.environ/MASTER_KEY (used by general_settings.master_key): secret "MASTER_KEY" is not set`,
				`os.environ/TENANT (used by pass_through_endpoints[0] (/a) headers.X-Tenant): secret "TENANT" is not set`,
				`os.environ/LF_SK (used by pass_through_endpoints[2] (/lf) headers.LANGFUSE_SECRET_KEY): secret "LF_SK" is not set`,
			},
			[]string{"MASTER_KEY", "TENANT", "LF_SK"}},
		{"langfuse public key missing", without("LF_PK"),
			[]string{`os.environ/LF_PK (used by pass_through_endpoints[2] (/lf) headers.LANGFUSE_PUBLIC_KEY): secret "LF_PK" is not set`},
			[]string{"LF_PK"}},
		{"nothing set", map[string]string{}, nil, []string{"MASTER_KEY", "SHARED_KEY", "TENANT", "LF_PK", "LF_SK"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &fakeResolver{values: tt.values}
			err := cfg.CheckSecrets(context.Background(), r)
			got := errList(err)
			if tt.want != nil && !slices.Equal(got, tt.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if len(got) != len(tt.missing) {
				t.Errorf("got %d errors, want %d: %q", len(got), len(tt.missing), got)
			}
			for _, name := range tt.missing {
				var nf *secrets.NotFoundError
				if !errors.As(err, &nf) {
					t.Errorf("error does not wrap *secrets.NotFoundError: %v", err)
				}
				if err == nil || !strings.Contains(err.Error(), "os.environ/"+name+" (used by ") {
					t.Errorf("error %v does not name os.environ/%s and its users", err, name)
				}
			}
			if err != nil {
				for name, v := range tt.values {
					if strings.Contains(err.Error(), v) {
						t.Errorf("error text leaks the value of %s: %q", name, err.Error())
					}
				}
			}
			for name, n := range r.calls {
				if n != 1 {
					t.Errorf("Resolve(%s) called %d times, want once", name, n)
				}
			}
			if len(r.calls) != 5 {
				t.Errorf("resolved %d names, want 5 (%v)", len(r.calls), r.calls)
			}
		})
	}
}
