package builtin_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// An independent SigV4 verifier: what AWS computes from the request it receives
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html), written from
// that document and not from the SDK's signer, so that the gateway's signatures are checked
// against the specification rather than against the code that made them.

// awsKeys are the test credentials the gateway signs with.
type awsKeys struct{ id, secret, token string }

var testKeys = awsKeys{id: "AKIDGATEWAYTEST", secret: "gw/secret+key/for+tests0000000000000000", token: "FwoGZXIvYXdzEBAaDSESSIONTOKEN//test=="}

// wireRequest is a request as an AWS endpoint receives it.
type wireRequest struct {
	method     string
	requestURI string // the path and query exactly as on the wire
	host       string
	header     map[string][]string // canonical names, as net/http keeps them
	contentLen int64
	body       []byte
}

// verifySigV4 recomputes the signature of r for the expected region and service and compares
// it with the one in its Authorization header. It also checks that the credential is keys' and
// the session token the one they carry, and that the signature is fresh.
func verifySigV4(r wireRequest, k awsKeys, region, service string, now time.Time) error {
	auth := first(r.header, "Authorization")
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return fmt.Errorf("authorization %q is not SigV4", auth)
	}
	fields := map[string]string{}
	for _, f := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[4] != "aws4_request" {
		return fmt.Errorf("credential %q", fields["Credential"])
	}
	if scope[0] != k.id || scope[2] != region || scope[3] != service {
		return fmt.Errorf("credential scope %v, want key %s, region %s, service %s", scope, k.id, region, service)
	}
	amzDate := first(r.header, "X-Amz-Date")
	t, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil || scope[1] != amzDate[:8] {
		return fmt.Errorf("x-amz-date %q, scope date %s", amzDate, scope[1])
	}
	if d := now.Sub(t); d > 5*time.Minute || d < -5*time.Minute {
		return fmt.Errorf("signed at %s, %s from now", t, d)
	}
	signedHeaders := strings.Split(fields["SignedHeaders"], ";")
	if k.token != "" && (first(r.header, "X-Amz-Security-Token") != k.token || !slices.Contains(signedHeaders, "x-amz-security-token")) {
		return fmt.Errorf("the session token is missing or unsigned")
	}
	if !slices.Contains(signedHeaders, "host") || !slices.Contains(signedHeaders, "x-amz-date") {
		return fmt.Errorf("signed headers %v lack host or x-amz-date", signedHeaders)
	}
	canonical, err := canonicalRequest(r, signedHeaders)
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + strings.Join(scope[1:], "/") + "\n" + hex.EncodeToString(sum[:])
	key := hmacSHA256([]byte("AWS4"+k.secret), scope[1])
	for _, part := range []string{region, service, "aws4_request"} {
		key = hmacSHA256(key, part)
	}
	if want := hex.EncodeToString(hmacSHA256(key, toSign)); !hmac.Equal([]byte(want), []byte(fields["Signature"])) {
		return fmt.Errorf("signature mismatch: the canonical request AWS computes is\n%s", canonical)
	}
	return nil
}

// canonicalRequest builds AWS's canonical request from the wire: every path segment
// URI-encoded once more (all services but S3 encode the path twice), the query sorted and
// encoded, the signed headers' trimmed values, and the hash of the body received.
func canonicalRequest(r wireRequest, signedHeaders []string) (string, error) {
	rawPath, rawQuery, _ := strings.Cut(r.requestURI, "?")
	segs := strings.Split(rawPath, "/")
	for i, s := range segs {
		segs[i] = uriEncode(s)
	}
	var pairs []string
	if rawQuery != "" {
		for _, kv := range strings.Split(rawQuery, "&") {
			k, v, _ := strings.Cut(kv, "=")
			dk, err1 := url.QueryUnescape(k)
			dv, err2 := url.QueryUnescape(v)
			if err1 != nil || err2 != nil {
				return "", fmt.Errorf("query %q does not decode", kv)
			}
			pairs = append(pairs, uriEncode(dk)+"="+uriEncode(dv))
		}
	}
	slices.Sort(pairs)
	var b strings.Builder
	b.WriteString(r.method + "\n" + strings.Join(segs, "/") + "\n" + strings.Join(pairs, "&") + "\n")
	for _, h := range signedHeaders {
		var v string
		switch h {
		case "host":
			v = r.host
		case "content-length":
			v = strconv.FormatInt(r.contentLen, 10)
		default:
			var vals []string
			for name, vv := range r.header {
				if strings.EqualFold(name, h) {
					for _, x := range vv {
						vals = append(vals, strings.Join(strings.Fields(x), " "))
					}
				}
			}
			if len(vals) == 0 {
				return "", fmt.Errorf("signed header %q was not received", h)
			}
			v = strings.Join(vals, ",")
		}
		b.WriteString(h + ":" + v + "\n")
	}
	sum := sha256.Sum256(r.body)
	b.WriteString("\n" + strings.Join(signedHeaders, ";") + "\n" + hex.EncodeToString(sum[:]))
	return b.String(), nil
}

// uriEncode encodes every byte but the unreserved characters (A-Z a-z 0-9 - . _ ~), in upper
// case hex, as the SigV4 document requires.
func uriEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

func first(h map[string][]string, name string) string {
	if vv := h[name]; len(vv) > 0 {
		return vv[0]
	}
	return ""
}
