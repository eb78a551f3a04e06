// Package lambdahttp serves an http.Handler from AWS Lambda. It reads the invocation's event,
// decides by its shape (and the configured mode of that integration) whether the caller expects
// a streamed or a buffered response, turns the event into an *http.Request, and turns what the
// handler writes into the response the caller expects:
//
//	REST API v1, streaming      -> *events.APIGatewayProxyStreamingResponse
//	Function URL, RESPONSE_STREAM -> *events.LambdaFunctionURLStreamingResponse
//	REST API v1, buffered       -> events.APIGatewayProxyResponse   (aws-lambda-go-api-proxy)
//	HTTP API v2                 -> events.APIGatewayV2HTTPResponse  (aws-lambda-go-api-proxy)
//	Function URL, BUFFERED      -> events.LambdaFunctionURLResponse
//
// The event alone cannot say whether a REST API integration streams (STREAM and BUFFERED send
// the same event), so that is a setting; sending a streaming prelude to a buffered caller
// corrupts its response.
package lambdahttp

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Mode is how an integration expects its response.
type Mode int

const (
	// Stream: the integration invokes with InvokeWithResponseStream (REST ResponseTransferMode
	// RESPONSE_STREAM, Function URL InvokeMode RESPONSE_STREAM).
	Stream Mode = iota
	// Buffered: the integration takes one JSON response of at most 6 MB.
	Buffered
)

// ParseMode reads "stream" or "buffered" (empty means stream).
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "stream", "response_stream":
		return Stream, nil
	case "buffered":
		return Buffered, nil
	default:
		return 0, fmt.Errorf("response mode %q is neither stream nor buffered", s)
	}
}

func (m Mode) String() string {
	if m == Buffered {
		return "buffered"
	}
	return "stream"
}

// Lambda's limits on a synchronous invocation, in the bytes Lambda counts. The quotas page says
// "6 MB" (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html); Lambda's own
// errors give the exact figures, which differ by 100 bytes:
//   - the request is the whole event JSON: "Request must be smaller than 6291456 bytes for the
//     InvokeFunction operation" (RequestEntityTooLargeException);
//   - the response is the whole JSON the function returns, envelope and headers included:
//     "Response payload size exceeded maximum allowed payload size (6291556 bytes)"
//     (Function.ResponseSizeTooLarge; API Gateway then answers its generic 502).
//
// Measured in https://zaccharles.medium.com/deep-dive-lambdas-response-payload-size-limit-8aedba9530ed
// and https://zaccharles.medium.com/deep-dive-lambdas-request-payload-size-limit-2-2-6350c1ae5577;
// a 502 INTEGRATION_FAILURE for a 6.0 MB response is in https://github.com/DataBiosphere/azul/issues/8258.
// Streamed responses are not bound by the response figure (200 MB).
const (
	// MaxInvocationEvent bounds an event, so its body too: an event over it never reaches the
	// function on AWS.
	MaxInvocationEvent = 6 << 20
	// MaxBufferedResponse is what a buffered response may take once JSON-encoded as the runtime
	// sends it (body escaped or base64, envelope and headers included): Lambda's 6,291,556 bytes
	// less a 4 KiB margin.
	MaxBufferedResponse = 6<<20 + 100 - 4<<10
)

const maxEventBytes = MaxInvocationEvent

// Options configure an Adapter.
type Options struct {
	// RESTMode is how the REST API integration invokes the function (default Stream).
	RESTMode Mode
	// FunctionURLMode is the Function URL's InvokeMode (default Stream).
	FunctionURLMode Mode
	// BasePath is stripped from API Gateway request paths, for a custom domain's base path
	// mapping (Function URLs have none).
	BasePath string
	Logger   *slog.Logger
	// AfterResponse runs once per invocation after the caller has the whole response and before
	// the invocation ends (see finish.go): the place to flush buffered usage records, since Lambda
	// may freeze the function once the invocation is over. Its context carries the invocation's
	// deadline and is not cancelled when the response ends.
	AfterResponse func(ctx context.Context)
	// DeadlineReserve is how long before the invocation's deadline each request is stopped
	// (its context ends with proxy.ErrFunctionTimeout), leaving time to end the response with an
	// error and to run AfterResponse. At most half of the time left at the invocation's start;
	// it should exceed handlerGrace (250 ms), the time a handler that ignores its context is
	// given to answer before the adapter answers 504 itself.
	DeadlineReserve time.Duration
}

// Adapter serves an http.Handler to Lambda events.
type Adapter struct {
	h    http.Handler
	opts Options
	log  *slog.Logger
}

// New returns an adapter for h.
func New(h http.Handler, opts Options) *Adapter {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if b := strings.Trim(opts.BasePath, "/"); b != "" {
		opts.BasePath = "/" + b
	} else {
		opts.BasePath = ""
	}
	if opts.AfterResponse == nil {
		opts.AfterResponse = func(context.Context) {}
	}
	opts.DeadlineReserve = max(opts.DeadlineReserve, 0)
	return &Adapter{h: h, opts: opts, log: log}
}

