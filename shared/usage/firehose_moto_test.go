//go:build !noawsbackends

package usage

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/passthru/gateway/shared/motoserver"
)

func TestMain(m *testing.M) { os.Exit(motoserver.Main(m)) }

// TestFirehoseToS3Moto sends three records through a real Firehose client to moto's Firehose,
// which delivers to moto's S3 at once, and reads them back: one JSON line each, byte for byte
// what was sent, and each decodes to the record it came from.
func TestFirehoseToS3Moto(t *testing.T) {
	motoserver.Require(t)
	cfg := motoserver.Config(t)
	ctx := context.Background()
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = true
		o.DisableLogOutputChecksumValidationSkipped = true // moto sends no checksum
	})
	fh := firehose.NewFromConfig(cfg)

	const bucket, stream = "gateway-usage", "gateway-usage"
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	if _, err := fh.CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{
		DeliveryStreamName: aws.String(stream),
		DeliveryStreamType: fhtypes.DeliveryStreamTypeDirectPut,
		ExtendedS3DestinationConfiguration: &fhtypes.ExtendedS3DestinationConfiguration{
			BucketARN: aws.String("arn:aws:s3:::" + bucket),
			RoleARN:   aws.String("arn:aws:iam::123456789012:role/x"),
			Prefix:    aws.String("usage/"),
		},
	}); err != nil {
		t.Fatal(err)
	}

	unknown := unknownRecord()
	streamedError := rec(7)
	streamedError.ErrorClass, streamedError.Status, streamedError.Partial = "upstream_reset", 200, true
	streamedError.Tags = []string{"a \"quoted\" tag", "ключ"}
	sent := []Record{fullRecord(), unknown, streamedError}

	var fallback bytes.Buffer
	sink := NewFirehose(fh, stream, &fallback)
	for _, r := range sent {
		sink.Record(ctx, r)
	}
	if err := sink.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if fallback.Len() != 0 {
		t.Fatalf("fallback: %s", fallback.String())
	}

	var keys []string
	for p := s3.NewListObjectsV2Paginator(s3c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	slices.Sort(keys)
	t.Logf("objects: %v", keys)
	var got bytes.Buffer
	for _, k := range keys {
		if !strings.HasPrefix(k, "usage/") {
			t.Errorf("object %s outside the usage/ prefix", k)
		}
		obj, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)})
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.Copy(&got, obj.Body)
		obj.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
	}

	var want strings.Builder
	for _, r := range sent {
		want.WriteString(line(t, r))
	}
	if got.String() != want.String() {
		t.Fatalf("S3 objects %v hold\n%s\nwant\n%s", keys, got.String(), want.String())
	}
	dec := json.NewDecoder(&got)
	for i, r := range sent {
		var back Record
		if err := dec.Decode(&back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, r) {
			t.Errorf("record %d read back as\n%+v\nwant\n%+v", i, back, r)
		}
	}
}
