package clocktest_test

import (
	"testing"
	"time"

	"github.com/passthru/gateway/shared/clocktest"
)

// The clock starts at Start, stands still, and moves by exactly what Advance adds.
func TestManual(t *testing.T) {
	c := clocktest.New()
	if got := c.Now(); !got.Equal(clocktest.Start) {
		t.Fatalf("Now = %v, want %v", got, clocktest.Start)
	}
	time.Sleep(2 * time.Millisecond)
	if got := c.Now(); !got.Equal(clocktest.Start) {
		t.Fatalf("Now after a real sleep = %v, want %v (a manual clock stands still)", got, clocktest.Start)
	}
	c.Advance(90 * time.Second)
	if got, want := c.Now(), clocktest.Start.Add(90*time.Second); !got.Equal(want) {
		t.Fatalf("Now after Advance(90s) = %v, want %v", got, want)
	}
}
