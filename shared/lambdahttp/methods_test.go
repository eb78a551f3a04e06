package lambdahttp_test

import (
	"bytes"
	"testing"

	"github.com/passthru/gateway/shared/lambdahttp"
)

// HEAD and a refused WebSocket handshake through every front door: HEAD reaches the upstream as
// HEAD and comes back with the upstream's status and no body; the upgrade gets the gateway's
// JSON 400, streamed or buffered alike.
func TestHeadAndUpgradeThroughFrontDoors(t *testing.T) {
	up := startUpstream(t)
	h := gatewayFor(t, up.URL)
	stream := lambdahttp.New(h, lambdahttp.Options{})
	buffered := lambdahttp.New(h, lambdahttp.Options{RESTMode: lambdahttp.Buffered, FunctionURLMode: lambdahttp.Buffered})
	const refused = `{"error":{"message":"Protocol upgrades are not supported: the gateway relays HTTP requests only, so a WebSocket (Upgrade: websocket) cannot be opened through it.","type":"invalid_request_error","param":"None","code":"400"}}`
	tests := []struct {
		fixture string
		adapter *lambdahttp.Adapter
		kind    string
	}{
		{"rest-rerank.json", stream, "rest-stream"},
		{"rest-rerank.json", buffered, "rest-buffered"},
		{"function-url-rerank.json", stream, "url-stream"},
		{"function-url-rerank.json", buffered, "url-buffered"},
		{"http-api-rerank.json", stream, "http-buffered"},
	}
	for _, tt := range tests {
		t.Run(tt.fixture+" "+tt.kind, func(t *testing.T) {
			head := bytes.ReplaceAll(fixture(t, tt.fixture), []byte(`"POST"`), []byte(`"HEAD"`))
			got := invoke(t, tt.adapter, head)
			if got.kind != tt.kind || got.status != 200 || got.body != "" || got.readErr != nil {
				t.Fatalf("HEAD: got %s %d %q (read err %v), want %s 200 and no body", got.kind, got.status, got.body, got.readErr, tt.kind)
			}
			up.mu.Lock()
			method := up.got.Method
			up.mu.Unlock()
			if method != "HEAD" {
				t.Errorf("upstream got %s, want HEAD", method)
			}
			ws := bytes.Replace(fixture(t, tt.fixture), []byte(`"headers": {`), []byte(`"headers": {"upgrade": "websocket", "connection": "Upgrade", `), 1)
			// REST events carry every header in multiValueHeaders too, which the adapter reads.
			ws = bytes.Replace(ws, []byte(`"multiValueHeaders": {`), []byte(`"multiValueHeaders": {"upgrade": ["websocket"], "connection": ["Upgrade"], `), 1)
			if bytes.Equal(ws, fixture(t, tt.fixture)) {
				t.Fatal("fixture has no headers object to extend")
			}
			got = invoke(t, tt.adapter, ws)
			if got.kind != tt.kind || got.status != 400 || got.body != refused {
				t.Fatalf("upgrade: got %s %d %q, want %s 400 %s", got.kind, got.status, got.body, tt.kind, refused)
			}
		})
	}
}
