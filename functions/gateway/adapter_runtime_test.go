package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The seed's adapter route on the real bootstrap under the fake Runtime API, called as a
// Function URL (events/function-url-adapter-stream.json): each translated Anthropic event
// leaves the function as the backend's chunk arrives, not at the end.
func TestBootstrapStreamsAdapterUnderRuntimeAPI(t *testing.T) {
	const tokens, gap = 5, 200 * time.Millisecond
	sent := make(chan time.Time, tokens)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer sk-oai" ||
			!bytes.Contains(body, []byte(`"model":"gpt-4o-mini"`)) || !bytes.Contains(body, []byte(`"stream_options":{"include_usage":true}`)) {
			http.Error(w, `{"error":{"message":"unexpected request"}}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range tokens {
			if i > 0 {
				time.Sleep(gap)
			}
			sent <- time.Now()
			fmt.Fprintf(w, "data: {\"id\":\"chatcmpl-rt\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tok%d\"},\"finish_reason\":null}]}\n\n", i)
			w.(http.Flusher).Flush()
		}
		_, _ = io.WriteString(w, "data: {\"id\":\"chatcmpl-rt\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"+
			"data: {\"id\":\"chatcmpl-rt\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":5}}\n\ndata: [DONE]\n\n")
	}))
	defer up.Close()
	cfg := `model_list:
  - model_name: my-fake-claude-endpoint
    litellm_params:
      model: gpt-4o-mini
      api_key: os.environ/OPENAI_API_KEY
      api_base: ` + up.URL + `/v1
general_settings:
  master_key: sk-1234
  pass_through_endpoints:
    - path: "/v1/messages"
      target: custom_callbacks.anthropic_adapter
      headers:
        litellm_user_api_key: "x-api-key"
`
	rt := startRuntime(t)
	startFunctionWith(t, buildBootstrap(t), strings.TrimPrefix(rt.URL, "http://"), []byte(cfg))
	rt.events <- mustRead(t, "../../events/function-url-adapter-stream.json")
	res := rt.await(t)

	var all []byte
	for _, c := range res.chunks {
		all = append(all, c.data...)
	}
	prelude, body, ok := bytes.Cut(all, make([]byte, 8))
	if !ok || !bytes.Contains(prelude, []byte(`"statusCode":200`)) || !bytes.Contains(prelude, []byte(`"Content-Type":"text/event-stream; charset=utf-8"`)) {
		t.Fatalf("prelude = %q", prelude)
	}
	for _, want := range []string{"event: message_start\n", `"text":"tok0"`, `"text":"tok4"`,
		`"usage":{"input_tokens":11,"output_tokens":5,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}`,
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"} {
		if !bytes.Contains(body, []byte(want)) {
			t.Fatalf("streamed body lacks %q:\n%s", want, body)
		}
	}
	var sentAt []time.Time
	for range tokens {
		sentAt = append(sentAt, <-sent)
	}
	arrived := tokenArrivals(res, tokens)
	for i := range tokens {
		t.Logf("tok%d: reached the runtime API %v after the backend sent it", i, arrived[i].Sub(sentAt[i]).Round(time.Millisecond))
		if i+1 < tokens && !arrived[i].Before(sentAt[i+1]) {
			t.Errorf("tok%d reached the runtime only after tok%d was sent: the function buffered it", i, i+1)
		}
	}
	if spread := arrived[tokens-1].Sub(arrived[0]); spread < 3*gap {
		t.Errorf("events arrived within %v; sent %v apart they must arrive spread out", spread, gap)
	}
}

// tokenArrivals finds when each tok<i> text delta reached the runtime.
func tokenArrivals(res result, n int) []time.Time {
	out := make([]time.Time, n)
	var seen []byte
	for _, c := range res.chunks {
		seen = append(seen, c.data...)
		for i := range n {
			if out[i].IsZero() && bytes.Contains(seen, fmt.Appendf(nil, `"text":"tok%d"`, i)) {
				out[i] = c.at
			}
		}
	}
	return out
}