// Event is an HTTP invocation of any supported shape (REST v1, HTTP API v2, Function URL),
// with just the fields the adapter reads. The runtime decodes each payload straight into it, so
// an invocation costs one JSON decode, not one per shape tried.
type Event struct {
	Version                         string              `json:"version"`
	HTTPMethod                      string              `json:"httpMethod"` // v1 only
	Path                            string              `json:"path"`       // v1: REST as the client encoded it, without the stage; HTTP API decoded
	RawPath                         string              `json:"rawPath"`    // v2: Function URL as the client encoded it; HTTP API decoded
	RawQueryString                  string              `json:"rawQueryString"`
	Headers                         map[string]string   `json:"headers"`
	MultiValueHeaders               map[string][]string `json:"multiValueHeaders"`
	QueryStringParameters           map[string]string   `json:"queryStringParameters"`
	MultiValueQueryStringParameters map[string][]string `json:"multiValueQueryStringParameters"`
	Cookies                         []string            `json:"cookies"`
	Body                            string              `json:"body"`
	IsBase64Encoded                 bool                `json:"isBase64Encoded"`
	RequestContext                  EventContext        `json:"requestContext"`
}

// EventContext is the part of requestContext the adapter reads.
type EventContext struct {
	RequestID  string `json:"requestId"`
	DomainName string `json:"domainName"`
	Stage      string `json:"stage"`
	Identity   struct {
		SourceIP string `json:"sourceIp"`
	} `json:"identity"` // v1
	HTTP *struct {
		Method   string `json:"method"`
		Path     string `json:"path"`
		SourceIP string `json:"sourceIp"`
	} `json:"http"` // v2
	ELB *struct {
		TargetGroupArn string `json:"targetGroupArn"`
	} `json:"elb"`
}

// Invoke is the Lambda handler: lambda.Start(adapter.Invoke). Streaming results are returned
// as pointers, which the runtime streams; a value would be sent as JSON.
//
// Each request's context ends DeadlineReserve before the invocation's deadline; AfterResponse
// runs when the runtime closes the response, after the caller has all of it (finish.go).
func (a *Adapter) Invoke(ctx context.Context, e Event) (any, error) {
	shape, err := detect(&e)
	if err != nil {
		return nil, err
	}
	reqCtx, cancel := a.requestContext(ctx)
	if shape == restV1 || shape == httpAPIV1 {
		req := requestV1(reqCtx, &e, shape == httpAPIV1, a.opts.BasePath)
		if shape == httpAPIV1 || a.opts.RESTMode == Buffered {
			return a.finishBuffered(ctx, cancel, a.bufferedV1(req)), nil
		}
		return a.streamV1(ctx, cancel, req), nil
	}
	basePath := a.opts.BasePath
	if shape == functionURL {
		basePath = ""
	}
	req := requestV2(reqCtx, &e, shape == functionURL, basePath)
	switch {
	case shape == httpAPIV2:
		return a.finishBuffered(ctx, cancel, a.bufferedV2(req)), nil
	case a.opts.FunctionURLMode == Buffered:
		return a.finishBuffered(ctx, cancel, a.bufferedFunctionURL(req)), nil
	default:
		return a.streamFunctionURL(ctx, cancel, req), nil
	}
}

// finishBuffered wraps a buffered response (its handler has returned) so that AfterResponse
// runs once the runtime has posted it.
func (a *Adapter) finishBuffered(ctx context.Context, cancel context.CancelFunc, v any) *BufferedResponse {
	cancel()
	done := make(chan struct{})
	close(done)
	return newBufferedResponse(v, newFinisher(a, ctx, done))
}

// shape is the kind of event an invocation carries.
type shape int

const (
	restV1    shape = iota
	httpAPIV1       // an HTTP API with payload format 1.0: a REST-shaped event, buffered
	httpAPIV2
	functionURL
)

// detect tells the event shapes apart by the fields only each has. REST events carry no
// version, HTTP API events a "1.0" or "2.0" one; a Function URL event is a 2.0 event whose
// domain is the function URL's (also behind CloudFront).
func detect(e *Event) (shape, error) {
	switch {
	case e.RequestContext.ELB != nil:
		return 0, fmt.Errorf("Application Load Balancer events are not supported; use a Function URL or API Gateway")
	case e.HTTPMethod != "" && e.Version == "1.0":
		return httpAPIV1, nil
	case e.HTTPMethod != "":
		return restV1, nil
	case e.Version == "2.0" && e.RequestContext.HTTP != nil:
		if strings.Contains(e.RequestContext.DomainName, ".lambda-url.") {
			return functionURL, nil
		}
		return httpAPIV2, nil
	default:
		return 0, fmt.Errorf("unrecognised event: expected an API Gateway REST, HTTP API or Function URL request")
	}
}
