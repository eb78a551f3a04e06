package main

import "testing"

func TestOneProc(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want bool // false: leave the runtime's default
	}{
		{"128 MB function", map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128"}, true},
		{"256 MB function", map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256"}, true},
		{"1768 MB function", map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1768"}, true},
		{"1769 MB function: one full vCPU", map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1769"}, false},
		{"10240 MB function", map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "10240"}, false},
		{"GOMAXPROCS set wins", map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", "GOMAXPROCS": "2"}, false},
		{"not on Lambda", map[string]string{}, false},
		{"junk size", map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "lots"}, false},
		{"zero size", map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "0"}, false},
		{"negative size", map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "-128"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := oneProc(func(k string) string { return c.env[k] }); got != c.want {
				t.Errorf("oneProc = %v, want %v", got, c.want)
			}
		})
	}
}
