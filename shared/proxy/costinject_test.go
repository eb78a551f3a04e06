package proxy

import (
	"testing"

	"github.com/passthru/gateway/shared/usage"
)

type seenMeter struct{ fed []byte }

func (m *seenMeter) Write(p []byte) (int, error) { m.fed = append(m.fed, p...); return len(p), nil }
func (m *seenMeter) Tokens() usage.Tokens {
	in := int64(8)
	return usage.Tokens{Model: "m", Input: &in}
}

type halfDollar struct{}

func (halfDollar) Cost(usage.Tokens) (float64, bool) { return 0.5, true }

// The cost lands in the top-level usage object of the data line, whatever else looks like it,
// in any framing; everything else is unchanged, and every byte is metered once.
func TestCostInjectorEdges(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string
		want   string
	}{
		{"same bytes elsewhere in the line",
			[]string{`data: {"object":"chat.completion.chunk","x":{"prompt_tokens":8},"usage":{"prompt_tokens":8}}` + "\n\n"},
			`data: {"object":"chat.completion.chunk","x":{"prompt_tokens":8},"usage":{"cost":0.5,"prompt_tokens":8}}` + "\n\n"},
		{"a comment line that looks like the data",
			[]string{`: {"object":"chat.completion.chunk","usage":{"prompt_tokens":8}}` + "\n" + `data: {"object":"chat.completion.chunk","usage":{"prompt_tokens":8}}` + "\n\n"},
			`: {"object":"chat.completion.chunk","usage":{"prompt_tokens":8}}` + "\n" + `data: {"object":"chat.completion.chunk","usage":{"cost":0.5,"prompt_tokens":8}}` + "\n\n"},
		{"CRLF, split mid-event",
			[]string{"event: message_delta\r\ndata: {\"type\":\"message_de", "lta\",\"usage\":{\"output_tokens\":5}}\r\n\r\n"},
			"event: message_delta\r\ndata: {\"type\":\"message_delta\",\"usage\":{\"cost\":0.5,\"output_tokens\":5}}\r\n\r\n"},
		{"last event without its blank line",
			[]string{`data: {"object":"chat.completion.chunk","usage":{"prompt_tokens":8}}`},
			`data: {"object":"chat.completion.chunk","usage":{"cost":0.5,"prompt_tokens":8}}`},
		{"no usage, untouched",
			[]string{"data: {\"object\":\"chat.completion.chunk\",\"usage\":null}\n\n", "data: [DONE]\n\n"},
			"data: {\"object\":\"chat.completion.chunk\",\"usage\":null}\n\ndata: [DONE]\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &seenMeter{}
			ci := &costInjector{meter: m, pricer: halfDollar{}}
			var out, in []byte
			for _, c := range tt.chunks {
				in = append(in, c...)
				out = append(out, ci.feed([]byte(c))...)
			}
			out = append(out, ci.flush()...)
			if string(out) != tt.want {
				t.Errorf("out =\n%q\nwant\n%q", out, tt.want)
			}
			if string(m.fed) != string(in) {
				t.Errorf("metered %q, want every input byte once", m.fed)
			}
		})
	}
}
