package proxy

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// maxPendingEvent bounds the bytes held while waiting for the end of an SSE event; a longer
// event is passed on as it is, uninjected.
const maxPendingEvent = 1 << 20

// costInjector adds `"cost": <usd>` to the usage object of the final usage event of an OpenAI
// or Anthropic stream (include_cost_in_streaming_usage, as LiteLLM does). It releases bytes
// whole SSE events at a time, so it is the one place the relay holds bytes back: only until
// the end of the event they belong to, and only on routes that opted in. Every other byte,
// and every event without usage, passes unchanged.
type costInjector struct {
	meter   Meter
	pricer  Pricer
	pending []byte
}

// feed takes relayed bytes and returns the ones ready to go to the client.
func (ci *costInjector) feed(p []byte) []byte {
	ci.pending = append(ci.pending, p...)
	var out []byte
	for {
		end := eventEnd(ci.pending)
		if end < 0 {
			break
		}
		out = append(out, ci.event(ci.pending[:end])...)
		ci.pending = ci.pending[end:]
	}
	if len(ci.pending) > maxPendingEvent {
		_, _ = ci.meter.Write(ci.pending)
		out = append(out, ci.pending...)
		ci.pending = nil
	}
	return out
}

// flush returns whatever is held: at the end of the stream the last event (which may lack its
// blank line) still gets its cost; for an over-long event the bytes pass as they are.
func (ci *costInjector) flush() []byte {
	rest := ci.pending
	ci.pending = nil
	if len(rest) == 0 {
		return nil
	}
	return ci.event(rest)
}

// eventEnd is the length of the first complete event in b (up to and including its blank
// line), or -1.
func eventEnd(b []byte) int {
	i := bytes.Index(b, []byte("\n\n"))
	j := bytes.Index(b, []byte("\r\n\r\n"))
	switch {
	case i < 0 && j < 0:
		return -1
	case j < 0 || (i >= 0 && i < j):
		return i + 2
	default:
		return j + 4
	}
}

// event meters one complete event and returns it, with the cost added when it is the usage
// event and the tokens so far can be priced.
func (ci *costInjector) event(ev []byte) []byte {
	_, _ = ci.meter.Write(ev)
	if !bytes.Contains(ev, []byte(`"usage"`)) {
		return ev
	}
	usd, ok := ci.pricer.Cost(ci.meter.Tokens())
	if !ok {
		return ev
	}
	for off := 0; off < len(ev); {
		end := bytes.IndexByte(ev[off:], '\n')
		if end < 0 {
			end = len(ev) - off
		}
		line := ev[off : off+end]
		if data, found := bytes.CutPrefix(bytes.TrimRight(line, "\r"), []byte("data:")); found {
			lead := len(data) - len(bytes.TrimLeft(data, " "))
			payload := bytes.TrimSpace(data)
			if injected, ok := withCost(payload, usd); ok {
				start := off + len("data:") + lead // splice this line's payload, nowhere else
				return concat(ev[:start], injected, ev[start+len(payload):])
			}
		}
		off += end + 1
	}
	return ev
}

func concat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// withCost returns data with cost added to its usage object, when data is an OpenAI chunk with
// usage or an Anthropic message_delta with usage. Only the usage object is re-encoded.
func withCost(data []byte, usd float64) ([]byte, bool) {
	var top map[string]json.RawMessage
	if json.Unmarshal(data, &top) != nil {
		return nil, false
	}
	raw, ok := top["usage"]
	if !ok || bytes.Equal(raw, []byte("null")) {
		return nil, false
	}
	var typ, object string
	_ = json.Unmarshal(top["type"], &typ)
	_ = json.Unmarshal(top["object"], &object)
	if typ != "message_delta" && object != "chat.completion.chunk" {
		return nil, false
	}
	var u map[string]json.RawMessage
	if json.Unmarshal(raw, &u) != nil {
		return nil, false
	}
	u["cost"] = json.RawMessage(strconv.FormatFloat(usd, 'g', -1, 64))
	enc, err := json.Marshal(u)
	if err != nil {
		return nil, false
	}
	start, end, ok := topLevelValue(data, "usage")
	if !ok {
		return nil, false
	}
	return concat(data[:start], enc, data[end:]), true
}

// topLevelValue finds the byte span of the value of key in a JSON object, at the top level only
// (the same bytes may appear in other fields).
func topLevelValue(data []byte, key string) (start, end int, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return 0, 0, false
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return 0, 0, false
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return 0, 0, false
		}
		if k, _ := t.(string); k == key {
			end := int(dec.InputOffset())
			return end - len(raw), end, true
		}
	}
	return 0, 0, false
}
