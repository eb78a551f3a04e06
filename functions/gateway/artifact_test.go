package main

import (
	"archive/zip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The deployment artifact (linux/arm64 bootstrap, zipped as SAM uploads it) stays small: it is
// downloaded on every cold start.
func TestArtifactSize(t *testing.T) {
	const limit = 10 << 20
	dir := t.TempDir()
	bin := filepath.Join(dir, "bootstrap")
	if err := goBuild(bin, "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64"); err != nil {
		t.Fatal(err)
	}
	zipped := filepath.Join(dir, "gateway.zip")
	if err := zipFile(zipped, bin); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.Stat(bin)
	z, _ := os.Stat(zipped)
	t.Logf("bootstrap linux/arm64: %.1f MB, zipped: %.1f MB (limit 10 MB)", float64(raw.Size())/(1<<20), float64(z.Size())/(1<<20))
	if z.Size() > limit {
		t.Errorf("zipped artifact is %d bytes, over the %d limit", z.Size(), limit)
	}
}

func zipFile(out, path string) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "bootstrap", Method: zip.Deflate})
	if err != nil {
		return err
	}
	in, err := os.Open(path)
	if err != nil {
		return err
	}
	defer in.Close()
	if _, err := io.Copy(w, in); err != nil {
		return err
	}
	return zw.Close()
}

// BenchmarkColdStart measures process start to the first /next request of the runtime API:
// the function's own share of a cold start (config load, handler build, runtime init).
func BenchmarkColdStart(b *testing.B) {
	bin := buildBootstrap(b)
	up := httptest.NewServer(http.NotFoundHandler())
	defer up.Close()
	var took []time.Duration
	for b.Loop() {
		rt := &fakeRuntime{events: make(chan []byte), results: make(chan result, 1), firstNext: make(chan time.Time, 1), done: make(chan struct{})}
		mux := http.NewServeMux()
		mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", rt.next)
		srv := httptest.NewServer(mux)
		start := time.Now()
		cmd := startFunction(b, bin, strings.TrimPrefix(srv.URL, "http://"), up.URL)
		select {
		case at := <-rt.firstNext:
			took = append(took, at.Sub(start))
		case <-time.After(10 * time.Second):
			b.Fatal("the function never asked for an event")
		}
		_ = cmd.Process.Kill()
		close(rt.done)
		srv.Close()
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "ms-to-first-next(median)")
}
