package anthropic

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// Whatever the backend sends, the translation never panics, every event it writes has an
// event: line and JSON data, message_start comes first and once, and the stream ends with
// message_stop or an error event.
func FuzzStream(f *testing.F) {
	for _, name := range []string{"text_only", "text_then_tool", "parallel_tools", "content_and_finish", "thinking_then_text", "cut_mid_stream", "upstream_error_event", "backend_quirks"} {
		b, err := testdata.ReadFile("testdata/streams/" + name + ".in.sse")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, 7)
	}
	f.Add([]byte("data: {\"id\":\ndata: [DONE]\n\n"), 3)
	f.Add([]byte("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\\u00e9\\\"\"}}]} \n\n"), 1)
	f.Fuzz(func(t *testing.T, in []byte, split int) {
		var out bytes.Buffer
		s := NewStream(&out, "m", nil, true)
		step := max(split%64, 1)
		for i := 0; i < len(in); i += step {
			_, _ = s.Write(in[i:min(i+step, len(in))])
		}
		_ = s.Close()
		evs := strings.Split(strings.TrimSuffix(out.String(), "\n\n"), "\n\n")
		for i, ev := range evs {
			name, data, ok := strings.Cut(ev, "\ndata: ")
			if !ok || !strings.HasPrefix(name, "event: ") || !json.Valid([]byte(data)) {
				t.Fatalf("event %d is malformed: %q", i, ev)
			}
			if (name == "event: message_start") != (i == 0 && name == "event: message_start") {
				t.Fatalf("message_start at %d", i)
			}
		}
		if last := evs[len(evs)-1]; !strings.HasPrefix(last, "event: message_stop") && !strings.HasPrefix(last, "event: error") {
			t.Fatalf("the stream ends with %q", last)
		}
	})
}

// A chunk that is not JSON ends the stream with an error event, as a backend failure does.
func TestStreamMalformedChunk(t *testing.T) {
	for _, data := range []string{`{"id":`, `{"choices":[{"index":0,"delta":{"content":"x"}}]} trailing`, `{"choices":[{"index":"0"}]}`, `[1,2]`, `{"choices":[{"delta":{"content":tru}}]}`} {
		var out bytes.Buffer
		s := NewStream(&out, "m", nil, false)
		_, _ = s.Write([]byte("data: " + data + "\n\n"))
		if want := "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"The backend sent a stream event that is not JSON.\"}}\n\n"; out.String() != want {
			t.Errorf("%s: wrote %q, want %q", data, out.String(), want)
		}
	}
}
