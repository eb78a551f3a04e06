//go:build linux || darwin

package upstream

import "syscall"

// alive reports whether an idle connection can still carry a request: the upstream has not
// closed it (EOF), reset it, or sent anything unasked since the last response. It peeks at
// the socket without blocking: one system call, where net/http keeps a goroutine reading every
// idle connection.
func (c *conn) alive() bool {
	if c.br.Buffered() > 0 {
		return false
	}
	if c.raw == nil {
		return true
	}
	live := false
	var b [1]byte
	err := c.raw.Read(func(fd uintptr) bool {
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		live = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK // nothing to read: still open
		return true
	})
	return err == nil && live
}
