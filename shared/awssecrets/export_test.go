package awssecrets

import "context"

// WaitRefresh waits until the background refreshes in flight have finished, so tests can
// observe their outcome.
func (r *Resolver) WaitRefresh() { r.background.Wait(context.Background()) }
