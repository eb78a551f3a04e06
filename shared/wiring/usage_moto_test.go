//go:build !noawsbackends

package wiring_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/passthru/gateway/shared/motoserver"
	"github.com/passthru/gateway/shared/usage"
	"github.com/passthru/gateway/shared/wiring"
)

// The usage flush on moto: delivered when Firehose works; when the stream is missing, the
// endpoint refuses connections or accepts them and never answers, the flush still ends within
// its timeout, every record is on stdout with the undelivered marker, and one ERROR line gives
// the counts without a record in it.
func TestUsageFlushOutcomesOnMoto(t *testing.T) {
	motoserver.Require(t)
	cfg := motoserver.Config(t)
	ctx := bounded(t)
	const bucket, stream = "usage-flush", "usage-flush"
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = true
		o.DisableLogOutputChecksumValidationSkipped = true // moto sends no checksum
	})
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	if _, err := firehose.NewFromConfig(cfg).CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{
		DeliveryStreamName: aws.String(stream), DeliveryStreamType: fhtypes.DeliveryStreamTypeDirectPut,
		ExtendedS3DestinationConfiguration: &fhtypes.ExtendedS3DestinationConfiguration{
			BucketARN: aws.String("arn:aws:s3:::" + bucket), RoleARN: aws.String("arn:aws:iam::123456789012:role/x"),
		},
	}); err != nil {
		t.Fatal(err)
	}
	refused := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return "http://" + l.Addr().String()
	}()

	const timeout = 400 * time.Millisecond
	for _, tt := range []struct {
		name, stream, endpoint string // endpoint "": moto
		delivered              bool
	}{
		{"delivered", stream, "", true},
		{"stream missing", "no-such-stream", "", false},
		{"connection refused", stream, refused, false},
		{"endpoint hangs", stream, motoserver.SilentEndpoint(t), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.endpoint != "" {
				t.Setenv("AWS_ENDPOINT_URL_FIREHOSE", tt.endpoint)
			}
			var stdout, logs bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&logs, nil))
			u, err := wiring.OpenUsage(ctx, wiring.UsageOptions{FirehoseStream: tt.stream, Stdout: &stdout, FlushTimeout: timeout}, log)
			if err != nil {
				t.Fatal(err)
			}
			ids := []string{"call-" + strings.ReplaceAll(tt.name, " ", "-") + "-1", "call-" + strings.ReplaceAll(tt.name, " ", "-") + "-2"}
			for _, id := range ids {
				u.Sink.Record(ctx, usage.Record{SchemaVersion: usage.SchemaVersion, CallID: id, Route: "/v1/rerank", Status: 200})
			}
			invocation, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			start := time.Now()
			u.Flush(invocation)
			took := time.Since(start)
			if took > timeout+300*time.Millisecond {
				t.Errorf("flush took %v, want it bounded by %v", took, timeout)
			}
			lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
			errLines := strings.Count(logs.String(), `"level":"ERROR"`)
			if tt.delivered {
				if stdout.Len() != 0 || logs.Len() != 0 {
					t.Errorf("delivered, yet stdout %q, logs %q", stdout.String(), logs.String())
				}
				assertDelivered(t, s3c, bucket, ids)
				return
			}
			if len(lines) != 2 || !strings.HasPrefix(lines[0], undeliveredPrefix) || !strings.Contains(lines[0], ids[0]) ||
				!strings.HasPrefix(lines[1], undeliveredPrefix) || !strings.Contains(lines[1], ids[1]) {
				t.Errorf("stdout = %q, want both records after the marker", stdout.String())
			}
			if errLines != 1 || !strings.Contains(logs.String(), `"undelivered":2,"total":2`) || strings.Contains(logs.String(), "call-") {
				t.Errorf("logs = %s, want one ERROR line with the counts and no record", logs.String())
			}
			t.Logf("flush gave up after %v; log: %s", took.Round(time.Millisecond), strings.TrimSpace(logs.String()))
		})
	}
}

// assertDelivered reads every object moto's Firehose wrote to bucket (it delivers at once, with
// no buffering) and checks that they hold exactly one JSON line per id, in order, each the
// record flushed for that id.
func assertDelivered(t *testing.T, s3c *s3.Client, bucket string, ids []string) {
	t.Helper()
	ctx := bounded(t)
	var keys []string
	for p := s3.NewListObjectsV2Paginator(s3c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("list s3://%s: %v", bucket, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	slices.Sort(keys)
	var got bytes.Buffer
	for _, k := range keys {
		obj, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)})
		if err != nil {
			t.Fatalf("get s3://%s/%s: %v", bucket, k, err)
		}
		_, err = io.Copy(&got, obj.Body)
		obj.Body.Close()
		if err != nil {
			t.Fatalf("read s3://%s/%s: %v", bucket, k, err)
		}
	}
	lines := strings.SplitAfter(got.String(), "\n")
	if len(keys) == 0 || len(lines) != len(ids)+1 || lines[len(ids)] != "" {
		t.Fatalf("S3 objects %v hold %q, want %d newline-ended JSON lines", keys, got.String(), len(ids))
	}
	for i, id := range ids {
		want := usage.Record{SchemaVersion: usage.SchemaVersion, CallID: id, Route: "/v1/rerank", Status: 200}
		var back usage.Record
		if err := json.Unmarshal([]byte(lines[i]), &back); err != nil || !reflect.DeepEqual(back, want) {
			t.Errorf("line %d = %q (%v), want the record of %s", i, lines[i], err, id)
		}
		var fields map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &fields); err != nil || fields["call_id"] != id {
			t.Errorf("line %d = %q: call_id is not %q", i, lines[i], id)
		}
	}
}

// undeliveredPrefix starts each stdout line that carries an undelivered record.
const undeliveredPrefix = `{"` + usage.UndeliveredMarkerField + `":"` + usage.UndeliveredMarker + `"`
