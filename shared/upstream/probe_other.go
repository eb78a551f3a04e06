//go:build !linux && !darwin

package upstream

// alive reports whether an idle connection can still carry a request. Without a
// non-blocking peek here, only bytes already buffered say no; a connection the upstream
// closed fails the call's first read, and is retried as net/http retries (see retryable).
func (c *conn) alive() bool { return c.br.Buffered() == 0 }
