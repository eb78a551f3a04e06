package usage

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a file stand-in that counts its writes.
type lockedBuffer struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
	err    error
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return 0, l.err
	}
	l.writes++
	return l.buf.Write(p)
}

func (l *lockedBuffer) state() (string, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String(), l.writes
}

// Records written together reach the file in one write, within the interval, without Close.
func TestFlushWriterFlushesOnATimer(t *testing.T) {
	file := &lockedBuffer{}
	fw := NewFlushWriter(file, 20*time.Millisecond, nil)
	defer fw.Close()
	for _, line := range []string{"one\n", "two\n", "three\n"} {
		if _, err := fw.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := file.state(); got != "" {
		t.Fatalf("file holds %q before the interval, want the records still buffered", got)
	}
	deadline := time.Now().Add(5 * time.Second) // generous: a shared, loaded machine
	for {
		got, writes := file.state()
		if got == "one\ntwo\nthree\n" {
			if writes != 1 {
				t.Errorf("%d writes, want the three records in one", writes)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("file holds %q after 5s, want the three records", got)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The timer rearms for the next record.
	_, _ = fw.Write([]byte("four\n"))
	for got, _ := file.state(); !strings.HasSuffix(got, "four\n"); got, _ = file.state() {
		if time.Now().After(deadline) {
			t.Fatalf("file holds %q, want the fourth record flushed too", got)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Close writes what is buffered (no record is lost on shutdown), and later writes fail.
func TestFlushWriterCloseFlushes(t *testing.T) {
	file := &lockedBuffer{}
	fw := NewFlushWriter(file, time.Hour, nil)
	sink := NewJSONLines(fw, nil)
	r := fullRecord()
	for range 3 {
		sink.Record(t.Context(), r)
	}
	if got, _ := file.state(); got != "" {
		t.Fatalf("file holds %q before Close with an hour's interval", got)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	line := string(marshalLine(t, r))
	if got, _ := file.state(); got != line+line+line {
		t.Errorf("after Close the file holds %q, want the three records", got)
	}
	if _, err := fw.Write([]byte("late\n")); !errors.Is(err, errClosed) {
		t.Errorf("write after Close: %v, want errClosed", err)
	}
}

// A failed timed flush is reported; a failed Close returns it.
func TestFlushWriterReportsFlushErrors(t *testing.T) {
	file := &lockedBuffer{err: errors.New("disk full")}
	reported := make(chan error, 1)
	fw := NewFlushWriter(file, time.Millisecond, func(err error) {
		select {
		case reported <- err:
		default:
		}
	})
	_, _ = fw.Write([]byte("x\n"))
	select {
	case err := <-reported:
		if !strings.Contains(err.Error(), "disk full") {
			t.Errorf("reported %v, want the write error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the failed timed flush was not reported")
	}
	if err := fw.Close(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Close = %v, want the write error", err)
	}
}
