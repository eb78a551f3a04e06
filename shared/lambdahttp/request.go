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

	"github.com/passthru/gateway/shared/proxy"
)

// requestV1 converts a REST API event (or an HTTP API one in payload format 1.0). A REST
// event's `path` never holds the stage (requestContext.path does); an HTTP API's may, as in 2.0.
// Headers and query strings come from the multi-value maps when present.
func requestV1(ctx context.Context, e *Event, stripStage bool, basePath string) (*http.Request, error) {
	body, err := decodeBody(e.Body, e.IsBase64Encoded)
	if err != nil {
		return nil, err
	}
	path := e.Path
	if stage := e.RequestContext.Stage; stripStage && stage != "" && stage != "$default" {
		path = stripBase(path, "/"+stage)
	}
	u := &url.URL{Scheme: "https", Host: e.RequestContext.DomainName, Path: stripBase(path, basePath)}
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
	return newRequest(ctx, e.HTTPMethod, u, header, body, info), nil
}

// requestV2 converts an HTTP API or Function URL event (payload format 2.0). Their rawPath is
// still percent-encoded, and an HTTP API stage other than $default prefixes it. Cookies arrive
// apart from the headers and go back into one Cookie header.
func requestV2(ctx context.Context, e *Event, stripStage bool, basePath string) (*http.Request, error) {
	body, err := decodeBody(e.Body, e.IsBase64Encoded)
	if err != nil {
		return nil, err
	}
	v2 := e.RequestContext.HTTP
	raw := e.RawPath
	if raw == "" {
		raw = v2.Path
	}
	if stage := e.RequestContext.Stage; stripStage && stage != "" && stage != "$default" {
		raw = stripBase(raw, "/"+stage)
	}
	raw = stripBase(raw, basePath)
	u, err := url.ParseRequestURI(raw)
	if err != nil {
		return nil, fmt.Errorf("event path %q: %w", raw, err)
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
	return newRequest(ctx, v2.Method, u, header, body, info), nil
}

func newRequest(ctx context.Context, method string, u *url.URL, header http.Header, body []byte, info proxy.RequestInfo) *http.Request {
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
	return r.WithContext(proxy.WithRequestInfo(ctx, info))
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

func decodeBody(body string, isBase64 bool) ([]byte, error) {
	if !isBase64 {
		return []byte(body), nil
	}
	b, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("decode base64 body: %w", err)
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
