package proxy_test

// Edge cases of what guardrails read: encodings, key case, body errors, SSE line ends.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf16"
)

func utf16Encode(s string, bigEndian, bom bool) []byte {
	var b bytes.Buffer
	u := utf16.Encode([]rune(s))
	if bom {
		u = append([]uint16{0xFEFF}, u...)
	}
	for _, c := range u {
		if bigEndian {
			_ = binary.Write(&b, binary.BigEndian, c)
		} else {
			_ = binary.Write(&b, binary.LittleEndian, c)
		}
	}
	return b.Bytes()
}

func utf32BE(s string) []byte {
	var b bytes.Buffer
	for _, r := range s {
		_ = binary.Write(&b, binary.BigEndian, uint32(r))
	}
	return b.Bytes()
}

// TestGuardRefusesUTF16And32JSON: JSON in UTF-16/UTF-32 (RFC 4627 §3; Python's
// json.loads(bytes), Starlette/FastAPI's request.json() and Jackson all detect and read it, with
// or without a BOM) is not valid JSON for Go; read as raw text its characters are interleaved
// with NULs and no pattern matches, so the SSN went upstream. It is refused with a 400.
func TestGuardRefusesUTF16And32JSON(t *testing.T) {
	const ssn = `{"model":"m","messages":[{"role":"user","content":"ssn 078-05-1120 project falcon"}]}`
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"utf-16le with BOM", utf16Encode(ssn, false, true)},
		{"utf-16be with BOM", utf16Encode(ssn, true, true)},
		{"utf-16be no BOM", utf16Encode(ssn, true, false)},
		{"utf-32be no BOM", utf32BE(ssn)},
		{"utf-16le no BOM", utf16Encode(ssn, false, false)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up, srv, sink := anthropicGuarded(t, wholeBody)
			resp, got := do(t, "POST", srv.URL+"/anthropic/v1/messages", bytes.NewReader(tc.body),
				map[string]string{"x-api-key": masterKey, "Content-Type": "application/json"})
			rec := sink.Next(t)
			if resp.StatusCode != 400 {
				t.Fatalf("status %d (guardrails %+v), want 400: the upstream got %d bytes of %s JSON holding the SSN",
					resp.StatusCode, rec.Guardrails, len(up.last(t).Body), tc.name)
			}
			want := `{"error":{"message":"The request body is UTF-16 or UTF-32 text; guardrail pii reads UTF-8 only.","type":"invalid_request_error","param":"None","code":"400"}}`
			if strings.TrimSpace(string(got)) != want || up.count() != 0 {
				t.Errorf("got %s (upstream called %d times), want %s", got, up.count(), want)
			}
		})
	}
}

// TestGuardReadsBinaryBodiesAsRaw: a binary body with NULs that is not wide-character JSON (an
// audio upload) is still read as raw text, not refused as UTF-16.
func TestGuardReadsBinaryBodiesAsRaw(t *testing.T) {
	body := []byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00")
	up, srv, sink := anthropicGuarded(t, wholeBody)
	resp, got := do(t, "POST", srv.URL+"/anthropic/v1/messages", bytes.NewReader(body),
		map[string]string{"x-api-key": masterKey, "Content-Type": "audio/mp4"})
	sink.Next(t)
	wantStatus(t, resp, got, 200)
	if !bytes.Equal(up.last(t).Body, body) {
		t.Errorf("upstream got %q, want %q", up.last(t).Body, body)
	}
}

// TestGuardFieldKeysIgnoreCase: an upstream that decodes with Go's encoding/json (Ollama's and
// LocalAI's OpenAI-compatible APIs, Go proxies) matches keys without regard to case, so field
// expressions do too: "Messages"/"CONTENT" are read as messages[*].content and the SSN is blocked.
func TestGuardFieldKeysIgnoreCase(t *testing.T) {
	body := `{"model":"m","Messages":[{"role":"user","CONTENT":"ssn 078-05-1120"}]}`
	up, srv, sink := anthropicGuarded(t, contentOnly)
	resp, got := do(t, "POST", srv.URL+"/anthropic/v1/messages", strings.NewReader(body),
		map[string]string{"x-api-key": masterKey, "Content-Type": "application/json"})
	rec := sink.Next(t)
	if resp.StatusCode == 400 {
		wantBody(t, got, errorJSON("400", "invalid_request_error", ssnBlocked))
		wantGuardrails(t, rec, ssnReason)
		if n := up.count(); n != 0 {
			t.Errorf("the upstream got %d calls, want 0", n)
		}
		return
	}
	var goUpstream struct {
		Messages []struct{ Content string }
	}
	if err := json.Unmarshal(up.last(t).Body, &goUpstream); err != nil {
		t.Fatal(err)
	}
	t.Errorf("status %d %s (guardrails %+v), want 400: a Go upstream reads messages[0].content = %q",
		resp.StatusCode, got, rec.Guardrails, goUpstream.Messages[0].Content)
}

