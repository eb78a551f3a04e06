package proxy

import (
	"bytes"
	"io"
	"net/http"
	"strings"
)

// smallBodyLimit is the largest request body read whole before the request goes upstream.
// Bigger bodies, and bodies of unknown length (chunked), stream as they arrive.
const smallBodyLimit = 64 << 10

// readWhole reports whether r's body is read whole before forwarding: a known length up to
// smallBodyLimit, from a client that is not waiting for "100 Continue" (reading would send it
// at once, before the upstream had its say; such a body streams when the upstream asks).
func readWhole(r *http.Request) bool {
	return r.ContentLength > 0 && r.ContentLength <= smallBodyLimit && !strings.EqualFold(r.Header.Get("Expect"), "100-continue")
}

// readWhole reads a request body of known length n (≤ smallBodyLimit) before the request is sent,
// so that the transport writes the request line, headers and body in one write: the direct path
// (package upstream) takes only bodies in memory, and net/http's Transport, which carries the rest
// (through a proxy from the environment, say), flushes the headers on their own before any body
// that is not an in-memory reader (net/http/transfer.go, isKnownInMemoryReader; golang/go#22088),
// one more write and usually one more packet for every call. Reading through b keeps the metered
// prefix and the idle deadline as they were; bytes_in counts the bytes once the request went
// (sent), as when they stream. The bytes forwarded are exactly the bytes read. A read that fails
// (the client went away, or sent fewer bytes than it declared) hands the transport what did arrive
// and then the same error, as streaming would have.
//
// The body is also replayable (GetBody): that marks it as in memory, so the upstream transport
// sends it from the calling goroutine (package upstream, which resends its own encoded bytes
// when a pooled connection turned out closed; net/http's Transport, on the other path, calls
// GetBody for that). A body that failed to read whole gets no GetBody: it streams what
// arrived, then the error.
//
// The buffer is allocated at the body's size rather than pooled: a streaming transport may
// still be writing it after RoundTrip returns (an upstream may answer before it has read the
// request), and nothing tells the handler when it is done with it.
func (b *countingBody) readWhole(n int64) (io.ReadCloser, func() (io.ReadCloser, error)) {
	buf := make([]byte, n)
	m, err := io.ReadFull(readerFunc(b.readUncounted), buf)
	b.held = int64(m)
	if err != nil {
		return io.NopCloser(io.MultiReader(bytes.NewReader(buf[:m]), errReader{err})), nil
	}
	return replayable(buf)
}

// replayable returns b as a request body, and the GetBody that gives it again: a body in memory,
// which the upstream transport sends with the headers in one write and may send again on a retry.
func replayable(b []byte) (io.ReadCloser, func() (io.ReadCloser, error)) {
	get := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	rc, _ := get()
	return rc, get
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// sent is bytes_in: what went upstream, or was read and discarded. Bytes read whole count once
// the request's headers were written (wroteHeaders): they leave in the same write.
func (b *countingBody) sent(wroteHeaders bool) int64 {
	n := b.n.Load()
	if wroteHeaders {
		n += b.held
	}
	return n
}
