package main

import "testing"

func TestSoftMemoryLimit(t *testing.T) {
	cases := []struct {
		name       string
		env        map[string]string
		want       int64
		wantNoneOK bool // no limit set
	}{
		{"128 MB function", map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128"}, 96 << 20, false},
		{"256 MB function", map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256"}, 192 << 20, false},
		{"10240 MB function", map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "10240"}, 7680 << 20, false},
		{"GOMEMLIMIT set wins", map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", "GOMEMLIMIT": "50MiB"}, 0, true},
		{"GOMEMLIMIT off wins", map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", "GOMEMLIMIT": "off"}, 0, true},
		{"not on Lambda", map[string]string{}, 0, true},
		{"junk size", map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "lots"}, 0, true},
		{"zero size", map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "0"}, 0, true},
		{"negative size", map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "-128"}, 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := softMemoryLimit(func(k string) string { return c.env[k] })
			if ok == c.wantNoneOK || got != c.want {
				t.Errorf("softMemoryLimit = %d, %v; want %d, %v", got, ok, c.want, !c.wantNoneOK)
			}
		})
	}
}
