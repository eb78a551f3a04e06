package ssmroutes_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// fakeSSM is an in-memory Parameter Store: GetParametersByPath with paging, PutParameter and
// DeleteParameters, with every call recorded and errors on demand.
type fakeSSM struct {
	mu       sync.Mutex
	params   map[string]types.Parameter
	pageSize int // parameters per GetParametersByPath page (SSM's maximum is 10)

	err        error  // when set, every GetParametersByPath call fails with it
	errOnToken string // when set, the page with this NextToken fails with errPage
	errPage    error
	putErr     error // when set, PutParameter fails with it
	deleteErr  error // when set, DeleteParameters fails with it

	// gate, when set, holds every GetParametersByPath call until it is closed; entered gets one
	// value per held call.
	gate    chan struct{}
	entered chan struct{}
	// freeze, when set, stops every call for that long regardless of its context, as a
	// Lambda sandbox frozen mid-call does; the call then fails with its context's error.
	freeze time.Duration

	gets    []ssm.GetParametersByPathInput
	puts    []ssm.PutParameterInput
	deletes [][]string
}

func newFakeSSM() *fakeSSM {
	return &fakeSSM{params: map[string]types.Parameter{}, pageSize: 10}
}

// set stores a parameter the way PutParameter with Overwrite does: a new version each time.
func (f *fakeSSM) set(name, value string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.setLocked(name, value, types.ParameterTypeString)
}

func (f *fakeSSM) setLocked(name, value string, typ types.ParameterType) int64 {
	v := f.params[name].Version + 1
	f.params[name] = types.Parameter{Name: aws.String(name), Value: aws.String(value), Version: v, Type: typ}
	return v
}

func (f *fakeSSM) remove(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.params, name)
}

func (f *fakeSSM) setErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

// calls is the number of GetParametersByPath calls so far.
func (f *fakeSSM) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.gets)
}

func (f *fakeSSM) GetParametersByPath(ctx context.Context, in *ssm.GetParametersByPathInput, _ ...func(*ssm.Options)) (*ssm.GetParametersByPathOutput, error) {
	f.mu.Lock()
	f.gets = append(f.gets, *in)
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
		select { // a hanging SSM: the call ends only with its context
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	token := aws.ToString(in.NextToken)
	if f.errOnToken != "" && token == f.errOnToken {
		return nil, f.errPage
	}
	path := aws.ToString(in.Path)
	var names []string
	for name := range f.params {
		rest, ok := strings.CutPrefix(name, strings.TrimSuffix(path, "/")+"/")
		if ok && (aws.ToBool(in.Recursive) || !strings.Contains(rest, "/")) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	start := 0
	if token != "" {
		var err error
		if start, err = strconv.Atoi(token); err != nil {
			return nil, fmt.Errorf("fake: bad NextToken %q", token)
		}
	}
	end := min(start+f.pageSize, len(names))
	out := &ssm.GetParametersByPathOutput{}
	for _, n := range names[start:end] {
		p := f.params[n]
		if p.Type == types.ParameterTypeSecureString && !aws.ToBool(in.WithDecryption) {
			p.Value = aws.String("kms:alias/aws/ssm:" + aws.ToString(p.Value))
		}
		out.Parameters = append(out.Parameters, p)
	}
	if end < len(names) {
		out.NextToken = aws.String(strconv.Itoa(end))
	}
	return out, nil
}

func (f *fakeSSM) PutParameter(_ context.Context, in *ssm.PutParameterInput, _ ...func(*ssm.Options)) (*ssm.PutParameterOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.puts = append(f.puts, *in)
	if f.putErr != nil {
		return nil, f.putErr
	}
	name := aws.ToString(in.Name)
	if _, exists := f.params[name]; exists && !aws.ToBool(in.Overwrite) {
		return nil, &types.ParameterAlreadyExists{Message: aws.String("The parameter already exists.")}
	}
	v := f.setLocked(name, aws.ToString(in.Value), in.Type)
	return &ssm.PutParameterOutput{Version: v, Tier: in.Tier}, nil
}

func (f *fakeSSM) DeleteParameters(_ context.Context, in *ssm.DeleteParametersInput, _ ...func(*ssm.Options)) (*ssm.DeleteParametersOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deletes = append(f.deletes, slices.Clone(in.Names))
	if f.deleteErr != nil {
		return nil, f.deleteErr
	}
	out := &ssm.DeleteParametersOutput{}
	for _, n := range in.Names {
		if _, ok := f.params[n]; ok {
			delete(f.params, n)
			out.DeletedParameters = append(out.DeletedParameters, n)
		} else {
			out.InvalidParameters = append(out.InvalidParameters, n)
		}
	}
	return out, nil
}

// logBuffer captures a logger's output as text lines without timestamps.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Lines returns every line logged so far.
func (b *logBuffer) Lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := strings.TrimSuffix(b.buf.String(), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func newLogger() (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	h := slog.NewTextHandler(b, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})
	return slog.New(h), b
}

// checkLines fails t unless the captured log is exactly want.
func checkLines(t *testing.T, logs *logBuffer, want ...string) {
	t.Helper()
	got := logs.Lines()
	if !slices.Equal(got, want) {
		t.Errorf("log lines:\n got %d:\n  %s\nwant %d:\n  %s", len(got), strings.Join(got, "\n  "), len(want), strings.Join(want, "\n  "))
	}
}

// spec is a minimal valid route spec.
func spec(path, target string) string {
	return fmt.Sprintf(`{"path":%q,"target":%q,"auth":true}`, path, target)
}
