package lambdahttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/passthru/gateway/shared/proxy"
)

// Work that must happen in every invocation but that the caller should not wait for (the usage
// flush) runs when the runtime closes the response, not before the response ends.
//
// aws-lambda-go posts the handler's result to the Runtime API and only then closes it
// (lambda/invoke_loop.go, handleInvoke: `defer response.Close()` around invoke.success), and
// only after that asks for the next event. Lambda returns the response to the caller once the
// runtime has posted it (for a stream: as the bytes arrive, ending when the posted body ends);
// it freezes the execution environment only "when the runtime and each extension have
// completed", i.e. sent their next /next request
// (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html). So Close runs
// after the caller has the whole response and before the sandbox can be frozen, and the time it
// takes counts toward the invocation's duration and timeout, not toward the caller's wait.
// functions/gateway's runtime test checks the order against a fake Runtime API.

// handlerGrace is how long the adapter waits for a handler that has been told to stop (its
// context ended) before answering or finishing without it.
const handlerGrace = 250 * time.Millisecond

// requestContext is the context a request is served with: the invocation's values, ended
// DeadlineReserve before the invocation's deadline with proxy.ErrFunctionTimeout as the cause,
// so the handler stops in time for the response to end with an error and the records to be
// flushed. The reserve never takes more than half of the time left.
func (a *Adapter) requestContext(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	reserve := min(a.opts.DeadlineReserve, time.Until(dl)/2)
	// Not cancelled with the invocation: the runtime cancels that only after the response was
	// posted, and the cut-off below comes first.
	return context.WithDeadlineCause(context.WithoutCancel(ctx), dl.Add(-reserve), proxy.ErrFunctionTimeout)
}

// finisher runs the adapter's after-response work once, when the runtime closes the response.
type finisher struct {
	once sync.Once
	run  func()
}

func newFinisher(a *Adapter, ctx context.Context, handlerDone <-chan struct{}) *finisher {
	return &finisher{run: func() {
		select { // the handler's usage record is written when it returns
		case <-handlerDone:
		case <-time.After(handlerGrace):
			a.log.Error("the handler did not return after its response ended; flushing without its usage record")
		}
		a.opts.AfterResponse(ctx)
	}}
}

func (f *finisher) finish() { f.once.Do(f.run) }

// streamBody is a streamed response's body: the pipe the handler writes into. Closing it (the
// runtime does, after posting the response) stops a handler still writing and then runs the
// after-response work.
type streamBody struct {
	*io.PipeReader
	f *finisher
}

func (b *streamBody) Close() error {
	err := b.PipeReader.Close()
	b.f.finish()
	return err
}

// BufferedResponse is a buffered integration's response. Value is the response event
// (events.APIGatewayProxyResponse, events.APIGatewayV2HTTPResponse or
// events.LambdaFunctionURLResponse); the runtime reads it as JSON through Read, exactly the
// bytes it would have encoded itself, and then closes it, which runs the after-response work.
type BufferedResponse struct {
	Value any
	body  *bytes.Reader
	f     *finisher
}

func newBufferedResponse(v any, f *finisher) *BufferedResponse {
	return &BufferedResponse{Value: v, f: f}
}

// Read returns the response as JSON.
func (b *BufferedResponse) Read(p []byte) (int, error) {
	if b.body == nil {
		// As the runtime encodes a handler's result: no HTML escaping, no trailing newline.
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(b.Value); err != nil {
			return 0, err
		}
		b.body = bytes.NewReader(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	}
	return b.body.Read(p)
}

// MarshalJSON refuses, so that the runtime sends the response through Read and closes it
// afterwards (it uses a handler's result as a reader when the result does not encode).
func (b *BufferedResponse) MarshalJSON() ([]byte, error) {
	return nil, errors.New("lambdahttp.BufferedResponse is sent as a reader")
}

// Close runs the after-response work.
func (b *BufferedResponse) Close() error {
	b.f.finish()
	return nil
}

var _ io.ReadCloser = (*BufferedResponse)(nil)
