package proxy

import "testing"

// An event stream waits on a small buffer (it is per-stream memory while the upstream thinks);
// so does a response whose declared length fits in it (most JSON answers: a 64 KiB buffer for a
// 500-byte body only makes every concurrent call hold 64 KiB); any other response is relayed
// through a big one (fewer reads and writes for a download).
func TestRelayBufferSizeFollowsTheResponse(t *testing.T) {
	cases := []struct {
		ct     string
		length int64 // -1: unknown (chunked)
		want   int
	}{
		{"text/event-stream", -1, eventBufferSize},
		{"text/event-stream; charset=utf-8", -1, eventBufferSize},
		{"text/event-stream", 10 << 20, eventBufferSize},
		{"application/vnd.amazon.eventstream", -1, eventBufferSize},
		{"application/json", -1, bodyBufferSize},
		{"application/json", 0, eventBufferSize},
		{"application/json", 512, eventBufferSize},
		{"application/json", eventBufferSize, eventBufferSize},
		{"application/json", eventBufferSize + 1, bodyBufferSize},
		{"application/octet-stream", 200 << 20, bodyBufferSize},
		{"", -1, bodyBufferSize},
	}
	for _, c := range cases {
		pool := relayBuffers(c.ct, c.length)
		bp := pool.Get().(*[]byte)
		if len(*bp) != c.want {
			t.Errorf("%q, length %d: relay buffer of %d bytes, want %d", c.ct, c.length, len(*bp), c.want)
		}
		pool.Put(bp)
	}
}
