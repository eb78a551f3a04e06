package lambdahttp_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/passthru/gateway/shared/lambdahttp"
)

// The adapter's cost per invocation, in process: a Function URL event in, the streamed response
// read to the end, through the gateway to an upstream on loopback. BenchmarkDirectCall is the
// same upstream call made with a plain http.Client, for comparison.
func BenchmarkInvokeStreaming(b *testing.B) {
	benchmarkInvoke(b, lambdahttp.Options{}, "function-url-rerank.json")
}

func BenchmarkInvokeBuffered(b *testing.B) {
	benchmarkInvoke(b, lambdahttp.Options{RESTMode: lambdahttp.Buffered}, "rest-rerank.json")
}

func benchmarkInvoke(b *testing.B, opts lambdahttp.Options, event string) {
	up := startUpstream(b)
	defer up.Close()
	a := lambdahttp.New(gatewayFor(b, up.URL), opts)
	payload := fixture(b, event)
	b.ReportAllocs()
	for b.Loop() {
		var e lambdahttp.Event // decoded per invocation, as the runtime does
		if err := json.Unmarshal(payload, &e); err != nil {
			b.Fatal(err)
		}
		out, err := a.Invoke(context.Background(), e)
		if err != nil {
			b.Fatal(err)
		}
		if r, ok := out.(io.ReadCloser); ok {
			_, _ = io.Copy(io.Discard, r)
			r.Close()
		}
	}
}

func BenchmarkDirectCall(b *testing.B) {
	up := startUpstream(b)
	defer up.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	body := `{"model":"rerank-english-v3.0","query":"What is the capital of the United States?","top_n":2,"documents":["Carson City is the capital city of Nevada.","Washington, D.C. is the capital of the United States."]}`
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest("POST", up.URL+"/v1/rerank", strings.NewReader(body))
		req.Header.Set("Authorization", "bearer co-xyz")
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}
