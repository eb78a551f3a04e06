//go:build !noawsbackends

package keys_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/passthru/gateway/shared/keys"
)

// pagedScan is a DynamoDBAPI whose Scan answers in two pages; the other calls fail.
type pagedScan struct {
	keys.DynamoDBAPI
	starts []map[string]types.AttributeValue
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func (p *pagedScan) Scan(_ context.Context, in *dynamodb.ScanInput, _ ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	p.starts = append(p.starts, in.ExclusiveStartKey)
	if in.ExclusiveStartKey == nil {
		return &dynamodb.ScanOutput{
			Items: []map[string]types.AttributeValue{{
				"key_hash": s("h2"), "alias": s("zed"), "created": s("2026-03-01T12:00:00Z"),
				"routes": &types.AttributeValueMemberSS{Value: []string{"/v1/rerank"}},
				"tags":   &types.AttributeValueMemberSS{Value: []string{"t"}},
			}},
			LastEvaluatedKey: map[string]types.AttributeValue{"key_hash": s("h2")},
		}, nil
	}
	return &dynamodb.ScanOutput{Items: []map[string]types.AttributeValue{{
		"key_hash": s("h1"), "alias": s("amy"), "created": s("2026-03-01T12:00:00Z"),
		"rpm": &types.AttributeValueMemberN{Value: "5"}, "disabled": &types.AttributeValueMemberBOOL{Value: true},
	}}}, nil
}

func TestDynamoDBListPaginatesAndReadsStringSets(t *testing.T) {
	api := &pagedScan{}
	got, err := keys.NewDynamoDB(api, "t").List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []keys.Key{
		{Hash: "h1", Alias: "amy", Created: t0, RPM: 5, Disabled: true},
		{Hash: "h2", Alias: "zed", Created: t0, Routes: []string{"/v1/rerank"}, Tags: []string{"t"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("List = %+v\nwant %+v", got, want)
	}
	if len(api.starts) != 2 || api.starts[0] != nil || !reflect.DeepEqual(api.starts[1], map[string]types.AttributeValue{"key_hash": s("h2")}) {
		t.Fatalf("scan start keys %v, want nil then the first page's last key", api.starts)
	}
}

// getFails is a DynamoDBAPI whose GetItem fails.
type getFails struct{ keys.DynamoDBAPI }

var errThrottled = errors.New("ProvisionedThroughputExceededException")

func (getFails) GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return nil, errThrottled
}

func TestDynamoDBGetErrorWrapped(t *testing.T) {
	_, ok, err := keys.NewDynamoDB(getFails{}, "t").Get(context.Background(), "h")
	if ok || !errors.Is(err, errThrottled) {
		t.Fatalf("Get = %v, %v; want the API error", ok, err)
	}
}
