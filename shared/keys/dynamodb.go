//go:build !noawsbackends

package keys

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

// DynamoDBAPI is the part of *dynamodb.Client the DynamoDB store uses.
type DynamoDBAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// DynamoDB is a Store in a DynamoDB table (layout in the package doc).
type DynamoDB struct {
	api   DynamoDBAPI
	table string
}

// Attribute names of the table.
const (
	attrHash     = "key_hash"
	attrAlias    = "alias"
	attrCreated  = "created"
	attrExpires  = "expires"
	attrDisabled = "disabled"
	attrRoutes   = "routes"
	attrRPM      = "rpm"
	attrTags     = "tags"
	attrMetadata = "metadata"
)

// NewDynamoDB returns a store in table, through api (usually dynamodb.NewFromConfig(cfg)).
func NewDynamoDB(api DynamoDBAPI, table string) *DynamoDB {
	return &DynamoDB{api: api, table: table}
}

// Get implements Store with a strongly consistent read.
func (d *DynamoDB) Get(ctx context.Context, hash string) (Key, bool, error) {
	out, err := d.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(d.table),
		Key:            map[string]types.AttributeValue{attrHash: &types.AttributeValueMemberS{Value: hash}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Key{}, false, fmt.Errorf("keys: get from %s: %w", d.table, err)
	}
	if len(out.Item) == 0 {
		return Key{}, false, nil
	}
	k, err := decode(out.Item)
	if err != nil {
		return Key{}, false, err
	}
	return k, true, nil
}

// Put implements Store: a conditional PutItem, so an existing hash is never overwritten.
func (d *DynamoDB) Put(ctx context.Context, k Key) error {
	if k.Hash == "" {
		return errors.New("keys: a key needs a hash")
	}
	_, err := d.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(d.table),
		Item:                     encode(k),
		ConditionExpression:      aws.String("attribute_not_exists(#h)"),
		ExpressionAttributeNames: map[string]string{"#h": attrHash},
	})
	var cond *types.ConditionalCheckFailedException
	if errors.As(err, &cond) {
		return fmt.Errorf("%w: %s", ErrExists, k.Hash)
	}
	if err != nil {
		return fmt.Errorf("keys: put into %s: %w", d.table, err)
	}
	return nil
}

// List implements Store: a paginated Scan.
func (d *DynamoDB) List(ctx context.Context) ([]Key, error) {
	return d.scan(ctx, nil)
}

func (d *DynamoDB) scan(ctx context.Context, alias *string) ([]Key, error) {
	in := &dynamodb.ScanInput{TableName: aws.String(d.table), ConsistentRead: aws.Bool(true)}
	if alias != nil {
		in.FilterExpression = aws.String("#a = :a")
		in.ExpressionAttributeNames = map[string]string{"#a": attrAlias}
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":a": &types.AttributeValueMemberS{Value: *alias}}
	}
	var out []Key
	for {
		page, err := d.api.Scan(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("keys: scan %s: %w", d.table, err)
		}
		for _, item := range page.Items {
			k, err := decode(item)
			if err != nil {
				return nil, err
			}
			out = append(out, k)
		}
		if len(page.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
	sortKeys(out)
	return out, nil
}

// Revoke implements Store: by hash if aliasOrHash is a stored hash, else a Scan for the alias;
// then an UpdateItem that sets disabled (conditional on the item existing).
func (d *DynamoDB) Revoke(ctx context.Context, aliasOrHash string) (Key, error) {
	hash := ""
	if isHash(aliasOrHash) {
		if _, ok, err := d.Get(ctx, aliasOrHash); err != nil {
			return Key{}, err
		} else if ok {
			hash = aliasOrHash
		}
	}
	if hash == "" {
		found, err := d.scan(ctx, &aliasOrHash)
		if err != nil {
			return Key{}, err
		}
		k, err := byAlias(found, aliasOrHash)
		if err != nil {
			return Key{}, err
		}
		hash = k.Hash
	}
	out, err := d.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(d.table),
		Key:                       map[string]types.AttributeValue{attrHash: &types.AttributeValueMemberS{Value: hash}},
		UpdateExpression:          aws.String("SET #d = :t"),
		ConditionExpression:       aws.String("attribute_exists(#h)"),
		ExpressionAttributeNames:  map[string]string{"#d": attrDisabled, "#h": attrHash},
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberBOOL{Value: true}},
		ReturnValues:              types.ReturnValueAllNew,
	})
	var cond *types.ConditionalCheckFailedException
	if errors.As(err, &cond) {
		return Key{}, fmt.Errorf("%w: %q", ErrNotFound, aliasOrHash)
	}
	if err != nil {
		return Key{}, fmt.Errorf("keys: revoke in %s: %w", d.table, err)
	}
	return decode(out.Attributes)
}

