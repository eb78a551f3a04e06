//go:build !noawsbackends

// Command gatewayctl manages a deployed gateway's routes (SSM Parameter Store), provider
// credentials (Secrets Manager) and virtual keys (DynamoDB) from the same LiteLLM config file the
// local server runs. It uses the standard AWS credential chain; AWS_ENDPOINT_URL points it at moto.
//
//	gatewayctl validate FILE
//	gatewayctl routes push FILE --prefix P [--dry-run] [--prune] [--secure-string] [--allow-literal-credentials]
//	gatewayctl routes list --prefix P
//	gatewayctl routes get ID --prefix P
//	gatewayctl secrets set NAME [--prefix S]     (the value is read from standard input)
//	gatewayctl secrets check FILE [--prefix S]
//	gatewayctl keys init|create|list|show|revoke ...
//	gatewayctl help [COMMAND]                    (or COMMAND --help: its arguments and flags)
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
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// errUsage marks a command line that is wrong, as opposed to a command that failed.
var errUsage = errors.New("usage")

// streams are the command's standard input and outputs.
type streams struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// run executes one command line and returns the exit code: 0 done (help included), 1 the
// command failed, 2 the command line is wrong (stderr says what, and how to get help).
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	s := streams{stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) > 0 && isHelp(args[0]) {
		return help(args[1:], s)
	}
	if len(args) == 2 && group(args[0]) != nil && isHelp(args[1]) { // gatewayctl routes --help
		return help(args[:1], s)
	}
	cmd, rest := lookup(args)
	if cmd == nil {
		return badCommand(args, s)
	}
	err := cmd.execute(ctx, rest, s)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		cmd.printHelp(stdout)
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "gatewayctl %s: %s\nusage: %s\nRun 'gatewayctl %s --help' for its arguments and flags.\n",
			cmd.name, strings.TrimPrefix(err.Error(), errUsage.Error()+": "), cmd.synopsis(), cmd.name)
		return 2
	default:
		fmt.Fprintln(stderr, "gatewayctl:", err)
		return 1
	}
}

func isHelp(arg string) bool {
	switch arg {
	case "help", "-h", "-help", "--help":
		return true
	}
	return false
}

// help answers `gatewayctl help [COMMAND]` (and -h, --help): the general usage, a group's
// commands, or one command's arguments and flags.
func help(args []string, s streams) int {
	words := strings.Join(args, " ")
	switch {
	case words == "":
		printUsage(s.stdout)
	case group(words) != nil:
		printGroup(s.stdout, words)
	default:
		cmd, rest := lookup(args)
		if cmd == nil || len(rest) > 0 {
			return badCommand(args, s)
		}
		cmd.printHelp(s.stdout)
	}
	return 0
}

// badCommand reports a command line that names no command: which word was wrong, what exists.
func badCommand(args []string, s streams) int {
	words := strings.Join(args, " ")
	switch {
	case len(args) == 0:
		fmt.Fprintln(s.stderr, "gatewayctl: missing command")
		printUsage(s.stderr)
	case group(args[0]) != nil && (len(args) == 1 || strings.HasPrefix(args[1], "-")):
		fmt.Fprintf(s.stderr, "gatewayctl: %q needs a subcommand\n", words)
		printGroup(s.stderr, args[0])
	default:
		fmt.Fprintf(s.stderr, "gatewayctl: unknown command %q\n", words)
		printUsage(s.stderr)
	}
	return 2
}

// parse reads flags placed anywhere among the positional arguments, which must number want.
// -h, -help and --help return flag.ErrHelp.
func parse(fs *flag.FlagSet, args []string, want int) ([]string, error) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {} // help is printed by run, to stdout
	var pos []string
	for {
		if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
			return nil, err
		} else if err != nil {
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos, args = append(pos, args[0]), args[1:]
	}
	if len(pos) != want {
		return nil, fmt.Errorf("%w: %s takes %d argument(s), got %d", errUsage, fs.Name(), want, len(pos))
	}
	return pos, nil
}

func prefixFlag(fs *flag.FlagSet, env, usage string) *string {
	return envFlag(fs, "prefix", env, usage)
}
