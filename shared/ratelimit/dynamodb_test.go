//go:build !noawsbackends

package ratelimit_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/passthru/gateway/shared/ratelimit"
)

// fakeDDB evaluates the limiter's conditional update on an in-memory table, recording inputs.
type fakeDDB struct {
	mu    sync.Mutex
	items map[string]int // pk → hits
	ins   []*dynamodb.UpdateItemInput
	err   error // returned instead when set
}

func (f *fakeDDB) UpdateItem(_ context.Context, in *dynamodb.UpdateItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ins = append(f.ins, in)
	if f.err != nil {
		return nil, f.err
	}
	pk := in.Key["pk"].(*types.AttributeValueMemberS).Value
	limit, _ := strconv.Atoi(in.ExpressionAttributeValues[":limit"].(*types.AttributeValueMemberN).Value)
	hits, ok := f.items[pk]
	if ok && hits >= limit {
		return nil, &types.ConditionalCheckFailedException{Message: aws.String("The conditional request failed")}
	}
	f.items[pk] = hits + 1
	return &dynamodb.UpdateItemOutput{Attributes: map[string]types.AttributeValue{
		"hits":       &types.AttributeValueMemberN{Value: strconv.Itoa(hits + 1)},
		"expires_at": in.ExpressionAttributeValues[":exp"],
	}}, nil
}

func TestDynamoDBRequest(t *testing.T) {
	f := &fakeDDB{items: map[string]int{}}
	d := ratelimit.NewDynamoDB(f, "limits", ratelimit.WithClock(newClock(t0).Now))
	got, err := d.Allow(context.Background(), "abc", 2)
	end := time.Date(2026, 3, 14, 15, 10, 0, 0, time.UTC)
	if want := (ratelimit.Decision{Allowed: true, Limit: 2, Remaining: 1, Reset: end}); err != nil || got != want {
		t.Fatalf("got %+v, %v; want %+v", got, err, want)
	}
	in := f.ins[0]
	minute := t0.Unix() / 60
	checks := []struct{ name, got, want string }{
		{"table", aws.ToString(in.TableName), "limits"},
		{"pk", in.Key["pk"].(*types.AttributeValueMemberS).Value, "abc#" + strconv.FormatInt(minute, 10)},
		{"ItemKey", ratelimit.ItemKey("abc", t0), "abc#" + strconv.FormatInt(minute, 10)},
		{"update", aws.ToString(in.UpdateExpression), "SET #exp = :exp ADD #hits :one"},
		{"condition", aws.ToString(in.ConditionExpression), "attribute_not_exists(#hits) OR #hits < :limit"},
		{"#hits", in.ExpressionAttributeNames["#hits"], "hits"},
		{"#exp", in.ExpressionAttributeNames["#exp"], "expires_at"},
		{":one", in.ExpressionAttributeValues[":one"].(*types.AttributeValueMemberN).Value, "1"},
		{":limit", in.ExpressionAttributeValues[":limit"].(*types.AttributeValueMemberN).Value, "2"},
		{":exp", in.ExpressionAttributeValues[":exp"].(*types.AttributeValueMemberN).Value, strconv.FormatInt(end.Unix()+60, 10)},
		{"returns", string(in.ReturnValues), "UPDATED_NEW"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}

	got, _ = d.Allow(context.Background(), "abc", 2)
	if want := (ratelimit.Decision{Allowed: true, Limit: 2, Remaining: 0, Reset: end}); got != want {
		t.Errorf("second: got %+v, want %+v", got, want)
	}
	got, err = d.Allow(context.Background(), "abc", 2)
	if want := (ratelimit.Decision{Allowed: false, Limit: 2, Remaining: 0, Reset: end}); err != nil || got != want {
		t.Errorf("third (conditional failure): got %+v, %v; want %+v", got, err, want)
	}
}

func TestDynamoDBErrors(t *testing.T) {
	cause := errors.New("ProvisionedThroughputExceededException")
	f := &fakeDDB{items: map[string]int{}, err: cause}
	d := ratelimit.NewDynamoDB(f, "limits", ratelimit.WithClock(newClock(t0).Now))
	got, err := d.Allow(context.Background(), "abc", 2)
	if !errors.Is(err, ratelimit.ErrUnavailable) || !errors.Is(err, cause) {
		t.Errorf("err = %v: want it to wrap ErrUnavailable and the cause", err)
	}
	if got != (ratelimit.Decision{}) {
		t.Errorf("decision on error: %+v, want zero", got)
	}
	// A conditional failure wrapped by the SDK (as *smithy.OperationError does) is a refusal.
	f.err = &wrapped{&types.ConditionalCheckFailedException{}}
	if got, err := d.Allow(context.Background(), "abc", 2); err != nil || got.Allowed {
		t.Errorf("wrapped conditional failure: %+v, %v; want refused, no error", got, err)
	}
}

type wrapped struct{ err error }

func (w *wrapped) Error() string { return "operation UpdateItem: " + w.err.Error() }
func (w *wrapped) Unwrap() error { return w.err }

func TestDynamoDBUnlimitedNoCall(t *testing.T) {
	f := &fakeDDB{items: map[string]int{}}
	d := ratelimit.NewDynamoDB(f, "limits")
	for _, rpm := range []int{0, -1} {
		got, err := d.Allow(context.Background(), "abc", rpm)
		if want := (ratelimit.Decision{Allowed: true, Limit: 0, Remaining: -1}); err != nil || got != want {
			t.Errorf("rpm %d: got %+v, %v; want %+v", rpm, got, err, want)
		}
	}
	if len(f.ins) != 0 {
		t.Errorf("%d UpdateItem calls for unlimited keys, want 0", len(f.ins))
	}
}

// Both limiters satisfy Limiter.
var _ = []ratelimit.Limiter{(*ratelimit.Memory)(nil), (*ratelimit.DynamoDB)(nil)}
