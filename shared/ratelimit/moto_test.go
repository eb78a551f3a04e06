//go:build !noawsbackends

package ratelimit_test

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/passthru/gateway/shared/motoserver"
	"github.com/passthru/gateway/shared/ratelimit"
)

func TestMain(m *testing.M) { os.Exit(motoserver.Main(m)) }

const table = "gateway-ratelimit"

// motoTable resets moto and creates the counter table with TTL on expires_at; newClient
// returns independent clients on it.
func motoTable(t testing.TB) {
	t.Helper()
	motoserver.Require(t)
	if err := ratelimit.CreateTable(context.Background(), newClient(t), table); err != nil {
		t.Fatal(err)
	}
}

// newClient is a separate DynamoDB client (own HTTP client and connections) on moto, with
// DynamoDB's per-item atomicity (see motoserver.AtomicConfig).
func newClient(t testing.TB) *dynamodb.Client {
	return dynamodb.NewFromConfig(motoserver.AtomicConfig(t))
}

func TestMotoTwoInstancesExact(t *testing.T) {
	motoTable(t)
	// A fixed clock 20 s into the current minute: the burst cannot straddle windows.
	now := time.Now().UTC().Truncate(time.Minute).Add(20 * time.Second)
	c := newClock(now)
	a := ratelimit.NewDynamoDB(newClient(t), table, ratelimit.WithClock(c.Now))
	b := ratelimit.NewDynamoDB(newClient(t), table, ratelimit.WithClock(c.Now))
	end := now.Truncate(time.Minute).Add(time.Minute)

	checkBurst(t, burst(t, []ratelimit.Limiter{a, b}, 50, "keyhash", 10), 10, end)

	// The window's item: 10 hits and the TTL one minute after the window end.
	minute := now.Unix() / 60
	out, err := newClient(t).GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName:      aws.String(table),
		Key:            map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "keyhash#" + strconv.FormatInt(minute, 10)}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	if h, ok := out.Item["hits"].(*types.AttributeValueMemberN); !ok || h.Value != "10" {
		t.Errorf("hits = %#v, want 10", out.Item["hits"])
	}
	if e, ok := out.Item["expires_at"].(*types.AttributeValueMemberN); !ok || e.Value != strconv.FormatInt(end.Unix()+60, 10) {
		t.Errorf("expires_at = %#v, want %d", out.Item["expires_at"], end.Unix()+60)
	}

	// The next window admits again, on either instance.
	c.Set(end)
	checkBurst(t, burst(t, []ratelimit.Limiter{b, a}, 50, "keyhash", 10), 10, end.Add(time.Minute))
}

func TestMotoDeadEndpoint(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close()
	client := dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		Credentials:  aws.AnonymousCredentials{},
		BaseEndpoint: aws.String(url),
		Retryer:      aws.NopRetryer{},
	})
	d := ratelimit.NewDynamoDB(client, table)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := d.Allow(ctx, "keyhash", 10)
	if !errors.Is(err, ratelimit.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	if got.Allowed {
		t.Errorf("decision on error: %+v", got)
	}
	t.Log(err)
}

func BenchmarkDynamoDBAllowMoto(b *testing.B) {
	motoTable(b)
	d := ratelimit.NewDynamoDB(newClient(b), table)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if dec, err := d.Allow(ctx, "bench", 1<<30); err != nil || !dec.Allowed {
			b.Fatal(dec, err)
		}
	}
}
