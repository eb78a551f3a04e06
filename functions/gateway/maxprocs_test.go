package main

import "testing"

func TestMaxProcs(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want int // 0: leave the runtime's default
	}{
		{"128 MB function", map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128"}, 1},
		{"256 MB function", map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256"}, 1},
		{"1768 MB function", map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1768"}, 1},
		{"1769 MB function: one full vCPU", map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1769"}, 0},
		{"10240 MB function", map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "10240"}, 0},
		{"GOMAXPROCS set wins", map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", "GOMAXPROCS": "2"}, 0},
		{"not on Lambda", map[string]string{}, 0},
		{"junk size", map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "lots"}, 0},
		{"zero size", map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "0"}, 0},
		{"negative size", map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "-128"}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := maxProcs(func(k string) string { return c.env[k] })
			if ok != (c.want != 0) || got != c.want {
				t.Errorf("maxProcs = %d, %v; want %d, %v", got, ok, c.want, c.want != 0)
			}
		})
	}
}
