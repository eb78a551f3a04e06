//go:build linux || darwin

package upstream

import "syscall"

// canProbe: this platform can peek at a socket without blocking.
const canProbe = true

// alive reports whether an idle connection can still carry a request: the upstream has not
// closed it (EOF), reset it, or sent anything unasked since the last response. It peeks at
// the socket without blocking: one system call, where net/http keeps a goroutine reading every
// idle connection. Over TLS it first asks the TLS layer, which may hold bytes it has already
// taken off the socket (quiet). Only connections with nothing buffered and a socket to peek at
// are pooled (finish, putIdle).
func (c *conn) alive() bool {
	if c.tls != nil && !c.quiet() {
		return false
	}
	if c.peek == nil { // built once per connection: a closure per call cost three allocations
		c.peek = func(fd uintptr) bool {
			_, _, err := syscall.Recvfrom(int(fd), c.peekBuf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			c.peekLive = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK // nothing to read: still open
			return true
		}
	}
	c.peekLive = false
	err := c.raw.Read(c.peek)
	return err == nil && c.peekLive
}
