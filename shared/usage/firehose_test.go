//go:build !noawsbackends

package usage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"
)

// fakeFirehose records the data of every PutRecordBatch call and answers with respond (all
// delivered when nil).
type fakeFirehose struct {
	mu      sync.Mutex
	calls   [][]string
	respond func(call int, data []string) (*firehose.PutRecordBatchOutput, error)
}

func (f *fakeFirehose) PutRecordBatch(_ context.Context, in *firehose.PutRecordBatchInput, _ ...func(*firehose.Options)) (*firehose.PutRecordBatchOutput, error) {
	if aws.ToString(in.DeliveryStreamName) != "usage" {
		return nil, fmt.Errorf("stream %q", aws.ToString(in.DeliveryStreamName))
	}
	data := make([]string, len(in.Records))
	for i, r := range in.Records {
		data[i] = string(r.Data)
	}
	f.mu.Lock()
	call := len(f.calls)
	f.calls = append(f.calls, data)
	f.mu.Unlock()
	if f.respond == nil {
		return answer(len(data)), nil
	}
	return f.respond(call, data)
}

// answer is a PutRecordBatch response for n records where the entries at failed carry an
// error code.
func answer(n int, failed ...int) *firehose.PutRecordBatchOutput {
	out := &firehose.PutRecordBatchOutput{FailedPutCount: aws.Int32(int32(len(failed)))}
	for i := range n {
		if slices.Contains(failed, i) {
			code := []string{"ServiceUnavailableException", "InternalFailure"}[i%2]
			out.RequestResponses = append(out.RequestResponses, types.PutRecordBatchResponseEntry{
				ErrorCode: aws.String(code), ErrorMessage: aws.String("slow down"),
			})
		} else {
			out.RequestResponses = append(out.RequestResponses, types.PutRecordBatchResponseEntry{
				RecordId: aws.String(fmt.Sprintf("id-%d", i)),
			})
		}
	}
	return out
}

// sleeps records the backoff waits instead of waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) option() FirehoseOption {
	return WithSleep(func(ctx context.Context, d time.Duration) error {
		s.mu.Lock()
		s.d = append(s.d, d)
		s.mu.Unlock()
		return ctx.Err()
	})
}

func rec(i int) Record {
	r := fullRecord()
	r.CallID = fmt.Sprintf("call-%04d", i)
	return r
}

// line is what the sink sends for r: its JSON and a newline.
func line(t testing.TB, r Record) string {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

func lines(t testing.TB, idx ...int) []string {
	out := make([]string, len(idx))
	for i, n := range idx {
		out[i] = line(t, rec(n))
	}
	return out
}

func fallbackOf(t testing.TB, idx ...int) string {
	var b strings.Builder
	for _, l := range lines(t, idx...) {
		b.WriteString(undelivered(l))
	}
	return b.String()
}

// undelivered is the fallback line of a record whose JSON line is l, built independently of
// appendUndeliveredLine: the marker member, then the record's members.
func undelivered(l string) string {
	return `{"marker":"USAGE_RECORD_UNDELIVERED",` + strings.TrimPrefix(l, "{")
}

func recordN(f *Firehose, n int) {
	for i := range n {
		f.Record(context.Background(), rec(i))
	}
}

func checkCalls(t *testing.T, api *fakeFirehose, want ...[]string) {
	t.Helper()
	if len(api.calls) != len(want) {
		t.Fatalf("%d PutRecordBatch calls, want %d", len(api.calls), len(want))
	}
	for i := range want {
		if !slices.Equal(api.calls[i], want[i]) {
			t.Errorf("call %d sent\n%q\nwant\n%q", i+1, api.calls[i], want[i])
		}
	}
}

func TestFirehoseResendsOnlyFailedEntries(t *testing.T) {
	api := &fakeFirehose{respond: func(call int, data []string) (*firehose.PutRecordBatchOutput, error) {
		switch call {
		case 0:
			return answer(len(data), 1, 3, 4), nil
		case 1:
			return answer(len(data), 2), nil // record 4 fails again
		}
		return answer(len(data)), nil
	}}
	var fallback bytes.Buffer
	var s sleeps
	f := NewFirehose(api, "usage", &fallback, s.option())
	recordN(f, 5)
	if err := f.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkCalls(t, api, lines(t, 0, 1, 2, 3, 4), lines(t, 1, 3, 4), lines(t, 4))
	if !slices.Equal(s.d, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}) {
		t.Errorf("backoff %v, want 100ms then 200ms", s.d)
	}
	if fallback.Len() != 0 {
		t.Errorf("fallback %q", fallback.String())
	}
}

