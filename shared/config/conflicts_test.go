package config_test

import (
	"slices"
	"testing"

	"github.com/passthru/gateway/shared/config"
)

func TestParseDuplicates(t *testing.T) {
	ep := func(index int, path, methods string) string {
		s := "    - path: " + path + "\n" +
			"      target: https://api.example.com/t" + string(rune('0'+index)) + "\n" +
			"      auth: true\n"
		if methods != "" {
			s += "      methods: " + methods + "\n"
		}
		return s
	}
	head := "general_settings:\n  pass_through_endpoints:\n"
	tests := []struct {
		name string
		doc  string
		want []string // nil: no error
	}{
		{"same path, disjoint methods", head + ep(0, "/x", "[POST]") + ep(1, "/x", "[GET]"), nil},
		{"different paths", head + ep(0, "/x", "") + ep(1, "/y", ""), nil},
		{"one shared method", head + ep(0, "/x", "[POST, PUT]") + ep(1, "/x", "[GET, PUT]"),
			[]string{"pass_through_endpoints[1] (/x): path /x method PUT is already served by pass_through_endpoints[0] (/x)"}},
		{"method case differs", head + ep(0, "/x", "[post]") + ep(1, "/x", "[POST]"),
			[]string{"pass_through_endpoints[1] (/x): path /x method POST is already served by pass_through_endpoints[0] (/x)"}},
		{"default methods against explicit", head + ep(0, "/x", "[DELETE]") + ep(1, "/y", "") + ep(2, "/x", ""),
			[]string{"pass_through_endpoints[2] (/x): path /x method DELETE is already served by pass_through_endpoints[0] (/x)"}},
		{"third endpoint names the first owner", head + ep(0, "/x", "[GET]") + ep(1, "/x", "[POST]") + ep(2, "/x", "[GET]"),
			[]string{"pass_through_endpoints[2] (/x): path /x method GET is already served by pass_through_endpoints[0] (/x)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := config.Parse([]byte(tt.doc))
			got := errList(res.Err)
			if !slices.Equal(got, tt.want) {
				t.Errorf("errors = %q, want %q", got, tt.want)
			}
			if tt.want == nil && res.Config == nil {
				t.Error("nil Config without error")
			}
		})
	}
}

func TestParseSubpathPrefixCollision(t *testing.T) {
	doc := `
general_settings:
  pass_through_endpoints:
    - {path: /bria, target: https://a.example.com, include_subpath: true, auth: false}
    - {path: /bria/, target: https://b.example.com, include_subpath: true, auth: false, methods: [POST]}
`
	res := config.Parse([]byte(doc))
	want := "pass_through_endpoints[1] (/bria/): path /bria/ method POST is already served by pass_through_endpoints[0] (/bria)"
	if res.Err == nil || res.Err.Error() != want {
		t.Errorf("err = %v, want %q", res.Err, want)
	}
}