// TestRelayBufferBoundaries: bodies around the 2 KiB, 4 KiB and 64 KiB buffer
// sizes, declared or chunked, JSON or SSE, arrive byte for byte.
func TestRelayBufferBoundaries(t *testing.T) {
	sizes := []int{0, 1, 2047, 2048, 2049, 4095, 4096, 4097, 65535, 65536, 65537, 200000}
	for _, ct := range []string{"application/json", "text/event-stream;charset=utf-8", "application/x-ndjson"} {
		for _, chunked := range []bool{false, true} {
			for _, n := range sizes {
				body := make([]byte, n)
				for i := range body {
					body[i] = byte('a' + i%26)
				}
				up := startUpstream(t, func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", ct)
					if !chunked {
						w.Header().Set("Content-Length", strconv.Itoa(n))
					}
					w.WriteHeader(200)
					for off := 0; off < n; off += 777 {
						_, _ = w.Write(body[off:min(off+777, n)])
						if chunked {
							w.(http.Flusher).Flush()
						}
					}
				})
				g := startGateway(t, publicConfig, up.URL)
				resp, got := do(t, "GET", g.URL+"/p/x", nil, nil)
				if resp.StatusCode != 200 || !bytes.Equal(got, body) {
					t.Errorf("%s chunked=%v n=%d: status %d, got %d bytes (equal %v)", ct, chunked, n, resp.StatusCode, len(got), bytes.Equal(got, body))
				}
				g.usage.Next(t)
			}
		}
	}
}

// TestDecodeRefusalRecordsTheGuardrailsMode: a body that cannot be decoded for a during_call-only
// guardrail is recorded under during_call, the mode the guardrail runs in (it was pre_call).
func TestDecodeRefusalRecordsTheGuardrailsMode(t *testing.T) {
	up := startUpstream(t, jsonReply(200, `{}`))
	g := startGateway(t, guardConfig("during_call", rerankFields, ""), up.URL, withGuards)
	resp, body := do(t, "POST", g.URL+"/v1/rerank", strings.NewReader("not gzip"),
		map[string]string{"Authorization": "Bearer " + masterKey, "Content-Type": "application/json", "Content-Encoding": "gzip"})
	wantStatus(t, resp, body, 415)
	wantGuardrails(t, g.usage.Next(t), "pii/during_call/blocked/Content-Encoding gzip cannot be inspected")
}

// TestGuardBodyReadErrorIsNot413: a request body the guardrails cannot read because its chunked
// framing is malformed is a 400 saying so (it was a 413 with Go's internal error text); only a
// body over the limit is a 413, and a client gone mid-upload is a 499.
func TestGuardBodyReadErrorIsNot413(t *testing.T) {
	_, srv, sink := anthropicGuarded(t, wholeBody)
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "POST /anthropic/v1/messages HTTP/1.1\r\nHost: x\r\nx-api-key: "+masterKey+
		"\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\nzz\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	rec := sink.Next(t)
	want := `{"error":{"message":"The request body could not be read: it ended early or its chunked framing is malformed.","type":"invalid_request_error","param":"None","code":"400"}}`
	if resp.StatusCode != 400 || strings.TrimSpace(string(b)) != want || rec.Status != 400 || rec.ErrorClass != "bad_request" {
		t.Errorf("malformed body answered %d %s (record status %d, class %q); want 400 %s, bad_request", resp.StatusCode, b, rec.Status, rec.ErrorClass, want)
	}
}

