package wiring

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/passthru/gateway/shared/pricing"
	"github.com/passthru/gateway/shared/proxy"
	"github.com/passthru/gateway/shared/usage"
)

// UsageOptions say where usage records go.
type UsageOptions struct {
	// File appends one JSON line per call (local runs).
	File string
	// MetricsNamespace writes one CloudWatch EMF line per call to Stdout ("" for none).
	MetricsNamespace string
	// MetricModels are models used as the EMF Model dimension as sent, besides the priced ones
	// (named as the price table names them); any other model is "other".
	MetricModels []string
	// Routes supplies the model_prices overrides that count as priced for the Model dimension
	// (nil: the embedded price table alone).
	Routes proxy.RouteSource
	Stdout io.Writer
	// FirehoseStream batches records to a Firehose delivery stream (Lambda).
	FirehoseStream string
	// FlushTimeout bounds each Firehose flush (DefaultFlushTimeout when zero).
	FlushTimeout time.Duration
}

// Usage is the configured sink, and Flush, which must run after each response and before the
// invocation ends (it sends what Firehose batched; a no-op otherwise).
type Usage struct {
	Sink  usage.Sink
	Flush func(ctx context.Context)
	Close func() error
	// DeadlineReserve is how long before an invocation's deadline its request must stop so that
	// Flush still completes before the deadline.
	DeadlineReserve time.Duration
	flushTimeout    time.Duration
}

// DefaultFlushTimeout bounds the Firehose flush that follows each invocation's response.
// PutRecordBatch normally answers in tens of milliseconds; when Firehose is slow or down the
// records go to stdout with the undelivered marker instead (and from there to S3 through the
// template's subscription filter), so waiting longer only bills time.
const DefaultFlushTimeout = time.Second

// flushMargin keeps the flush clear of the invocation's deadline: records that cannot be sent
// in time are written to stdout while the function can still write them.
const flushMargin = 250 * time.Millisecond

// flushContext is not cancelled with the request, ends within timeout, and ends flushMargin
// before the invocation's own deadline.
func flushContext(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	deadline := time.Now().Add(timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Add(-flushMargin).Before(deadline) {
		deadline = dl.Add(-flushMargin)
	}
	return context.WithDeadline(context.WithoutCancel(ctx), deadline)
}

// SplitList splits a comma-separated setting, dropping blanks and the spaces around each item.
func SplitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// OpenUsage builds the sinks the options name.
func OpenUsage(ctx context.Context, o UsageOptions, log *slog.Logger) (Usage, error) {
	u := Usage{Flush: func(context.Context) {}, Close: func() error { return nil }}
	if o.FirehoseStream != "" && !AWSBackends {
		return u, errNoAWSBackends("usage records to Firehose")
	}
	var sinks usage.Multi
	if o.File != "" {
		f, err := os.OpenFile(o.File, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return u, fmt.Errorf("open usage file: %w", err)
		}
		// Buffered, flushed on a short timer and by Close (on shutdown): one write system call
		// per bufferful instead of one per call.
		fw := usage.NewFlushWriter(f, usage.DefaultFlushInterval, func(err error) { log.Error(err.Error()) })
		u.Close = func() error { return errors.Join(fw.Close(), f.Close()) }
		sinks = append(sinks, usage.NewJSONLines(fw, func(err error) { log.Error(err.Error()) }))
	}
	if o.MetricsNamespace != "" {
		pricer := &pricing.Live{Routes: o.Routes, Base: pricing.Default()}
		sinks = append(sinks, usage.NewEMF(o.Stdout, o.MetricsNamespace).
			PricedModels(pricer.ModelName).KnownModels(o.MetricModels...).
			OnError(func(err error) { log.Error("write EMF line", "error", err) }))
	}
	if o.FirehoseStream != "" {
		cfg, err := LoadAWS(ctx, log)
		if err != nil {
			return u, fmt.Errorf("AWS configuration: %w", err)
		}
		fh, flush, err := firehoseSink(cfg, o.FirehoseStream, o.Stdout, log)
		if err != nil {
			return u, err
		}
		sinks = append(sinks, fh)
		timeout := cmp.Or(o.FlushTimeout, DefaultFlushTimeout)
		u.DeadlineReserve, u.flushTimeout = timeout+2*flushMargin, timeout
		u.Flush = func(ctx context.Context) {
			ctx, cancel := flushContext(ctx, timeout)
			defer cancel()
			flush(ctx)
		}
	}
	switch len(sinks) {
	case 0:
		u.Sink = usage.Discard{}
	case 1:
		u.Sink = sinks[0]
	default:
		u.Sink = sinks
	}
	return u, nil
}
