// Package sdktest drives the gateway's built-in provider routes (and its Anthropic adapter
// route, adapter_test.go) with the providers' official
// npm SDKs (node/: package.json, the committed package-lock.json, one script per SDK). The
// tests start a recording mock upstream and the gateway in process, point each route's base URL
// override at the mock, run each script with node, and check what the SDK got, what the
// upstream received and the usage record. It holds tests only; `go test ./local/sdktest/`
// installs the SDKs with `npm ci` on first use.
package sdktest
