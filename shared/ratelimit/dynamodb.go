//go:build !noawsbackends

package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DynamoDBAPI is the part of the DynamoDB client the limiter uses (*dynamodb.Client has it).
type DynamoDBAPI interface {
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// Attribute names of the counter items.
const (
	AttrPK        = "pk"         // string partition key: "<key>#<unix minute>"
	AttrHits      = "hits"       // number of admitted requests in the window
	AttrExpiresAt = "expires_at" // TTL attribute, epoch seconds: window end + 1 minute
)

const (
	updateExpression    = "SET #exp = :exp ADD #hits :one"
	conditionExpression = "attribute_not_exists(#hits) OR #hits < :limit"
)

// DynamoDB is a fixed one-minute window per key kept in a DynamoDB table: one conditional
// UpdateItem per request, atomic, so every instance sharing the table together admits exactly
// rpm per window. See the package documentation for the item layout and precision.
type DynamoDB struct {
	api     DynamoDBAPI
	table   string
	now     func() time.Time
	timeout time.Duration
}

// NewDynamoDB returns a limiter counting in table, whose partition key is the string "pk" and
// whose TTL attribute should be "expires_at".
func NewDynamoDB(api DynamoDBAPI, table string, opts ...Option) *DynamoDB {
	o := newOptions(opts)
	return &DynamoDB{api: api, table: table, now: o.now, timeout: o.timeout}
}

// ItemKey is the partition key value of key's counter for the window containing t.
func ItemKey(key string, t time.Time) string {
	minute, _ := window(t)
	return key + "#" + strconv.FormatInt(minute, 10)
}

// Allow implements Limiter with one conditional UpdateItem. A full window is a refusal, not an
// error; any other failure is returned wrapped in ErrUnavailable.
func (d *DynamoDB) Allow(ctx context.Context, key string, rpm int) (Decision, error) {
	if rpm <= 0 {
		return unlimited, nil
	}
	minute, end := window(d.now())
	// The caller's cancellation still applies (a caller that left is not an outage); the
	// timeout is on top of it.
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	out, err := d.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(d.table),
		Key: map[string]types.AttributeValue{
			AttrPK: &types.AttributeValueMemberS{Value: key + "#" + strconv.FormatInt(minute, 10)},
		},
		UpdateExpression:         aws.String(updateExpression),
		ConditionExpression:      aws.String(conditionExpression),
		ExpressionAttributeNames: map[string]string{"#hits": AttrHits, "#exp": AttrExpiresAt},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":one":   &types.AttributeValueMemberN{Value: "1"},
			":limit": &types.AttributeValueMemberN{Value: strconv.Itoa(rpm)},
			":exp":   &types.AttributeValueMemberN{Value: strconv.FormatInt(end.Unix()+60, 10)},
		},
		ReturnValues: types.ReturnValueUpdatedNew,
	})
	if err != nil {
		var full *types.ConditionalCheckFailedException
		if errors.As(err, &full) {
			return Decision{Allowed: false, Limit: rpm, Remaining: 0, Reset: end}, nil
		}
		return Decision{}, fmt.Errorf("%w: update %s in %s: %w", ErrUnavailable, AttrHits, d.table, err)
	}
	hits, err := numberAttr(out.Attributes, AttrHits)
	if err != nil {
		return Decision{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	remaining := rpm - hits
	if remaining < 0 { // the limit was lowered within the window; cannot happen otherwise
		remaining = 0
	}
	return Decision{Allowed: true, Limit: rpm, Remaining: remaining, Reset: end}, nil
}

func numberAttr(attrs map[string]types.AttributeValue, name string) (int, error) {
	v, ok := attrs[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("UpdateItem returned no number %q", name)
	}
	n, err := strconv.Atoi(v.Value)
	if err != nil {
		return 0, fmt.Errorf("UpdateItem returned %q = %q: %w", name, v.Value, err)
	}
	return n, nil
}

// TableAPI is the part of *dynamodb.Client that CreateTable uses.
type TableAPI interface {
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	UpdateTimeToLive(ctx context.Context, in *dynamodb.UpdateTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
}

// CreateTable creates a counters table (partition key pk, on demand, TTL on expires_at) for
// local stacks on moto and tests; in AWS, template.yaml creates it.
func CreateTable(ctx context.Context, api TableAPI, table string) error {
	if _, err := api.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(AttrPK), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(AttrPK), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	}); err != nil {
		return fmt.Errorf("create rate limit table %s: %w", table, err)
	}
	if _, err := api.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(table),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(AttrExpiresAt), Enabled: aws.Bool(true)},
	}); err != nil {
		return fmt.Errorf("enable TTL on rate limit table %s: %w", table, err)
	}
	return nil
}
