package proxy

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"math"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func gz(t *testing.T, level int, p []byte) []byte {
	var b bytes.Buffer
	zw, err := gzip.NewWriterLevel(&b, level)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = zw.Write(p)
	_ = zw.Close()
	return b.Bytes()
}

// TestStackedCodingsRefused: each layer may decode up to the limit, so "gzip, gzip, ..." over
// stored (level 0) layers would multiply the work from a request of a few KB. At most two
// different codings are undone; more, or one repeated, is a 415 before anything is decoded.
func TestStackedCodingsRefused(t *testing.T) {
	const layers = 24
	d := []byte(`{"a":"` + strings.Repeat("0", 1<<20) + `"}`)
	for i := 0; i < layers; i++ {
		d = gz(t, gzip.NoCompression, d)
	}
	body := gz(t, flate.BestCompression, d)
	many := make([]string, layers+1)
	for i := range many {
		many[i] = "gzip"
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for _, codings := range [][]string{many, {"gzip", "gzip", "gzip"}, {"gzip", "gzip"}, {"deflate", "gzip", "deflate"}} {
		_, err := decodeRequestBody(body, codings, "pii")
		var be *guardBodyError
		if !errors.As(err, &be) || be.status != 415 || be.reason != "stacked Content-Encoding cannot be inspected" ||
			!strings.Contains(be.message, "Guardrail pii cannot inspect a request body with Content-Encoding gzip") && !strings.Contains(be.message, "Content-Encoding deflate, gzip") {
			t.Errorf("%d codings %v: err %v, want the 415 for stacked codings", len(codings), codings[:min(3, len(codings))], err)
		}
	}
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Errorf("refusing stacked codings allocated %d KiB: it decoded something", alloc>>10)
	}
	// Two different codings are undone, the last applied first.
	inner := []byte(`{"q":"two layers"}`)
	var zb bytes.Buffer
	zw := zlib.NewWriter(&zb)
	_, _ = zw.Write(inner)
	_ = zw.Close()
	got, err := decodeRequestBody(gz(t, gzip.DefaultCompression, zb.Bytes()), []string{"deflate", "gzip"}, "pii")
	if err != nil || !bytes.Equal(got, inner) {
		t.Errorf("deflate then gzip: got %q, %v; want %q", got, err, inner)
	}
}

// TestDecodeLimitFollowsTheMemoryLimit: with a soft memory limit (on Lambda 3/4 of the function's
// memory) a compressed body decodes to at most an eighth of it, never more than maxGuardBody,
// never less than 1 MiB.
func TestDecodeLimitFollowsTheMemoryLimit(t *testing.T) {
	old := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(old) })
	for _, tc := range []struct {
		soft int64
		want int
	}{
		{math.MaxInt64, maxGuardBody},
		{96 << 20, 12 << 20},  // 128 MB function
		{192 << 20, 24 << 20}, // 256 MB
		{1 << 30, maxGuardBody},
		{4 << 20, 1 << 20},
	} {
		debug.SetMemoryLimit(tc.soft)
		if got := decodeLimit(); got != tc.want {
			t.Errorf("soft limit %d MiB: decode limit %d, want %d", tc.soft>>20, got, tc.want)
		}
	}
}
