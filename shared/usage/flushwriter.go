package usage

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// DefaultFlushInterval is how long a usage record may wait in a FlushWriter's buffer.
const DefaultFlushInterval = 200 * time.Millisecond

// FlushWriter buffers writes to w (a usage file) and flushes them interval after the first write
// that found the buffer empty, when the buffer fills, and on Close: a busy gateway makes one
// write system call per bufferful rather than one per call, and a record reaches the file within
// interval. Close must run on shutdown (the local gateway's SIGTERM path does), or the last
// interval's records are lost. Safe for concurrent use.
type FlushWriter struct {
	mu       sync.Mutex
	bw       *bufio.Writer
	interval time.Duration
	timer    *time.Timer
	armed    bool
	closed   bool
	onErr    func(error)
}

// NewFlushWriter buffers up to 64 KiB for w; onErr (may be nil) hears about a failed timed flush
// (a failed Write or Close returns its error).
func NewFlushWriter(w io.Writer, interval time.Duration, onErr func(error)) *FlushWriter {
	f := &FlushWriter{bw: bufio.NewWriterSize(w, 64<<10), interval: interval, onErr: onErr}
	f.timer = time.AfterFunc(time.Hour, f.timedFlush)
	f.timer.Stop()
	return f
}

// errClosed is what a write after Close returns.
var errClosed = errors.New("usage file closed")

func (f *FlushWriter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return 0, errClosed
	}
	n, err := f.bw.Write(p)
	if !f.armed && f.bw.Buffered() > 0 {
		f.armed = true
		f.timer.Reset(f.interval)
	}
	return n, err
}

func (f *FlushWriter) timedFlush() {
	f.mu.Lock()
	f.armed = false
	err := f.bw.Flush()
	f.mu.Unlock()
	if err != nil && f.onErr != nil {
		f.onErr(fmt.Errorf("flush usage records: %w", err))
	}
}

// Close flushes what is buffered and stops the timer; it does not close w.
func (f *FlushWriter) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.timer.Stop()
	f.closed, f.armed = true, false
	if err := f.bw.Flush(); err != nil {
		return fmt.Errorf("flush usage records: %w", err)
	}
	return nil
}