func encode(k Key) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{
		attrHash:     &types.AttributeValueMemberS{Value: k.Hash},
		attrAlias:    &types.AttributeValueMemberS{Value: k.Alias},
		attrCreated:  &types.AttributeValueMemberS{Value: k.Created.UTC().Format(time.RFC3339)},
		attrDisabled: &types.AttributeValueMemberBOOL{Value: k.Disabled},
		attrRoutes:   list(k.Routes),
		attrTags:     list(k.Tags),
	}
	if k.Expires != nil {
		item[attrExpires] = &types.AttributeValueMemberS{Value: k.Expires.UTC().Format(time.RFC3339)}
	}
	if k.RPM != 0 {
		item[attrRPM] = &types.AttributeValueMemberN{Value: strconv.Itoa(k.RPM)}
	}
	if len(k.Metadata) > 0 {
		m := make(map[string]types.AttributeValue, len(k.Metadata))
		for a, b := range k.Metadata {
			m[a] = &types.AttributeValueMemberS{Value: b}
		}
		item[attrMetadata] = &types.AttributeValueMemberM{Value: m}
	}
	return item
}

func list(ss []string) types.AttributeValue {
	l := make([]types.AttributeValue, len(ss))
	for i, s := range ss {
		l[i] = &types.AttributeValueMemberS{Value: s}
	}
	return &types.AttributeValueMemberL{Value: l}
}

// decode reads an item; a malformed attribute is an error naming the item's hash.
func decode(item map[string]types.AttributeValue) (Key, error) {
	var k Key
	bad := func(attr string) (Key, error) {
		return Key{}, fmt.Errorf("keys: item %q: malformed attribute %s", k.Hash, attr)
	}
	h, ok := item[attrHash].(*types.AttributeValueMemberS)
	if !ok {
		return Key{}, fmt.Errorf("keys: item without a %s string", attrHash)
	}
	k.Hash = h.Value
	for name, v := range item {
		switch name {
		case attrAlias:
			s, ok := v.(*types.AttributeValueMemberS)
			if !ok {
				return bad(name)
			}
			k.Alias = s.Value
		case attrCreated, attrExpires:
			s, ok := v.(*types.AttributeValueMemberS)
			if !ok {
				return bad(name)
			}
			t, err := time.Parse(time.RFC3339, s.Value)
			if err != nil {
				return bad(name)
			}
			if name == attrCreated {
				k.Created = t
			} else {
				k.Expires = &t
			}
		case attrDisabled:
			b, ok := v.(*types.AttributeValueMemberBOOL)
			if !ok {
				return bad(name)
			}
			k.Disabled = b.Value
		case attrRPM:
			n, ok := v.(*types.AttributeValueMemberN)
			if !ok {
				return bad(name)
			}
			rpm, err := strconv.Atoi(n.Value)
			if err != nil || rpm < 0 {
				return bad(name)
			}
			k.RPM = rpm
		case attrRoutes, attrTags:
			ss, ok := stringList(v)
			if !ok {
				return bad(name)
			}
			if name == attrRoutes {
				k.Routes = ss
			} else {
				k.Tags = ss
			}
		case attrMetadata:
			m, ok := v.(*types.AttributeValueMemberM)
			if !ok {
				return bad(name)
			}
			if len(m.Value) > 0 {
				k.Metadata = make(map[string]string, len(m.Value))
			}
			for a, b := range m.Value {
				s, ok := b.(*types.AttributeValueMemberS)
				if !ok {
					return bad(name + "." + a)
				}
				k.Metadata[a] = s.Value
			}
		}
	}
	return k, nil
}

// stringList reads an L of S or an SS; empty is nil.
func stringList(v types.AttributeValue) ([]string, bool) {
	switch v := v.(type) {
	case *types.AttributeValueMemberSS:
		if len(v.Value) == 0 {
			return nil, true
		}
		return append([]string(nil), v.Value...), true
	case *types.AttributeValueMemberL:
		if len(v.Value) == 0 {
			return nil, true
		}
		out := make([]string, len(v.Value))
		for i, e := range v.Value {
			s, ok := e.(*types.AttributeValueMemberS)
			if !ok {
				return nil, false
			}
			out[i] = s.Value
		}
		return out, true
	case *types.AttributeValueMemberNULL:
		return nil, true
	}
	return nil, false
}

// TableCreator is the part of *dynamodb.Client that CreateTable uses.
type TableCreator interface {
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
}

// CreateTable creates a keys table (partition key key_hash, on demand) for local stacks on moto
// and tests; in AWS, template.yaml creates it.
func CreateTable(ctx context.Context, api TableCreator, table string) error {
	_, err := api.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(attrHash), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(attrHash), KeyType: types.KeyTypeHash}},
	})
	if err != nil {
		return fmt.Errorf("create keys table %s: %w", table, err)
	}
	return nil
}
