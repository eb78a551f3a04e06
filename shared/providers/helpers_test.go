package providers

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/passthru/gateway/shared/usage"
)

func n(v int64) *int64 { return &v }

// exchange is one upstream call: where it went, what was asked, what came back.
type exchange struct {
	url     string
	request string
	status  int // 0: 200
	header  map[string]string
	file    string        // body from testdata/
	build   func() []byte // or built in the test (AWS event streams)
}

func (x exchange) body(t testing.TB) []byte {
	t.Helper()
	if x.build != nil {
		return x.build()
	}
	b, err := os.ReadFile(filepath.Join("testdata", x.file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (x exchange) meter(t testing.TB) *Meter {
	t.Helper()
	u, err := url.Parse(x.url)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	for k, v := range x.header {
		h.Set(k, v)
	}
	status := x.status
	if status == 0 {
		status = 200
	}
	return NewMeter(u, []byte(x.request), status, h)
}

// feed writes body to m in chunks of size (0: whole).
func feed(m *Meter, body []byte, size int) {
	if size <= 0 {
		size = len(body)
	}
	for len(body) > 0 {
		k := min(size, len(body))
		if n, err := m.Write(body[:k]); n != k || err != nil {
			panic(fmt.Sprintf("Write = %d, %v; want %d, nil", n, err, k))
		}
		body = body[k:]
	}
}

func show(p *int64) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprint(*p)
}

// diffTokens lists the fields of got that differ from want.
func diffTokens(got, want usage.Tokens) []string {
	var d []string
	if got.Provider != want.Provider {
		d = append(d, fmt.Sprintf("Provider = %q, want %q", got.Provider, want.Provider))
	}
	if got.Model != want.Model {
		d = append(d, fmt.Sprintf("Model = %q, want %q", got.Model, want.Model))
	}
	for _, f := range []struct {
		name      string
		got, want *int64
	}{
		{"Input", got.Input, want.Input},
		{"Output", got.Output, want.Output},
		{"Cached", got.Cached, want.Cached},
		{"CacheWrite", got.CacheWrite, want.CacheWrite},
		{"Reasoning", got.Reasoning, want.Reasoning},
		{"SearchUnits", got.SearchUnits, want.SearchUnits},
	} {
		if show(f.got) != show(f.want) {
			d = append(d, fmt.Sprintf("%s = %s, want %s", f.name, show(f.got), show(f.want)))
		}
	}
	return d
}

func checkTokens(t testing.TB, got, want usage.Tokens) {
	t.Helper()
	if d := diffTokens(got, want); len(d) > 0 {
		t.Errorf("tokens:\n  %s", strings.Join(d, "\n  "))
	}
}

// AWS event stream encoding, for fixtures: string headers only, as Bedrock sends.

type esHdr struct{ name, value string }

func esMessage(payload []byte, headers ...esHdr) []byte {
	var h []byte
	for _, x := range headers {
		h = append(h, byte(len(x.name)))
		h = append(h, x.name...)
		h = append(h, 7) // string
		h = binary.BigEndian.AppendUint16(h, uint16(len(x.value)))
		h = append(h, x.value...)
	}
	total := esPrelude + len(h) + len(payload) + 4
	b := binary.BigEndian.AppendUint32(nil, uint32(total))
	b = binary.BigEndian.AppendUint32(b, uint32(len(h)))
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
	b = append(b, h...)
	b = append(b, payload...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

func esEvent(eventType string, payload []byte) []byte {
	return esMessage(payload,
		esHdr{":event-type", eventType},
		esHdr{":content-type", "application/json"},
		esHdr{":message-type", "event"})
}

// bedrockChunk wraps a model's chunk as InvokeModelWithResponseStream sends it: base64 in
// "bytes", with the padding field "p" Bedrock adds.
func bedrockChunk(chunk string) []byte {
	payload, _ := json.Marshal(map[string]string{
		"bytes": base64.StdEncoding.EncodeToString([]byte(chunk)),
		"p":     "abcdefghijklmnopqrstuvwxyzABCDEFGH",
	})
	return esEvent("chunk", payload)
}

func bedrockInvokeStream(chunks ...string) func() []byte {
	return func() []byte {
		var b []byte
		for _, c := range chunks {
			b = append(b, bedrockChunk(c)...)
		}
		return b
	}
}

func bedrockConverseStream(events ...[2]string) func() []byte {
	return func() []byte {
		var b []byte
		for _, e := range events {
			b = append(b, esEvent(e[0], []byte(e[1]))...)
		}
		return b
	}
}

func appendCRC(b, over []byte) []byte {
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(over))
}
