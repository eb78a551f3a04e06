package awssecrets_test

import (
	"context"
	"errors"
	"os"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/passthru/gateway/shared/awssecrets"
	"github.com/passthru/gateway/shared/clocktest"
	"github.com/passthru/gateway/shared/motoserver"
	"github.com/passthru/gateway/shared/secrets"
)

func TestMain(m *testing.M) { os.Exit(motoserver.Main(m)) }

// countingSM counts the real client's calls.
type countingSM struct {
	*secretsmanager.Client
	gets    []string
	batches [][]string
}

func (c *countingSM) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	c.gets = append(c.gets, aws.ToString(in.SecretId))
	return c.Client.GetSecretValue(ctx, in, opts...)
}

func (c *countingSM) BatchGetSecretValue(ctx context.Context, in *secretsmanager.BatchGetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.BatchGetSecretValueOutput, error) {
	c.batches = append(c.batches, in.SecretIdList)
	return c.Client.BatchGetSecretValue(ctx, in, opts...)
}

func motoSecrets(t *testing.T, ctx context.Context) *countingSM {
	t.Helper()
	motoserver.Require(t)
	client := &countingSM{Client: secretsmanager.NewFromConfig(motoserver.Config(t))}
	for name, value := range map[string]string{
		"llm-gateway/COHERE_API_KEY": "co-s3cr3t",
		"llm-gateway/LANGFUSE":       `{"public":"pk-lf-1","secret":"sk-lf-s3cr3t","port":443}`,
	} {
		if _, err := client.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)}); err != nil {
			t.Fatal(err)
		}
	}
	return client
}

func TestMotoResolve(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := motoSecrets(t, ctx)
	r := awssecrets.New(client, awssecrets.WithPrefix("llm-gateway/"), awssecrets.WithClock(clocktest.New().Now))
	for ref, want := range map[string]string{
		"COHERE_API_KEY":  "co-s3cr3t",
		"LANGFUSE:public": "pk-lf-1",
		"LANGFUSE:secret": "sk-lf-s3cr3t",
		"LANGFUSE:port":   "443",
	} {
		if got, err := r.Resolve(ctx, ref); got != want || err != nil {
			t.Errorf("Resolve(%q) = %q, %v; want %q", ref, got, err, want)
		}
	}
	var nf *secrets.NotFoundError
	_, err := r.Resolve(ctx, "MISSING")
	if !errors.As(err, &nf) || nf.Name != "llm-gateway/MISSING" || err.Error() != `secret "llm-gateway/MISSING" is not set` {
		t.Errorf("Resolve(MISSING) = %v, want not found naming llm-gateway/MISSING", err)
	}
	if _, err := r.Resolve(ctx, "LANGFUSE:nope"); !errors.As(err, &nf) || nf.Name != "llm-gateway/LANGFUSE:nope" {
		t.Errorf("Resolve(LANGFUSE:nope) = %v", err)
	}
	want := []string{"llm-gateway/COHERE_API_KEY", "llm-gateway/LANGFUSE", "llm-gateway/MISSING"}
	if got := slices.Sorted(slices.Values(client.gets)); !slices.Equal(got, want) {
		t.Errorf("GetSecretValue calls %q, want one each of %q", client.gets, want)
	}
}

// Prefetch over moto: one BatchGetSecretValue, a missing id reported in Errors and cached as
// missing, then every Resolve from the cache.
func TestMotoPrefetch(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := motoSecrets(t, ctx)
	r := awssecrets.New(client, awssecrets.WithPrefix("llm-gateway/"), awssecrets.WithClock(clocktest.New().Now))
	r.Prefetch(ctx, []string{"COHERE_API_KEY", "LANGFUSE:public", "LANGFUSE:secret", "MISSING"})
	wantBatch := [][]string{{"llm-gateway/COHERE_API_KEY", "llm-gateway/LANGFUSE", "llm-gateway/MISSING"}}
	if !reflect.DeepEqual(client.batches, wantBatch) {
		t.Errorf("batches %q, want %q", client.batches, wantBatch)
	}
	if got, err := r.Resolve(ctx, "LANGFUSE:secret"); got != "sk-lf-s3cr3t" || err != nil {
		t.Errorf("LANGFUSE:secret = %q, %v", got, err)
	}
	if got, err := r.Resolve(ctx, "COHERE_API_KEY"); got != "co-s3cr3t" || err != nil {
		t.Errorf("COHERE_API_KEY = %q, %v", got, err)
	}
	var nf *secrets.NotFoundError
	if _, err := r.Resolve(ctx, "MISSING"); !errors.As(err, &nf) || nf.Name != "llm-gateway/MISSING" {
		t.Errorf("MISSING = %v, want not found", err)
	}
	if len(client.gets) != 0 {
		t.Errorf("resolves after Prefetch called GetSecretValue for %q", client.gets)
	}
}

// Rotation: a new value is not seen within the TTL, and is seen at once after Invalidate (the
// proxy's reaction to a 401).
func TestMotoRotation(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := motoSecrets(t, ctx)
	clock := clocktest.New()
	r := awssecrets.New(client, awssecrets.WithPrefix("llm-gateway/"), awssecrets.WithClock(clock.Now))
	if got, _ := r.Resolve(ctx, "COHERE_API_KEY"); got != "co-s3cr3t" {
		t.Fatalf("before rotation: %q", got)
	}
	if _, err := client.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId: aws.String("llm-gateway/COHERE_API_KEY"), SecretString: aws.String("co-rotated"),
	}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(awssecrets.DefaultTTL - time.Second)
	if got, _ := r.Resolve(ctx, "COHERE_API_KEY"); got != "co-s3cr3t" {
		t.Errorf("within the TTL: %q, want the cached value", got)
	}
	r.Invalidate("COHERE_API_KEY")
	if got, _ := r.Resolve(ctx, "COHERE_API_KEY"); got != "co-rotated" {
		t.Errorf("after Invalidate: %q, want the rotated value", got)
	}
	if len(client.gets) != 2 {
		t.Errorf("%d GetSecretValue calls, want 2", len(client.gets))
	}
}
