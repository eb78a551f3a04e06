package awssecrets_test

import (
	"context"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// fakeSM is an in-memory Secrets Manager: GetSecretValue and BatchGetSecretValue, every call
// recorded, errors on demand.
type fakeSM struct {
	mu      sync.Mutex
	secrets map[string]string

	getErr    error             // when set, GetSecretValue fails with it
	batchErr  error             // when set, BatchGetSecretValue fails with it
	batchCode map[string]string // per-id error codes BatchGetSecretValue reports in Errors
	binary    map[string][]byte // secrets holding only a SecretBinary (no SecretString)
	omit      map[string]bool   // ids BatchGetSecretValue leaves out of its answer altogether

	// gate, when set, holds GetSecretValue until it is closed; entered gets a value per held call.
	gate    chan struct{}
	entered chan struct{}
	// freeze, when set, stops every GetSecretValue for that long regardless of its context, as
	// a Lambda sandbox frozen mid-call does; the call then fails with its context's error.
	freeze time.Duration

	gets    []string   // the SecretId of each GetSecretValue call
	batches [][]string // the SecretIdList of each BatchGetSecretValue call
}

func newFakeSM(secrets map[string]string) *fakeSM {
	return &fakeSM{secrets: secrets, batchCode: map[string]string{}, binary: map[string][]byte{}, omit: map[string]bool{}}
}

// setBinary makes id a binary-only secret, as one stored with SecretBinary is.
func (f *fakeSM) setBinary(id string, b []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.secrets, id)
	f.binary[id] = b
}

func (f *fakeSM) set(id, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secrets[id] = value
}

func (f *fakeSM) setGetErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.getErr = err
}

func (f *fakeSM) getCalls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.gets)
}

func notFound() error {
	return &types.ResourceNotFoundException{Message: aws.String("Secrets Manager can't find the specified secret.")}
}

func (f *fakeSM) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.mu.Lock()
	id := aws.ToString(in.SecretId)
	f.gets = append(f.gets, id)
	gate, entered, freeze := f.gate, f.entered, f.freeze
	f.mu.Unlock()
	if freeze > 0 {
		time.Sleep(freeze)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	if gate != nil {
		if entered != nil {
			entered <- struct{}{}
		}
		select { // a hanging Secrets Manager: the call ends only with its context
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.getErr != nil {
		return nil, f.getErr
	}
	if b, ok := f.binary[id]; ok {
		return &secretsmanager.GetSecretValueOutput{Name: aws.String(id), SecretBinary: b, VersionStages: []string{"AWSCURRENT"}}, nil
	}
	v, ok := f.secrets[id]
	if !ok {
		return nil, notFound()
	}
	return &secretsmanager.GetSecretValueOutput{Name: aws.String(id), SecretString: aws.String(v), VersionStages: []string{"AWSCURRENT"}}, nil
}

func (f *fakeSM) BatchGetSecretValue(ctx context.Context, in *secretsmanager.BatchGetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.BatchGetSecretValueOutput, error) {
	f.mu.Lock()
	f.batches = append(f.batches, slices.Clone(in.SecretIdList))
	gate := f.gate
	f.mu.Unlock()
	if gate != nil { // a hanging Secrets Manager: the call ends only with its context
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.batchErr != nil {
		return nil, f.batchErr
	}
	if len(in.SecretIdList) > 20 {
		return nil, &types.InvalidParameterException{Message: aws.String("too many secret ids")}
	}
	out := &secretsmanager.BatchGetSecretValueOutput{}
	for _, id := range in.SecretIdList {
		if f.omit[id] {
			continue
		}
		if b, ok := f.binary[id]; ok {
			out.SecretValues = append(out.SecretValues, types.SecretValueEntry{Name: aws.String(id), SecretBinary: b})
			continue
		}
		if code, ok := f.batchCode[id]; ok {
			out.Errors = append(out.Errors, types.APIErrorType{SecretId: aws.String(id), ErrorCode: aws.String(code), Message: aws.String("no")})
			continue
		}
		v, ok := f.secrets[id]
		if !ok {
			out.Errors = append(out.Errors, types.APIErrorType{
				SecretId: aws.String(id), ErrorCode: aws.String("ResourceNotFoundException"),
				Message: aws.String("Secrets Manager can't find the specified secret."),
			})
			continue
		}
		out.SecretValues = append(out.SecretValues, types.SecretValueEntry{
			Name: aws.String(id), ARN: aws.String("arn:aws:secretsmanager:us-east-1:123456789012:secret:" + id + "-AbCdEf"),
			SecretString: aws.String(v),
		})
	}
	return out, nil
}

// waitForFollowers waits until n goroutines are parked in the resolver's wait for the call in
// flight, so that releasing that call cannot race with a late caller. Goroutine stacks are the
// only way to see a goroutine parked there.
func waitForFollowers(t *testing.T, n int) {
	t.Helper()
	buf := make([]byte, 1<<20)
	got := 0
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		got = 0
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			if strings.Contains(g, " [select") && strings.Contains(g, "awssecrets.(*Resolver).wait(") {
				got++
			}
		}
		if got >= n {
			return
		}
	}
	t.Fatalf("%d goroutines waiting for a shared fetch after 10s, want %d", got, n)
}
