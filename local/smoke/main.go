// Command smoke is the post-deploy check of a stack: it calls the Function URL and the REST API
// with a streamed call (printing each event's arrival time), a rerank call, a call without a key
// and an unknown path, and exits 1 naming every check that failed: a wrong status or body, or a
// stream that arrived buffered.
//
// Nothing else proves that streaming works through a real deployment: aws-lambda-go never
// sends Lambda-Runtime-Function-Response-Mode: streaming, and sam local and the runtime
// interface emulator buffer. See "After deploying: smoke test" in README.md.
//
//	SMOKE_KEY=sk-... smoke -url FUNCTION_URL -api-url REST_API_URL
//	SMOKE_KEY=sk-... smoke -stack llm-gateway-dev     (both URLs from the stack's outputs)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// keyEnv holds the gateway key: an environment variable, not a flag, so the key stays out of
// shell history and process listings.
const keyEnv = "SMOKE_KEY"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// options are the command line.
type options struct {
	functionURL, apiURL, stack string
	key                        string
	streamPath, streamBody     string
	rerankPath, rerankBody     string
	unknownPath                string
	headers                    headerList
	timeout                    time.Duration
	rule                       rule
}

// The defaults call routes of the bundled Lambda config, functions/gateway/config.yaml
// (TestDefaultsMatchTheLambdaConfig): /anthropic (include_subpath) and /v1/rerank.
const (
	defaultStreamPath = "/anthropic/v1/messages"
	// A count to 200 makes the model write for seconds (hundreds of tokens), far longer than
	// -min-spread, so a streamed answer cannot look buffered by chance.
	defaultStreamBody  = `{"model":"claude-haiku-4-5","max_tokens":1024,"stream":true,"messages":[{"role":"user","content":"Count from 1 to 200, one number per line, nothing else."}]}`
	defaultRerankPath  = "/v1/rerank"
	defaultRerankBody  = `{"model":"rerank-english-v3.0","query":"What is the capital of the United States?","top_n":2,"documents":["Carson City is the capital city of Nevada.","Washington, D.C. is the capital of the United States."]}`
	defaultUnknownPath = "/smoke-test/no-such-route"
)

func parseFlags(args []string, getenv func(string) string, stdout io.Writer) (options, error) {
	o := options{key: getenv(keyEnv), headers: headerList{values: []string{"anthropic-version: 2023-06-01"}}}
	fs := flag.NewFlagSet("smoke", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.functionURL, "url", "", "the stack's Function URL (output FunctionUrl)")
	fs.StringVar(&o.apiURL, "api-url", "", "the stack's REST API URL with its stage (output ApiUrl)")
	fs.StringVar(&o.stack, "stack", "", "read -url and -api-url from this CloudFormation stack's outputs (standard AWS credential chain)")
	fs.StringVar(&o.streamPath, "stream-path", defaultStreamPath, "path of the streamed call (POST)")
	fs.StringVar(&o.streamBody, "stream-body", defaultStreamBody, "body of the streamed call")
	fs.Var(&o.headers, "header", "extra `name: value` header of the streamed call (repeatable; the first replaces the default)")
	fs.StringVar(&o.rerankPath, "rerank-path", defaultRerankPath, "path of the rerank call (POST), and of the call without a key")
	fs.StringVar(&o.rerankBody, "rerank-body", defaultRerankBody, "body of the rerank call")
	fs.StringVar(&o.unknownPath, "unknown-path", defaultUnknownPath, "a path no route serves (GET, expects 404)")
	fs.DurationVar(&o.timeout, "timeout", 90*time.Second, "limit of each call, cold start included")
	fs.IntVar(&o.rule.minEvents, "min-events", 5, "a stream needs at least this many events to be judged")
	fs.DurationVar(&o.rule.minSpread, "min-spread", 500*time.Millisecond, "a stream whose first and last events arrive closer than this is buffered")
	fs.DurationVar(&o.rule.burst, "burst", 50*time.Millisecond, "events arriving within this of the last one form the final burst; more than half of them there is buffered")
	fs.Usage = func() {} // on -h only, below: a wrong flag gets one line on stderr, not the usage
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(stdout, "usage: %s=KEY smoke (-url FUNCTION_URL | -api-url REST_API_URL | -stack NAME) [flags]\n\n", keyEnv)
		fmt.Fprintln(stdout, "Calls a deployed stack's front doors and exits 1 naming each failed check. flags:")
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return o, err
	} else if err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return o, o.check()
}

// check reports what the command line lacks.
func (o options) check() error {
	switch {
	case o.functionURL == "" && o.apiURL == "" && o.stack == "":
		return errors.New("give -url and -api-url, or -stack")
	case o.key == "":
		return fmt.Errorf("set %s to a gateway key granted %s and %s", keyEnv, o.streamPath, o.rerankPath)
	case o.rule.minEvents < 2:
		return errors.New("-min-events must be at least 2")
	}
	return nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, getenv, stdout)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "smoke: %v\nRun 'smoke -h' for its flags.\n", err)
		return 2
	}
	doors, err := frontDoors(ctx, o)
	if err != nil {
		fmt.Fprintln(stderr, "smoke:", err)
		return 1
	}
	failed := runChecks(ctx, o, doors, stdout)
	if len(failed) > 0 {
		return 1
	}
	return 0
}

// headerList is a repeatable -header flag; its first use replaces the default.
type headerList struct {
	values   []string
	replaced bool
}

func (h *headerList) String() string {
	if h == nil {
		return ""
	}
	return strings.Join(h.values, ", ")
}

func (h *headerList) Set(v string) error {
	if name, _, ok := strings.Cut(v, ":"); !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("%q is not name: value", v)
	}
	if !h.replaced {
		h.values, h.replaced = nil, true
	}
	h.values = append(h.values, v)
	return nil
}
