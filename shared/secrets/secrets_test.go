package secrets

import (
	"context"
	"errors"
	"testing"
)

func TestTemplate(t *testing.T) {
	t.Setenv("GW_TEST_KEY", "v-123")
	tests := []struct {
		in, literal, name, rendered string
	}{
		{"application/json", "application/json", "", "application/json"},
		{"bearer os.environ/GW_TEST_KEY", "bearer ", "GW_TEST_KEY", "bearer v-123"},
		{"os.environ/GW_TEST_KEY", "", "GW_TEST_KEY", "v-123"},
	}
	for _, tt := range tests {
		tpl := ParseTemplate(tt.in)
		if tpl.Literal != tt.literal || tpl.Name != tt.name || tpl.String() != tt.in {
			t.Errorf("ParseTemplate(%q) = %+v", tt.in, tpl)
		}
		got, err := tpl.Render(context.Background(), Env{})
		if err != nil || got != tt.rendered {
			t.Errorf("Render(%q) = %q, %v", tt.in, got, err)
		}
	}
}

func TestEnvMissingAndEmpty(t *testing.T) {
	t.Setenv("GW_TEST_EMPTY", "")
	for _, name := range []string{"GW_TEST_EMPTY", "GW_TEST_NEVER_SET"} {
		_, err := Env{}.Resolve(context.Background(), name)
		var nf *NotFoundError
		if !errors.As(err, &nf) || nf.Name != name || err.Error() != `secret "`+name+`" is not set` {
			t.Errorf("Resolve(%s) = %v", name, err)
		}
	}
}

func TestInlineAndFields(t *testing.T) {
	m, err := ParseInline(`{"K":"v1","J":"{\"api_key\":\"a\",\"n\":3}","E":""}`)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ ref, want, err string }{
		{"K", "v1", ""},
		{"J:api_key", "a", ""},
		{"J:n", "3", ""},
		{"J:missing", "", `secret "J:missing" is not set`},
		{"K:field", "", `secret "K" is not a JSON object, so it has no field "field"`},
		{"E", "", `secret "E" is not set`},
		{"NOPE", "", `secret "NOPE" is not set`},
	}
	for _, tt := range tests {
		got, err := m.Resolve(context.Background(), tt.ref)
		if got != tt.want || (err == nil) != (tt.err == "") || (err != nil && err.Error() != tt.err) {
			t.Errorf("Resolve(%q) = %q, %v; want %q, %q", tt.ref, got, err, tt.want, tt.err)
		}
	}
	if _, err := ParseInline(`[1]`); err == nil {
		t.Error("ParseInline accepted a JSON array")
	}
	t.Setenv("GW_JSON_SECRET", `{"user":"u1"}`)
	if v, err := (Env{}).Resolve(context.Background(), "GW_JSON_SECRET:user"); v != "u1" || err != nil {
		t.Errorf("Env NAME:field = %q, %v", v, err)
	}
}
