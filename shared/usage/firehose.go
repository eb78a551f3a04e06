//go:build !noawsbackends

package usage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"
)

// FirehoseAPI is the part of the Firehose client the sink uses (*firehose.Client).
type FirehoseAPI interface {
	PutRecordBatch(ctx context.Context, params *firehose.PutRecordBatchInput, optFns ...func(*firehose.Options)) (*firehose.PutRecordBatchOutput, error)
}

// appendUndeliveredLine appends the fallback line of one record, whose JSON (as buffered: an
// object plus '\n') is rec: the marker member is spliced in before the record's own members.
func appendUndeliveredLine(dst, rec []byte) []byte {
	dst = append(dst, undeliveredPrefix...)
	body := rec[1:] // rec starts with '{': json.Marshal of a struct
	if len(body) > 0 && body[0] != '}' {
		dst = append(dst, ',')
	}
	return append(dst, body...)
}

// PutRecordBatch limits, which "cannot be changed". The 4 MiB bound is applied to the records'
// data (newline included) before base64, as is the 1,000 KiB one.
const (
	firehoseMaxBatchRecords = 500
	firehoseMaxBatchBytes   = 4 << 20
	firehoseMaxRecordBytes  = 1000 << 10
)

// Firehose buffers usage records and sends them to a Firehose stream with PutRecordBatch when
// Flush is called, which on Lambda must happen before the invocation ends (the sandbox freezes
// after it). Each record is its JSON plus '\n', so the S3 objects are JSON lines.
//
// Only the entries Firehose reports as failed are resent (and a whole batch when the call
// itself failed with a throttling, server or network error), with exponential backoff. What is
// still undelivered after the last attempt, and any record larger than Firehose accepts, is
// written to the fallback writer as one UndeliveredMarker line each. A record is never resent
// after Firehose acknowledged it; a call that fails after Firehose stored its records (a
// timeout on the response) can still deliver them twice, which call_id identifies.
//
// Record and Flush are safe for concurrent use.
type Firehose struct {
	api      FirehoseAPI
	stream   string
	fallback io.Writer
	attempts int
	backoff  time.Duration
	sleep    func(context.Context, time.Duration) error
	onErr    func(error)

	mu      sync.Mutex
	pending [][]byte // JSON + '\n' each

	fallbackMu sync.Mutex
}

// FirehoseOption configures NewFirehose.
type FirehoseOption func(*Firehose)

// WithMaxAttempts sets how many times a record is offered to Firehose in all, the first call
// included (default 3, minimum 1).
func WithMaxAttempts(n int) FirehoseOption {
	return func(f *Firehose) { f.attempts = max(n, 1) }
}

// WithBackoff sets the wait before the first retry (default 100 ms); it doubles for each
// further retry, up to 1,024 times base.
func WithBackoff(base time.Duration) FirehoseOption {
	return func(f *Firehose) { f.backoff = max(base, 0) }
}

// WithSleep replaces the backoff wait (tests). sleep returns an error when ctx ends first.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) FirehoseOption {
	return func(f *Firehose) { f.sleep = sleep }
}

// WithErrorHandler sets a function that hears about what Record cannot buffer (a record that
// cannot be encoded, one too large for Firehose) and fallback write failures.
func WithErrorHandler(onErr func(error)) FirehoseOption {
	return func(f *Firehose) { f.onErr = onErr }
}

// NewFirehose sends records to the Firehose stream named stream through api; undeliverable
// records go to fallback (os.Stdout on Lambda).
func NewFirehose(api FirehoseAPI, stream string, fallback io.Writer, opts ...FirehoseOption) *Firehose {
	f := &Firehose{
		api:      api,
		stream:   stream,
		fallback: fallback,
		attempts: 3,
		backoff:  100 * time.Millisecond,
		sleep:    sleepContext,
	}
	for _, o := range opts {
		o(f)
	}
	return f
}

// Record implements the proxy's usage sink: it only buffers r until the next Flush.
func (f *Firehose) Record(_ context.Context, r Record) {
	b, err := json.Marshal(r)
	if err != nil {
		f.report(fmt.Errorf("encode usage record %s: %w", r.CallID, err))
		return
	}
	b = append(b, '\n')
	if len(b) > firehoseMaxRecordBytes {
		f.report(fmt.Errorf("usage record %s is %d bytes, more than Firehose's %d: written to the fallback",
			r.CallID, len(b), firehoseMaxRecordBytes))
		if err := f.writeFallback([][]byte{b}); err != nil {
			f.report(err)
		}
		return
	}
	f.mu.Lock()
	f.pending = append(f.pending, b)
	f.mu.Unlock()
}

