// Command mockupstream serves the mock providers (package local/mock) for `make run`.
package main

import (
	"flag"
	"log"
	"net/http"
	"time"

	"github.com/passthru/gateway/local/mock"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:4010", "listen address")
	gap := flag.Duration("gap", 150*time.Millisecond, "pause between streamed events")
	flag.Parse()
	srv := &http.Server{Addr: *addr, Handler: mock.Handler(*gap), ReadHeaderTimeout: 5 * time.Second}
	log.Printf("mock upstream on http://%s", *addr)
	log.Fatal(srv.ListenAndServe())
}
