//go:build pprof

package main

import (
	"log"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof on http.DefaultServeMux
	"os"
)

// A binary built with `go build -tags pprof ./local/gateway` serves net/http/pprof on
// GATEWAY_PPROF_ADDR (e.g. 127.0.0.1:6060), for profiling the process under `make bench`'s load.
// The default build has no such listener and does not link the profiler's handlers.
func init() {
	addr := os.Getenv("GATEWAY_PPROF_ADDR")
	if addr == "" {
		return
	}
	go func() { log.Println(http.ListenAndServe(addr, nil)) }()
}