// Flush sends every buffered record, in batches of at most 500 records and 4 MiB. It returns
// an error when some records could not be delivered; those are on the fallback writer by then.
func (f *Firehose) Flush(ctx context.Context) error {
	f.mu.Lock()
	recs := f.pending
	f.pending = nil
	f.mu.Unlock()

	total := len(recs)
	var undelivered [][]byte
	var errs []error
	for len(recs) > 0 {
		n, size := 0, 0
		for n < len(recs) && n < firehoseMaxBatchRecords && size+len(recs[n]) <= firehoseMaxBatchBytes {
			size += len(recs[n])
			n++
		}
		left, err := f.send(ctx, recs[:n])
		undelivered = append(undelivered, left...)
		if err != nil {
			errs = append(errs, err)
		}
		recs = recs[n:]
	}
	if len(undelivered) == 0 {
		return nil
	}
	return &UndeliveredError{Stream: f.stream, Undelivered: len(undelivered), Total: total,
		Err: errors.Join(errors.Join(errs...), f.writeFallback(undelivered))}
}

// UndeliveredError is Flush's error: how many of the flushed records Firehose did not take (they
// went to the fallback writer) and why. It never holds a record.
type UndeliveredError struct {
	Stream             string
	Undelivered, Total int
	Err                error
}

func (e *UndeliveredError) Error() string {
	return fmt.Sprintf("firehose %s: %d of %d usage records undelivered, written to the fallback: %v",
		e.Stream, e.Undelivered, e.Total, e.Err)
}

func (e *UndeliveredError) Unwrap() error { return e.Err }

// send offers batch to Firehose up to f.attempts times and returns what was not delivered.
func (f *Firehose) send(ctx context.Context, batch [][]byte) ([][]byte, error) {
	pending := batch
	var lastErr error
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return pending, errors.Join(lastErr, err)
		}
		in := &firehose.PutRecordBatchInput{
			DeliveryStreamName: aws.String(f.stream),
			Records:            make([]types.Record, len(pending)),
		}
		for i, b := range pending {
			in.Records[i].Data = b
		}
		out, err := f.api.PutRecordBatch(ctx, in)
		switch {
		case err != nil:
			lastErr = err
			if !retryableFirehoseError(ctx, err) {
				return pending, lastErr
			}
		default:
			failed, ferr := failedRecords(pending, out)
			if len(failed) == 0 {
				return nil, nil
			}
			pending, lastErr = failed, ferr
		}
		if attempt >= f.attempts {
			return pending, lastErr
		}
		if err := f.sleep(ctx, f.backoff<<min(attempt-1, 10)); err != nil {
			return pending, errors.Join(lastErr, err)
		}
	}
}

// failedRecords returns the records of sent whose response entry carries an error code. An
// entry missing from a response that admits failures counts as failed; a response reporting
// no failure delivered everything.
func failedRecords(sent [][]byte, out *firehose.PutRecordBatchOutput) ([][]byte, error) {
	if out == nil {
		return sent, errors.New("PutRecordBatch returned no output")
	}
	var failed [][]byte
	var first error
	for i, b := range sent {
		switch {
		case i < len(out.RequestResponses) && out.RequestResponses[i].ErrorCode != nil:
			e := out.RequestResponses[i]
			if first == nil {
				first = fmt.Errorf("%s: %s", aws.ToString(e.ErrorCode), aws.ToString(e.ErrorMessage))
			}
			failed = append(failed, b)
		case i >= len(out.RequestResponses) && aws.ToInt32(out.FailedPutCount) > 0:
			if first == nil {
				first = fmt.Errorf("no response entry for %d of %d records", len(sent)-i, len(sent))
			}
			failed = append(failed, b)
		}
	}
	if len(failed) == 0 {
		return nil, nil
	}
	return failed, fmt.Errorf("%d of %d records failed (first: %w)", len(failed), len(sent), first)
}

// retryableFirehoseError reports whether a failed PutRecordBatch call may succeed if repeated:
// Firehose's throttling (ServiceUnavailableException), server and network errors do; a
// missing stream, a denied call, an invalid request or the end of ctx do not.
func retryableFirehoseError(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var coded interface{ ErrorCode() string }
	if errors.As(err, &coded) {
		switch coded.ErrorCode() {
		case "ServiceUnavailableException", "InternalFailure", "InternalFailureException", "ServiceUnavailable":
			return true
		}
	}
	return retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary
}

// writeFallback writes each record as one marker line, one Write call per line.
func (f *Firehose) writeFallback(recs [][]byte) error {
	f.fallbackMu.Lock()
	defer f.fallbackMu.Unlock()
	var errs []error
	line := make([]byte, 0, 1024)
	for _, b := range recs {
		line = appendUndeliveredLine(line[:0], b)
		if _, err := f.fallback.Write(line); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("write %d undelivered usage records to the fallback: %w", len(errs), errors.Join(errs...))
	}
	return nil
}

func (f *Firehose) report(err error) {
	if f.onErr != nil {
		f.onErr(err)
	}
}

func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
