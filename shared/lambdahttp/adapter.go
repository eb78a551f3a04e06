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
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
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

// MaxBufferedBody is Lambda's limit on a buffered (synchronous) invocation payload, which bounds
// the request body of every event and the response of buffered integrations.
const MaxBufferedBody = 6 << 20

// Options configure an Adapter.
type Options struct {
	// RESTMode is how the REST API integration invokes the function (default Stream).
	RESTMode Mode
	// FunctionURLMode is the Function URL's InvokeMode (default Stream).
	FunctionURLMode Mode
	// BasePath is stripped from request paths, for a custom domain's base path mapping.
	BasePath string
	Logger   *slog.Logger
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
	opts.BasePath = strings.TrimSuffix(opts.BasePath, "/")
	return &Adapter{h: h, opts: opts, log: log}
}

// Invoke is the Lambda handler: lambda.Start(adapter.Invoke). Streaming results are returned
// as pointers, which the runtime streams; a value would be sent as JSON.
func (a *Adapter) Invoke(ctx context.Context, payload json.RawMessage) (any, error) {
	shape, err := detect(payload)
	if err != nil {
		return nil, err
	}
	switch shape {
	case restV1:
		var e events.APIGatewayProxyRequest
		if err := json.Unmarshal(payload, &e); err != nil {
			return nil, fmt.Errorf("decode API Gateway REST event: %w", err)
		}
		req, err := requestV1(ctx, &e, a.opts.BasePath)
		if err != nil {
			return nil, err
		}
		if a.opts.RESTMode == Buffered {
			return a.bufferedV1(req), nil
		}
		return a.streamV1(req), nil
	default:
		var e events.APIGatewayV2HTTPRequest // a Function URL event has the same fields
		if err := json.Unmarshal(payload, &e); err != nil {
			return nil, fmt.Errorf("decode %s event: %w", shape, err)
		}
		req, err := requestV2(ctx, &e, shape == httpAPIV2, a.opts.BasePath)
		if err != nil {
			return nil, err
		}
		switch {
		case shape == httpAPIV2:
			return a.bufferedV2(req), nil
		case a.opts.FunctionURLMode == Buffered:
			return a.bufferedFunctionURL(req), nil
		default:
			return a.streamFunctionURL(req), nil
		}
	}
}

// shape is the kind of event an invocation carries.
type shape int

const (
	restV1 shape = iota
	httpAPIV2
	functionURL
)

func (s shape) String() string {
	return [...]string{"API Gateway REST (v1)", "API Gateway HTTP API (v2)", "Lambda Function URL"}[s]
}

// detect tells the event shapes apart by the fields only each has.
func detect(payload []byte) (shape, error) {
	var probe struct {
		Version        string `json:"version"`
		HTTPMethod     string `json:"httpMethod"`
		RequestContext struct {
			DomainName string          `json:"domainName"`
			HTTP       json.RawMessage `json:"http"`
			ELB        json.RawMessage `json:"elb"`
		} `json:"requestContext"`
	}
	if err := json.Unmarshal(payload, &probe); err != nil {
		return 0, fmt.Errorf("the event is not JSON: %w", err)
	}
	switch {
	case probe.RequestContext.ELB != nil:
		return 0, fmt.Errorf("Application Load Balancer events are not supported; use a Function URL or API Gateway")
	case probe.HTTPMethod != "":
		return restV1, nil
	case probe.Version == "2.0" && probe.RequestContext.HTTP != nil:
		if strings.Contains(probe.RequestContext.DomainName, ".lambda-url.") {
			return functionURL, nil
		}
		return httpAPIV2, nil
	default:
		return 0, fmt.Errorf("unrecognised event: expected an API Gateway REST, HTTP API or Function URL request")
	}
}
