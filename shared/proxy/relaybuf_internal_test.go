package proxy

import "testing"

// An event stream waits on a small buffer (it is per-stream memory while the upstream thinks);
// any other response is relayed through a big one (fewer reads and writes for a download).
func TestRelayBufferSizeFollowsTheContentType(t *testing.T) {
	cases := []struct {
		ct   string
		want int
	}{
		{"text/event-stream", eventBufferSize},
		{"text/event-stream; charset=utf-8", eventBufferSize},
		{"application/vnd.amazon.eventstream", eventBufferSize},
		{"application/json", bodyBufferSize},
		{"application/octet-stream", bodyBufferSize},
		{"", bodyBufferSize},
	}
	for _, c := range cases {
		bp := relayBuffers(c.ct).Get().(*[]byte)
		if len(*bp) != c.want {
			t.Errorf("%q: relay buffer of %d bytes, want %d", c.ct, len(*bp), c.want)
		}
	}
}
