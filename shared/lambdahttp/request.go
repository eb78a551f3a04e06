package lambdahttp

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/passthru/gateway/shared/apierror"
	"github.com/passthru/gateway/shared/proxy"
	"github.com/passthru/gateway/shared/route"
)

// requestV1 converts a REST API event (or an HTTP API one in payload format 1.0). A REST
// event's `path` never holds the stage (requestContext.path does); an HTTP API's may, as in 2.0.
// Headers and query strings come from the multi-value maps when present.
//
// A REST event's `path` is the path as the client encoded it ("/x/space%20value"); an HTTP API's
// 1.0 `path` is taken as decoded. The REST side is captured live, sent the same encoded paths as
// the other front doors: https://github.com/hotsock/voker/blob/main/vokerhttp/testdata/ingress-paths.json
// (REST, ALB and Function URLs keep the encoding; HTTP APIs, payload 2.0, decode it) and
// https://github.com/hotsock/voker/blob/main/vokerhttp/testdata/apigwv1-request.json; the same
// split is reported in https://github.com/middleapi/standard-server/pull/93. No capture of an
// HTTP API with payload 1.0 was found: it is inferred to match its 2.0 events (the same API
// decodes the path before choosing the payload format; README "Encoded paths").
func requestV1(ctx context.Context, e *Event, httpAPI bool, basePath string) *http.Request {
	body, rej := eventBody(e)
	stage := ""
	if httpAPI {
		stage = e.RequestContext.Stage
	}
	u, pathRej := eventURL(e.Path, !httpAPI, stage, basePath)
	if rej == nil {
		rej = pathRej
	}
	u.Scheme, u.Host = "https", e.RequestContext.DomainName
	u.RawQuery = encodeQuery(e.MultiValueQueryStringParameters, e.QueryStringParameters)
	header := http.Header{}
	if len(e.MultiValueHeaders) > 0 {
		for k, vv := range e.MultiValueHeaders {
			for _, v := range vv {
				header.Add(k, v)
			}
		}
	} else {
		for k, v := range e.Headers {
			header.Add(k, v)
		}
	}
	info := proxy.RequestInfo{RequestID: e.RequestContext.RequestID, SourceIP: e.RequestContext.Identity.SourceIP}
	return newRequest(ctx, e.HTTPMethod, u, header, body, info, rej)
}

// requestV2 converts an HTTP API or Function URL event (payload format 2.0). An HTTP API stage
// other than $default prefixes the path. Cookies arrive apart from the headers and go back into
// one Cookie header.
//
// A Function URL's `rawPath` is the path as the client encoded it; an HTTP API's `rawPath`, despite
// its name, arrives decoded (a client's "%2F" is a "/", its "%3F" even cuts the path), and
// requestContext.http.path is decoded in both. Captures:
// https://github.com/hotsock/voker/blob/main/vokerhttp/testdata/ingress-paths.json,
// .../functionurl-request.json and .../apigwv2-request.json in the same folder;
// https://github.com/fastify/aws-lambda-fastify/issues/169 (an HTTP API event for "/a%2Fb" has
// rawPath "/a/b"); https://github.com/honojs/hono/issues/2156.
func requestV2(ctx context.Context, e *Event, functionURL bool, basePath string) *http.Request {
	body, rej := eventBody(e)
	v2 := e.RequestContext.HTTP
	p, encoded := e.RawPath, functionURL
	if p == "" {
		p, encoded = v2.Path, false
	}
	stage := ""
	if !functionURL {
		stage = e.RequestContext.Stage
	}
	u, pathRej := eventURL(p, encoded, stage, basePath)
	if rej == nil {
		rej = pathRej
	}
	u.Scheme, u.Host, u.RawQuery = "https", e.RequestContext.DomainName, e.RawQueryString
	header := http.Header{}
	for k, v := range e.Headers {
		// Repeated headers arrive comma-joined; one comma-joined header means the same thing.
		header.Add(k, v)
	}
	if len(e.Cookies) > 0 {
		header.Set("Cookie", strings.Join(e.Cookies, "; "))
	}
	info := proxy.RequestInfo{RequestID: e.RequestContext.RequestID, SourceIP: v2.SourceIP}
	return newRequest(ctx, v2.Method, u, header, body, info, rej)
}

