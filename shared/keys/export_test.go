package keys

import "context"

// WaitRefresh waits until the background reads in flight have finished, so tests can observe
// their outcome.
func (v *Verifier) WaitRefresh() { v.background.Wait(context.Background()) }