type codedError string

func (e codedError) Error() string     { return "api error " + string(e) }
func (e codedError) ErrorCode() string { return string(e) }

type statusError int

func (e statusError) Error() string       { return fmt.Sprintf("http %d", int(e)) }
func (e statusError) HTTPStatusCode() int { return int(e) }

func TestFirehoseRetriesWholeCallOnRetryableErrors(t *testing.T) {
	for name, callErr := range map[string]error{
		"throttled":        &types.ServiceUnavailableException{Message: aws.String("Slow down.")},
		"throttling code":  codedError("ThrottlingException"),
		"internal failure": codedError("InternalFailure"),
		"connection reset": &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")},
		"dial":             fmt.Errorf("send request: %w", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("refused")}),
		"HTTP 503":         statusError(503),
	} {
		t.Run(name, func(t *testing.T) {
			api := &fakeFirehose{respond: func(call int, data []string) (*firehose.PutRecordBatchOutput, error) {
				if call == 0 {
					return nil, callErr
				}
				return answer(len(data)), nil
			}}
			var fallback bytes.Buffer
			var s sleeps
			f := NewFirehose(api, "usage", &fallback, s.option())
			recordN(f, 3)
			if err := f.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			checkCalls(t, api, lines(t, 0, 1, 2), lines(t, 0, 1, 2))
			if !slices.Equal(s.d, []time.Duration{100 * time.Millisecond}) || fallback.Len() != 0 {
				t.Errorf("backoff %v, fallback %q", s.d, fallback.String())
			}
		})
	}
}

func TestFirehoseDoesNotRetryPermanentErrors(t *testing.T) {
	for name, callErr := range map[string]error{
		"no stream":     &types.ResourceNotFoundException{Message: aws.String("Firehose usage not found")},
		"access denied": codedError("AccessDeniedException"),
		"invalid":       &types.InvalidArgumentException{},
		"cancelled":     fmt.Errorf("operation error: %w", context.Canceled),
		"HTTP 400":      statusError(400),
	} {
		t.Run(name, func(t *testing.T) {
			api := &fakeFirehose{respond: func(int, []string) (*firehose.PutRecordBatchOutput, error) { return nil, callErr }}
			var fallback bytes.Buffer
			var s sleeps
			f := NewFirehose(api, "usage", &fallback, s.option())
			recordN(f, 2)
			err := f.Flush(context.Background())
			if !errors.Is(err, callErr) || !strings.Contains(err.Error(), "2 of 2 usage records undelivered") {
				t.Errorf("Flush error %v", err)
			}
			checkCalls(t, api, lines(t, 0, 1))
			if len(s.d) != 0 {
				t.Errorf("backoff %v for a permanent error", s.d)
			}
			if got, want := fallback.String(), fallbackOf(t, 0, 1); got != want {
				t.Errorf("fallback\n%q\nwant\n%q", got, want)
			}
		})
	}
}