// eventURL makes the request URL's path from an event path, minus an HTTP API stage other than
// $default and the custom domain base path. An encoded path keeps the client's encoding as
// RawPath, so that it reaches the upstream byte for byte (Go's url.URL would re-escape the
// decoded Path its own way, e.g. leave ":" for a "%3A"); one that is not valid percent-encoding
// is a 400. A decoded path (HTTP API) is taken as it is, and Go escapes it the standard way when
// it goes upstream: the client's own encoding is lost before the event is made.
func eventURL(p string, encoded bool, stage, basePath string) (*url.URL, *rejection) {
	if stage != "" && stage != "$default" {
		p = stripBase(p, "/"+stage)
	}
	p = stripBase(p, basePath)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	if !encoded {
		return &url.URL{Path: p}, nil
	}
	decoded, err := url.PathUnescape(p)
	if err != nil {
		return &url.URL{Path: "/"}, &rejection{status: http.StatusBadRequest, typ: apierror.TypeInvalidRequest,
			msg: "Invalid request path: " + err.Error() + "."}
	}
	return &url.URL{Path: decoded, RawPath: route.EscapePathBytes(p)}, nil
}

func newRequest(ctx context.Context, method string, u *url.URL, header http.Header, body []byte, info proxy.RequestInfo, rej *rejection) *http.Request {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		info.LambdaRequestID = lc.AwsRequestID
	}
	r := &http.Request{
		Method:        strings.ToUpper(method),
		URL:           u,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        header,
		ContentLength: int64(len(body)),
		Body:          http.NoBody,
		Host:          header.Get("Host"),
		RemoteAddr:    info.SourceIP,
		RequestURI:    u.RequestURI(),
	}
	if r.Host == "" {
		r.Host = u.Host
	}
	if len(body) > 0 {
		r.Body = readCloser{bytes.NewReader(body)}
	}
	ctx = proxy.WithRequestInfo(ctx, info)
	if rej != nil {
		ctx = context.WithValue(ctx, rejectionKey{}, rej)
	}
	return r.WithContext(ctx)
}

// rejection is the error answer to an event that cannot be served (a path that does not decode,
// a body over Lambda's limit): the handler is not called, the caller gets this instead.
type rejection struct {
	status   int
	typ, msg string
}

type rejectionKey struct{}

func rejectionOf(r *http.Request) *rejection {
	rej, _ := r.Context().Value(rejectionKey{}).(*rejection)
	return rej
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

// eventBody is the request body an event carries, base64-decoded if it is so marked. A body the
// event could not carry to Lambda (see maxEventBytes) or whose base64 is broken is rejected.
func eventBody(e *Event) ([]byte, *rejection) {
	if len(e.Body) > maxEventBytes {
		how := ""
		if e.IsBase64Encoded {
			how = " (base64)"
		}
		return nil, &rejection{status: http.StatusRequestEntityTooLarge, typ: apierror.TypeInvalidRequest,
			msg: fmt.Sprintf("Request body too large: the invocation event carries it as %d bytes%s, and Lambda accepts events of at most %d bytes.",
				len(e.Body), how, maxEventBytes)}
	}
	if !e.IsBase64Encoded {
		return []byte(e.Body), nil
	}
	b, err := base64.StdEncoding.DecodeString(e.Body)
	if err != nil {
		return nil, &rejection{status: http.StatusBadRequest, typ: apierror.TypeInvalidRequest,
			msg: "The request body is marked base64 but does not decode: " + err.Error() + "."}
	}
	return b, nil
}

// stripBase removes base from the front of path when it is a whole leading segment run.
func stripBase(path, base string) string {
	if base == "" || base == "/" {
		return path
	}
	if path == base {
		return "/"
	}
	if strings.HasPrefix(path, base+"/") {
		return path[len(base):]
	}
	return path
}

// encodeQuery rebuilds a query string from API Gateway's decoded maps, every value of a
// repeated key included. The maps have no order, so keys come out sorted.
func encodeQuery(multi map[string][]string, single map[string]string) string {
	v := url.Values{}
	if len(multi) > 0 {
		for k, vv := range multi {
			v[k] = append(v[k], vv...)
		}
	} else {
		for k, s := range single {
			v.Set(k, s)
		}
	}
	return v.Encode()
}
