package anthropic

import (
	"io"
	"testing"
)

// BenchmarkStreamEvent is the translation cost of one streamed text event (a typical OpenAI
// content chunk in, one content_block_delta out). Budget: 5 µs.
func BenchmarkStreamEvent(b *testing.B) {
	chunk := []byte(`data: {"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_06737a9306","choices":[{"index":0,"delta":{"content":" world, this is a token"},"logprobs":null,"finish_reason":null}]}` + "\n\n")
	s := NewStream(io.Discard, "claude-sonnet-4-5", nil, false)
	_, _ = s.Write(chunk) // message_start and the block's start, once
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Write(chunk); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRequest is the translation cost of one request (parse, validate, translate): the
// tools case, with a tool round trip in its history.
func BenchmarkRequest(b *testing.B) {
	body, err := testdata.ReadFile("testdata/requests/tools.in.json")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		req, perr := ParseRequest(body)
		if perr != nil {
			b.Fatal(perr)
		}
		if _, _, err := req.OpenAI(Backend{Model: "gpt-4o"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkResponse is the translation cost of one JSON answer with text and two tool calls.
func BenchmarkResponse(b *testing.B) {
	body, err := testdata.ReadFile("testdata/responses/tools.in.json")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Response(body, "claude-sonnet-4-5", longToolNames); err != nil {
			b.Fatal(err)
		}
	}
}
