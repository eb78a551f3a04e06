//go:build !noawsbackends

package ratelimit_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/passthru/gateway/shared/motoserver"
	"github.com/passthru/gateway/shared/ratelimit"
)

// TestDynamoDBHangingEndpointTimesOut: the UpdateItem against an endpoint that never answers
// ends after the limiter's timeout as an outage (ErrUnavailable, deadline exceeded), while the
// caller's own context is still live.
func TestDynamoDBHangingEndpointTimesOut(t *testing.T) {
	client := dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(motoserver.SilentEndpoint(t)),
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
	})
	for _, c := range []struct {
		name    string
		opts    []ratelimit.Option
		timeout time.Duration
	}{
		{"default", nil, ratelimit.DefaultTimeout},
		{"WithTimeout", []ratelimit.Option{ratelimit.WithTimeout(300 * time.Millisecond)}, 300 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // the caller waits long
			defer cancel()
			start := time.Now()
			d, err := ratelimit.NewDynamoDB(client, "limits", c.opts...).Allow(ctx, "abc", 10)
			took := time.Since(start)
			if !errors.Is(err, ratelimit.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want ErrUnavailable wrapping a deadline", err)
			}
			if d != (ratelimit.Decision{}) {
				t.Errorf("decision = %+v, want zero", d)
			}
			// Generous bounds on a shared machine: not before the timeout, far from the 30 s.
			if took < c.timeout || took > c.timeout+3*time.Second {
				t.Errorf("Allow took %v, want about %v", took, c.timeout)
			}
			if ctx.Err() != nil {
				t.Errorf("the caller's context ended: %v", ctx.Err())
			}
		})
	}
}
