//go:build !linux && !darwin

package upstream

// canProbe: there is no non-blocking peek here. Without one, a pooled connection the upstream
// has closed would be found dead only by the call that reuses it, and a POST cannot be sent
// again; so every call goes to net/http's Transport, whose read loop watches idle connections.
const canProbe = false

func (c *conn) alive() bool { return false }
