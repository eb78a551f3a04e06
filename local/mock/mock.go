// Package mock is a small stand-in for the providers in local/config.yaml, so the gateway can
// be tried with no internet and no provider account. It answers like Cohere rerank, Langfuse
// ingestion (207), Anthropic messages and OpenAI chat completions; the last two stream
// server-sent events `gap` apart when the request asks for "stream": true. Each answer carries
// an X-Mock-Credential header showing which provider credential arrived (masked), so a demo can
// show the key swap.
package mock

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Handler serves the mock providers; gap is the pause between streamed events.
func Handler(gap time.Duration) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/rerank", func(w http.ResponseWriter, r *http.Request) {
		credential(w, r, "Authorization")
		writeJSON(w, http.StatusOK, `{"id":"37103a5b-8cfb-48d3-87c7-da288bedd429","results":[{"index":2,"relevance_score":0.999071},{"index":0,"relevance_score":0.32713068}],"meta":{"api_version":{"version":"1"},"billed_units":{"search_units":1}}}`)
	})
	mux.HandleFunc("POST /api/public/ingestion", func(w http.ResponseWriter, r *http.Request) {
		credential(w, r, "Authorization")
		writeJSON(w, http.StatusMultiStatus, `{"successes":[{"id":"evt-1","status":201}],"errors":[]}`)
	})
	mux.HandleFunc("POST /anthropic/v1/messages", func(w http.ResponseWriter, r *http.Request) {
		credential(w, r, "X-Api-Key")
		if !wantsStream(r) {
			writeJSON(w, http.StatusOK, `{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Hi! How can I help?"}],"stop_reason":"end_turn","usage":{"input_tokens":10,"output_tokens":7}}`)
			return
		}
		stream(w, gap, []string{
			"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\n\n",
			"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi!\"}}\n\n",
			"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" How can I help?\"}}\n\n",
			"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":7}}\n\n",
			"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
		})
	})
	mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		credential(w, r, "Authorization")
		if !wantsStream(r) {
			writeJSON(w, http.StatusOK, `{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there"},"finish_reason":"stop"}],"usage":{"prompt_tokens":8,"completion_tokens":2,"total_tokens":10}}`)
			return
		}
		stream(w, gap, []string{
			"data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"}}]}\n\n",
			"data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" there\"}}]}\n\n",
			"data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":8,\"completion_tokens\":2,\"total_tokens\":10}}\n\n",
			"data: [DONE]\n\n",
		})
	})
	return mux
}

// credential echoes which credential arrived, cut after its first 12 characters.
func credential(w http.ResponseWriter, r *http.Request, header string) {
	v := r.Header.Get(header)
	if len(v) > 12 {
		v = v[:12] + "…"
	}
	w.Header().Set("X-Mock-Credential", fmt.Sprintf("%s: %s", header, v))
}

func wantsStream(r *http.Request) bool {
	var body struct {
		Stream bool `json:"stream"`
	}
	data, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	_ = json.Unmarshal(data, &body)
	return body.Stream
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func stream(w http.ResponseWriter, gap time.Duration, events []string) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	flusher, _ := w.(http.Flusher)
	for i, e := range events {
		if i > 0 {
			time.Sleep(gap)
		}
		_, _ = io.WriteString(w, e)
		if flusher != nil {
			flusher.Flush()
		}
	}
}
