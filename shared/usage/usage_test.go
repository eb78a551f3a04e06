package usage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestJSONLinesOneRecordPerLine(t *testing.T) {
	var buf bytes.Buffer
	sink := NewJSONLines(&buf, nil)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sink.Record(context.Background(), Record{CallID: "c", Status: 200 + i, Time: time.Unix(0, 0)})
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 50 {
		t.Fatalf("%d lines, want 50", len(lines))
	}
	for _, l := range lines {
		var r Record
		if err := json.Unmarshal([]byte(l), &r); err != nil || r.CallID != "c" {
			t.Fatalf("line %q: %v", l, err)
		}
	}
	if !strings.Contains(lines[0], `"cost_usd":null`) {
		t.Errorf("unknown cost must be null, not 0 or absent: %s", lines[0])
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestJSONLinesReportsWriteErrors(t *testing.T) {
	var got error
	NewJSONLines(failingWriter{}, func(err error) { got = err }).Record(context.Background(), Record{CallID: "abc"})
	if got == nil || !strings.Contains(got.Error(), "abc") || !strings.Contains(got.Error(), "disk full") {
		t.Errorf("error = %v", got)
	}
}