func TestFirehoseFallbackAfterRetryBudget(t *testing.T) {
	api := &fakeFirehose{respond: func(call int, data []string) (*firehose.PutRecordBatchOutput, error) {
		if call == 0 {
			return answer(len(data), 0, 2), nil
		}
		return answer(len(data), 0, 1), nil // records 0 and 2 keep failing
	}}
	var fallback bytes.Buffer
	var s sleeps
	f := NewFirehose(api, "usage", &fallback, s.option())
	recordN(f, 4)
	err := f.Flush(context.Background())
	if err == nil || !strings.Contains(err.Error(), "2 of 4 usage records undelivered") || !strings.Contains(err.Error(), "ServiceUnavailableException") {
		t.Errorf("Flush error %v", err)
	}
	checkCalls(t, api, lines(t, 0, 1, 2, 3), lines(t, 0, 2), lines(t, 0, 2))
	want := undelivered(line(t, rec(0))) + undelivered(line(t, rec(2)))
	if fallback.String() != want {
		t.Errorf("fallback\n%q\nwant\n%q", fallback.String(), want)
	}
	if !strings.HasPrefix(fallback.String(), `{"marker":"USAGE_RECORD_UNDELIVERED","schema_version":1,"call_id":"call-0000",`) {
		t.Errorf("fallback line format: %q", fallback.String())
	}
	if !slices.Equal(s.d, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}) {
		t.Errorf("backoff %v", s.d)
	}
}

func TestFirehoseThrottledUntilBudget(t *testing.T) {
	api := &fakeFirehose{respond: func(int, []string) (*firehose.PutRecordBatchOutput, error) {
		return nil, &types.ServiceUnavailableException{Message: aws.String("Slow down.")}
	}}
	var fallback bytes.Buffer
	var s sleeps
	f := NewFirehose(api, "usage", &fallback, s.option(), WithMaxAttempts(4), WithBackoff(10*time.Millisecond))
	recordN(f, 3)
	var throttled *types.ServiceUnavailableException
	if err := f.Flush(context.Background()); !errors.As(err, &throttled) {
		t.Errorf("Flush error %v", err)
	}
	all := lines(t, 0, 1, 2)
	checkCalls(t, api, all, all, all, all)
	if !slices.Equal(s.d, []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond}) {
		t.Errorf("backoff %v", s.d)
	}
	if got, want := fallback.String(), fallbackOf(t, 0, 1, 2); got != want {
		t.Errorf("fallback\n%q\nwant\n%q", got, want)
	}
}

func TestFirehoseSuccessDeliversEachRecordOnce(t *testing.T) {
	api := &fakeFirehose{}
	var fallback bytes.Buffer
	var s sleeps
	f := NewFirehose(api, "usage", &fallback, s.option())
	const n = 1200
	var wg sync.WaitGroup
	for g := range 12 {
		wg.Go(func() {
			for i := range n / 12 {
				f.Record(context.Background(), rec(g*(n/12)+i))
			}
		})
	}
	wg.Wait()
	if err := f.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := f.Flush(context.Background()); err != nil { // nothing left: no call
		t.Fatal(err)
	}
	var sizes []int
	seen := map[string]int{}
	for _, call := range api.calls {
		sizes = append(sizes, len(call))
		for _, d := range call {
			seen[d]++
		}
	}
	if !slices.Equal(sizes, []int{500, 500, 200}) {
		t.Errorf("batch sizes %v, want [500 500 200]", sizes)
	}
	for i := range n {
		if c := seen[line(t, rec(i))]; c != 1 {
			t.Errorf("record %d delivered %d times", i, c)
		}
	}
	if len(seen) != n || fallback.Len() != 0 || len(s.d) != 0 {
		t.Errorf("%d distinct records, fallback %d bytes, backoff %v", len(seen), fallback.Len(), s.d)
	}
}

// padded is a record whose line (JSON and newline) is exactly size bytes.
func padded(t testing.TB, i, size int) Record {
	r := rec(i)
	r.Tags = []string{""}
	pad := size - len(line(t, r))
	if pad < 0 {
		t.Fatalf("size %d below the record's own %d", size, size-pad)
	}
	r.Tags = []string{strings.Repeat("x", pad)}
	if got := len(line(t, r)); got != size {
		t.Fatalf("padded line is %d bytes, want %d", got, size)
	}
	return r
}

