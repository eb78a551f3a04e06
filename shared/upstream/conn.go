package upstream

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"sync/atomic"
	"syscall"
	"time"
)

// conn is one connection to an upstream host. It serves one exchange at a time; between them
// it waits in the Transport's idle list.
type conn struct {
	net.Conn                       // the TCP connection, or TLS over it
	raw       syscall.RawConn      // the TCP socket, for the liveness probe (nil: not a socket)
	br        *bufio.Reader        // response bytes; nil while idle (Transport.readers)
	tls       *tls.ConnectionState // nil for http
	key       poolKey
	t         *Transport
	reused    bool        // taken from the idle list, not dialled for this call
	idleAt    time.Time   // when it last went into the idle list, by the wall clock
	idleTimer *time.Timer // closes it after IdleConnTimeout in the idle list

	// The liveness probe (alive): its callback, and what it reads and finds.
	peek     func(fd uintptr) bool
	peekBuf  [1]byte
	peekLive bool

	// While a response head is read (inHead), br may take at most headLeft more bytes from
	// the connection: net/http's MaxResponseHeaderBytes, without which an upstream could make
	// the gateway buffer headers (or 1xx responses) without end.
	inHead   bool
	headLeft int64
}

// headerLimitReader is what br reads from: the connection, within the response head's limit.
type headerLimitReader struct{ c *conn }

func (r headerLimitReader) Read(p []byte) (int, error) {
	c := r.c
	if !c.inHead {
		return c.Conn.Read(p)
	}
	if c.headLeft <= 0 {
		return 0, errHeadTooLong
	}
	if int64(len(p)) > c.headLeft {
		p = p[:c.headLeft]
	}
	n, err := c.Conn.Read(p)
	c.headLeft -= int64(n)
	return n, err
}

var errHeadTooLong = errors.New("response head too long")

// aLongTimeAgo is a deadline that makes every pending and future read and write fail at once.
var aLongTimeAgo = time.Unix(1, 0)

// quiet reports whether the TLS layer holds nothing unread. Bytes it has already taken off the
// socket are invisible to a peek there: the rest of the record that carried the response's last
// bytes (bytes nobody asked for, which would be read as the next call's answer, as another
// client's answer in the gateway) or the upstream's close_notify (the next call would fail with
// EOF). A read with a deadline in the past decrypts what the TLS layer holds and never waits; a
// timeout is not fatal to a tls.Conn.
func (c *conn) quiet() bool {
	if c.Conn.SetReadDeadline(aLongTimeAgo) != nil {
		return false
	}
	_, err := c.br.Peek(1)
	if c.Conn.SetReadDeadline(time.Time{}) != nil {
		return false
	}
	return errors.Is(err, os.ErrDeadlineExceeded)
}

func (c *conn) close() {
	if c.idleTimer != nil {
		c.idleTimer.Stop()
	}
	_ = c.Conn.Close()
}

// exchange sends the encoded request wire and reads the response head. The body, if any, is
// read from the connection as the caller reads resp.Body; the connection goes back to the
// idle list when the body has been read to its end.
func (c *conn) exchange(ctx context.Context, req *http.Request, wire []byte) (*http.Response, error) {
	// Cancelling the call (the client left, the idle deadline fired) makes the connection's
	// blocked read or write return at once; such a connection is never reused.
	stop := context.AfterFunc(ctx, func() { _ = c.Conn.SetDeadline(aLongTimeAgo) })
	fail := func(err error) (*http.Response, error) {
		stop()
		c.close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	trace := httptrace.ContextClientTrace(ctx)
	if trace != nil && trace.WroteHeaders != nil {
		trace.WroteHeaders() // as the Transport does: the request is on its way
	}
	n, err := c.Conn.Write(wire)
	if trace != nil && trace.WroteRequest != nil {
		trace.WroteRequest(httptrace.WroteRequestInfo{Err: err})
	}
	if err != nil {
		if n == 0 {
			err = nothingWritten{err}
		}
		return fail(err)
	}
	resp, err := c.readHead(req)
	if err != nil {
		return fail(err)
	}
	resp.TLS = c.tls
	keep := !resp.Close && !req.Close
	if resp.Body == http.NoBody {
		c.finish(stop, keep)
		return resp, nil
	}
	resp.Body = &body{rc: resp.Body, c: c, ctx: ctx, stop: stop, keep: keep}
	return resp, nil
}

// readHead reads the response's status line and headers, skipping informational (1xx)
// responses as the Transport does. A connection that closes before a byte of the response
// arrives is noAnswer.
func (c *conn) readHead(req *http.Request) (*http.Response, error) {
	limit := c.t.HTTP.MaxResponseHeaderBytes
	if limit <= 0 {
		limit = 10 << 20 // the Transport's default, for any value not above 0
	}
	c.inHead, c.headLeft = true, limit // for the 1xx responses and the final one together
	defer func() { c.inHead = false }()
	tooLong := func(err error) error {
		if c.headLeft <= 0 { // as the Transport words it
			return fmt.Errorf("net/http: server response headers exceeded %d bytes; aborted", limit)
		}
		return err
	}
	for {
		if _, err := c.br.Peek(1); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
				return nil, noAnswer{err}
			}
			return nil, tooLong(err)
		}
		resp, err := http.ReadResponse(c.br, req)
		if err != nil {
			return nil, tooLong(err)
		}
		switch {
		case resp.StatusCode == http.StatusSwitchingProtocols:
			return nil, fmt.Errorf("upstream switched protocols (101) on a request that asked for no upgrade")
		case resp.StatusCode >= 100 && resp.StatusCode < 200:
			continue
		}
		return resp, nil
	}
}

// finish ends an exchange: the connection goes back to the idle list if the call was not
// cancelled (stop reports that the cancel hook never ran), both sides keep it open, and no
// unread byte follows the response; otherwise it is closed.
func (c *conn) finish(stop func() bool, keep bool) {
	if stop() && keep && c.br.Buffered() == 0 {
		c.t.putIdle(c)
		return
	}
	c.close()
}

// body is a response body read straight from the connection.
type body struct {
	rc       io.ReadCloser // http.ReadResponse's body: framing (length, chunks, trailers)
	c        *conn
	ctx      context.Context
	stop     func() bool
	keep     bool
	finished atomic.Bool
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	switch {
	case err == io.EOF:
		b.end(true)
	case err != nil:
		b.end(false)
		if b.ctx.Err() != nil {
			err = b.ctx.Err() // the call was cancelled: say so, not "i/o timeout"
		}
	}
	return n, err
}

// Close ends the body. Before its end, that closes the connection: the rest of a long stream
// is not worth waiting for. It returns nil, as the Transport's response bodies do: rc.Close
// drains what is left of the body, and on the connection just closed that can only fail
// ("use of closed network connection"), an error about the shortcut, not about the response.
func (b *body) Close() error {
	b.end(false)
	_ = b.rc.Close() // still called: later Reads then fail with http.ErrBodyReadAfterClose
	return nil
}

// end finishes the exchange once; clean reports that the body was read to its end.
func (b *body) end(clean bool) {
	if !b.finished.CompareAndSwap(false, true) {
		return
	}
	if clean {
		b.c.finish(b.stop, b.keep)
		return
	}
	b.stop()
	b.c.close() // first: a Read blocked on it returns, and Close's drain ends at once
}
