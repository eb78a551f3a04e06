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