func TestFirehoseBatchBoundedBy4MiB(t *testing.T) {
	api := &fakeFirehose{}
	var fallback bytes.Buffer
	f := NewFirehose(api, "usage", &fallback)
	// Four records at Firehose's 1,000 KiB limit and one of 96 KiB fill a call to exactly
	// 4 MiB. Then one record of 1,000 KiB and eight of 600 KiB: 1,000 + 5 × 600 KiB fit, a
	// sixth 600 KiB record would not, so the last three make a third call.
	sizes := []int{1000 << 10, 1000 << 10, 1000 << 10, 1000 << 10, 4<<20 - 4*(1000<<10), 1000 << 10}
	for range 8 {
		sizes = append(sizes, 600<<10)
	}
	var want []string
	for i, size := range sizes {
		r := padded(t, i, size)
		f.Record(context.Background(), r)
		want = append(want, line(t, r))
	}
	if err := f.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var bytesPerCall, counts []int
	var got []string
	for _, call := range api.calls {
		size := 0
		for _, d := range call {
			size += len(d)
		}
		bytesPerCall, counts = append(bytesPerCall, size), append(counts, len(call))
		got = append(got, call...)
	}
	if !slices.Equal(counts, []int{5, 6, 3}) {
		t.Errorf("records per call %v (bytes %v), want [5 6 3]", counts, bytesPerCall)
	}
	if len(bytesPerCall) == 3 && (bytesPerCall[0] != 4<<20 || bytesPerCall[1] != 4000<<10) {
		t.Errorf("bytes per call %v, want 4 MiB (full) then 4,000 KiB", bytesPerCall)
	}
	if fallback.Len() != 0 {
		t.Errorf("fallback %d bytes", fallback.Len())
	}
	if !slices.Equal(got, want) {
		t.Error("records not delivered once each, in order")
	}
}

func TestFirehoseOversizeRecordGoesToFallback(t *testing.T) {
	api := &fakeFirehose{}
	var fallback bytes.Buffer
	var reported []error
	f := NewFirehose(api, "usage", &fallback, WithErrorHandler(func(err error) { reported = append(reported, err) }))
	fits, big := padded(t, 0, 1000<<10), padded(t, 1, 1000<<10+1) // 1,000 KiB is Firehose's limit
	f.Record(context.Background(), fits)
	f.Record(context.Background(), big)
	if got, want := fallback.String(), undelivered(line(t, big)); got != want {
		t.Errorf("fallback has %d bytes, want the oversized record (%d bytes) with the marker", len(got), len(want))
	}
	if len(reported) != 1 || !strings.Contains(reported[0].Error(), "call-0001") {
		t.Errorf("reported %v", reported)
	}
	if err := f.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkCalls(t, api, []string{line(t, fits)})
}

func TestFirehoseContextEndsDuringBackoff(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	api := &fakeFirehose{respond: func(_ int, data []string) (*firehose.PutRecordBatchOutput, error) {
		return answer(len(data), 1), nil
	}}
	var fallback bytes.Buffer
	f := NewFirehose(api, "usage", &fallback, WithSleep(func(ctx context.Context, _ time.Duration) error {
		cancel()
		return ctx.Err()
	}))
	recordN(f, 3)
	if err := f.Flush(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Flush error %v", err)
	}
	checkCalls(t, api, lines(t, 0, 1, 2))
	if got, want := fallback.String(), fallbackOf(t, 1); got != want {
		t.Errorf("fallback\n%q\nwant\n%q", got, want)
	}
}

func TestFirehoseFlushWithEndedContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	api := &fakeFirehose{}
	var fallback bytes.Buffer
	f := NewFirehose(api, "usage", &fallback)
	recordN(f, 501)
	if err := f.Flush(ctx); !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "501 of 501") {
		t.Errorf("Flush error %v", err)
	}
	checkCalls(t, api)
	idx := make([]int, 501)
	for i := range idx {
		idx[i] = i
	}
	if got, want := fallback.String(), fallbackOf(t, idx...); got != want {
		t.Error("every record must be on the fallback, in order")
	}
}

func TestFirehoseMissingResponseEntriesAreResent(t *testing.T) {
	api := &fakeFirehose{respond: func(call int, data []string) (*firehose.PutRecordBatchOutput, error) {
		if call == 0 { // says one failed but answers for the first two records only
			out := answer(2)
			out.FailedPutCount = aws.Int32(1)
			return out, nil
		}
		return answer(len(data)), nil
	}}
	var fallback bytes.Buffer
	var s sleeps
	f := NewFirehose(api, "usage", &fallback, s.option())
	recordN(f, 3)
	if err := f.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkCalls(t, api, lines(t, 0, 1, 2), lines(t, 2))
}

func TestFirehoseDefaultSleepWaits(t *testing.T) {
	calls := 0
	api := &fakeFirehose{respond: func(_ int, data []string) (*firehose.PutRecordBatchOutput, error) {
		calls++
		if calls == 1 {
			return nil, codedError("ServiceUnavailableException")
		}
		return answer(len(data)), nil
	}}
	f := NewFirehose(api, "usage", &bytes.Buffer{}, WithBackoff(20*time.Millisecond))
	recordN(f, 1)
	start := time.Now()
	if err := f.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Errorf("retried after %v, want the 20 ms backoff", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sleepContext(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("sleep on an ended context: %v", err)
	}
}

func TestFirehoseConcurrentRecordAndFlush(t *testing.T) {
	api := &fakeFirehose{respond: func(call int, data []string) (*firehose.PutRecordBatchOutput, error) {
		if call%3 == 0 && len(data) > 1 {
			return answer(len(data), 0), nil
		}
		return answer(len(data)), nil
	}}
	var fallback bytes.Buffer
	f := NewFirehose(api, "usage", &fallback, WithSleep(func(context.Context, time.Duration) error { return nil }))
	const writers, each = 8, 200
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range each {
				f.Record(context.Background(), rec(g*each+i))
			}
		})
	}
	done := make(chan struct{})
	flushed := make(chan struct{})
	go func() {
		defer close(flushed)
		for {
			select {
			case <-done:
				return
			default:
				if err := f.Flush(context.Background()); err != nil {
					t.Error(err)
				}
			}
		}
	}()
	wg.Wait()
	close(done)
	<-flushed
	if err := f.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A record that failed once is sent twice (once failed); count deliveries, not sends.
	delivered := map[string]int{}
	for i, call := range api.calls {
		for j, d := range call {
			if !(i%3 == 0 && len(call) > 1 && j == 0) {
				delivered[d]++
			}
		}
	}
	for i := range writers * each {
		if c := delivered[line(t, rec(i))]; c != 1 {
			t.Fatalf("record %d delivered %d times", i, c)
		}
	}
	if fallback.Len() != 0 {
		t.Errorf("fallback %d bytes", fallback.Len())
	}
}

func BenchmarkFirehoseRecord(b *testing.B) {
	f := NewFirehose(&fakeFirehose{}, "usage", &bytes.Buffer{})
	r := fullRecord()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		f.Record(ctx, r)
		if len(f.pending) == 500 {
			f.pending = f.pending[:0]
		}
	}
}

// BenchmarkFirehoseFlush500 is one full batch through a client that answers at once.
func BenchmarkFirehoseFlush500(b *testing.B) {
	api := &fakeFirehose{}
	f := NewFirehose(api, "usage", &bytes.Buffer{})
	r := fullRecord()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		for range 500 {
			f.Record(ctx, r)
		}
		if err := f.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		api.calls = api.calls[:0]
	}
}