// TestSSEMaskAfterLoneCR: an event whose first data line ends with a lone CR and whose second
// data line arrives in pieces ("data: x@y.io" then "\n\n") is masked whole: the second line was
// once taken for the first one's CRLF and went to the client unmasked.
func TestSSEMaskAfterLoneCR(t *testing.T) {
	up := startUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		for _, c := range []string{"data: mail a@b.io\r", "data: x@y.io", "\n\n"} {
			_, _ = io.WriteString(w, c)
			w.(http.Flusher).Flush()
			time.Sleep(100 * time.Millisecond)
		}
	})
	g := startGateway(t, guardConfig("post_call", `[pii]`, "      guardrail_streaming: true\n"), up.URL, withGuards)
	resp, body := post(t, g, "/v1/rerank", `{}`)
	wantStatus(t, resp, body, 200)
	g.usage.Next(t)
	wantBody(t, body, "data: mail [EMAIL_REDACTED]\ndata: [EMAIL_REDACTED]\n\n") // both lines masked, the event whole
}

// TestGuardFieldsReadKeysInBlocks: a tool_use block's input object reaches the model keys and
// all, so a field that selects content blocks reads their keys too: an SSN as a key is blocked.
func TestGuardFieldsReadKeysInBlocks(t *testing.T) {
	body := `{"model":"m","messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"lookup","input":{"078-05-1120":true}}]},` +
		`{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"ok"}]}]}`
	up, srv, sink := anthropicGuarded(t, contentOnly)
	resp, got := do(t, "POST", srv.URL+"/anthropic/v1/messages", strings.NewReader(body),
		map[string]string{"x-api-key": masterKey, "Content-Type": "application/json"})
	rec := sink.Next(t)
	if resp.StatusCode != 400 {
		t.Fatalf("status %d %s (guardrails %+v): the SSN in the tool input's key went upstream", resp.StatusCode, got, rec.Guardrails)
	}
	wantBody(t, got, errorJSON("400", "invalid_request_error", ssnBlocked))
	wantGuardrails(t, rec, ssnReason)
	if n := up.count(); n != 0 {
		t.Errorf("the upstream got %d calls, want 0", n)
	}
}

// TestGuardGzipPeakHeap: a 63 KB gzip request that decodes to 31 MiB, on a gateway with a 128 MB
// function's soft memory limit (96 MiB): the decode stops at 12 MiB with a 413, and the heap stays
// far below the limit (decoding all of it peaked at 136 MiB).
func TestGuardGzipPeakHeap(t *testing.T) {
	old := debug.SetMemoryLimit(96 << 20)
	t.Cleanup(func() { debug.SetMemoryLimit(old) })
	up, srv, sink := anthropicGuarded(t, wholeBody)
	inner := `{"model":"m","messages":[{"role":"user","content":"` + strings.Repeat("hello world ", (31<<20)/12) + `"}]}`
	body := gzipped(t, inner)
	inner = ""
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			select {
			case <-stop:
				return
			default:
			}
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			time.Sleep(200 * time.Microsecond)
		}
	}()
	resp, got := do(t, "POST", srv.URL+"/anthropic/v1/messages", bytes.NewReader(body),
		map[string]string{"x-api-key": masterKey, "Content-Type": "application/json", "Content-Encoding": "gzip"})
	close(stop)
	<-done
	rec := sink.Next(t)
	t.Logf("request %d bytes gzip -> 31 MiB: status %d %.80s; heap before %d MiB, peak %d MiB",
		len(body), resp.StatusCode, got, base.HeapAlloc>>20, peak.Load()>>20)
	wantStatus(t, resp, got, 413)
	if want := `{"error":{"message":"The request body decodes to over 12 MB, the most a guardrail inspects here.","type":"invalid_request_error","param":"None","code":"413"}}`; strings.TrimSpace(string(got)) != want {
		t.Errorf("body %s\nwant %s", got, want)
	}
	if up.count() != 0 || rec.Status != 413 {
		t.Errorf("upstream called %d times, record status %d", up.count(), rec.Status)
	}
	if peak.Load() > 64<<20 {
		t.Errorf("one %d-byte request peaks the heap at %d MiB", len(body), peak.Load()>>20)
	}
}
