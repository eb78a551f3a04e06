//go:build !noawsbackends

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// command is one gatewayctl command. Its flags are declared by setup on a fresh FlagSet, so the
// same declaration serves parsing, the command's help and the tests that check that help.
type command struct {
	name    string  // the words that select it: "routes push"
	params  []param // its positional arguments, all required
	summary string  // one line for the general usage
	about   string  // what it does, for its own help
	setup   func(fs *flag.FlagSet) action
}

type param struct{ name, about string }

// action runs a command with its positional arguments, once its flags are parsed.
type action func(ctx context.Context, pos []string, s streams) error

var commands = []*command{
	{name: "validate", params: []param{configFile}, setup: validate,
		summary: "check a config file exactly as the server would, without serving it",
		about:   "Parses and compiles FILE as the server does and prints its warnings. It does not\nread AWS: `secrets check` verifies the os.environ/ references."},
	{name: "routes push", params: []param{configFile}, setup: routesPush,
		summary: "sync FILE's endpoints to SSM under --prefix (prints the diff)",
		about: "Writes each endpoint of FILE to its own SSM parameter under PREFIX/routes/, plus\n" +
			"PREFIX/settings. Prints the diff (+ added, ~ changed, - removed) and writes only what\n" +
			"changed. Refuses literal credentials in plain String parameters: reference them as\n" +
			"os.environ/NAME (a Secrets Manager secret)."},
	{name: "routes list", setup: routesList,
		summary: "list the stored routes: id, version, path, methods, target; invalid ones flagged",
		about:   "Lists the routes stored under PREFIX/routes/, with the reason for each invalid one."},
	{name: "routes get", params: []param{{"ID", "a route id, as `routes list` shows it (v1-rerank)"}}, setup: routesGet,
		summary: "print one stored route spec",
		about:   "Prints the stored spec of route ID and its parameter version."},
	{name: "secrets set", params: []param{{"NAME", "the name in os.environ/NAME (no ':')"}}, setup: secretsSet,
		summary: "store a secret; the value is read from standard input, never from the command line",
		about: "Creates or updates the Secrets Manager secret PREFIX+NAME with the value read from\n" +
			"standard input (a trailing newline is dropped), so it never appears in shell history or\n" +
			"process listings: printf %s \"$KEY\" | gatewayctl secrets set COHERE_API_KEY"},
	{name: "secrets check", params: []param{configFile}, setup: secretsCheck,
		summary: "check that every os.environ/ reference of FILE resolves in Secrets Manager",
		about:   "Resolves every os.environ/ reference of FILE in Secrets Manager under PREFIX and names\neach one that is missing, never printing a value."},
	{name: "keys init", setup: keysInit,
		summary: "create the keys table (and the rate limit table): for moto; on AWS the template does",
		about:   "Creates the DynamoDB tables for a local stack on moto (make run-aws-local). On AWS,\ntemplate.yaml creates both."},
	{name: "keys create", setup: keysCreate,
		summary: "create a virtual key and print it once (only its hash is stored)",
		about:   "Creates a virtual key and prints it once: only its SHA-256 hash is stored."},
	{name: "keys list", setup: keysList,
		summary: "list the keys: alias, hash prefix, status, rpm, expiry, routes, tags, metadata",
		about:   "Lists every key, never the key itself: its alias, its hash's first 12 characters, its\nstatus, limit, expiry, routes, tags and metadata."},
	{name: "keys show", params: []param{aliasOrHash}, setup: keysShow,
		summary: "show one key",
		about:   "Shows one key, as `keys list` does."},
	{name: "keys revoke", params: []param{aliasOrHash}, setup: keysRevoke,
		summary: "revoke a key (gateways refuse it within their key cache TTL, 30 s, plus one background read)",
		about:   "Marks a key revoked. Gateways refuse it within their key cache TTL (30 s) plus one background read; while a gateway cannot read the keys table, it keeps serving its cached answer for up to an hour."},
}

var (
	configFile  = param{"FILE", "a LiteLLM config file (general_settings.pass_through_endpoints)"}
	aliasOrHash = param{"ALIAS_OR_HASH", "the key's alias, or its full SHA-256 hash"}
)

// lookup finds the command named by the first words of args and returns it with the rest.
func lookup(args []string) (*command, []string) {
	for n := min(2, len(args)); n > 0; n-- {
		name := strings.Join(args[:n], " ")
		for _, c := range commands {
			if c.name == name {
				return c, args[n:]
			}
		}
	}
	return nil, args
}

// group returns the commands whose first word is word ("routes"), or nil.
func group(word string) []*command {
	var out []*command
	for _, c := range commands {
		if g, _, ok := strings.Cut(c.name, " "); ok && g == word {
			out = append(out, c)
		}
	}
	return out
}

func (c *command) flagSet() (*flag.FlagSet, action) {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	return fs, c.setup(fs)
}

func (c *command) execute(ctx context.Context, args []string, s streams) error {
	fs, act := c.flagSet()
	pos, err := parse(fs, args, len(c.params))
	if err != nil {
		return err
	}
	return act(ctx, pos, s)
}

// synopsis is the command line: gatewayctl routes push FILE [flags].
func (c *command) synopsis() string {
	words := []string{"gatewayctl", c.name}
	for _, p := range c.params {
		words = append(words, p.name)
	}
	if fs, _ := c.flagSet(); hasFlags(fs) {
		words = append(words, "[flags]")
	}
	return strings.Join(words, " ")
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// printHelp writes the command's help: synopsis, what it does, its arguments and every flag
// with its default.
func (c *command) printHelp(w io.Writer) {
	fmt.Fprintf(w, "usage: %s\n\n%s\n\narguments:", c.synopsis(), c.about)
	if len(c.params) == 0 {
		fmt.Fprint(w, " none")
	}
	for _, p := range c.params {
		fmt.Fprintf(w, "\n  %-14s %s", p.name, p.about)
	}
	fs, _ := c.flagSet()
	fmt.Fprint(w, "\n\nflags:")
	if !hasFlags(fs) {
		fmt.Fprint(w, " none")
	}
	fmt.Fprintln(w)
	fs.VisitAll(func(f *flag.Flag) {
		placeholder, usage := flag.UnquoteUsage(f)
		if placeholder != "" {
			placeholder = " " + placeholder
		}
		fmt.Fprintf(w, "  --%s%s\n        %s (default %s)\n", f.Name, placeholder, usage, defaultOf(f))
	})
}

// defaultOf is how help shows a flag's default: an environment variable by name (and its
// current value), an empty string as "none".
func defaultOf(f *flag.Flag) string {
	if e, ok := f.Value.(*envString); ok {
		if e.def == "" {
			return "$" + e.env + ", not set"
		}
		return fmt.Sprintf("$%s = %q", e.env, e.def)
	}
	if f.DefValue == "" {
		return "none"
	}
	return f.DefValue
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: gatewayctl COMMAND [ARGUMENTS] [flags]\n\ncommands:")
	for _, c := range commands {
		printLine(w, c)
	}
	fmt.Fprintf(w, "  %-32s %s\n", "help [COMMAND]", "this text, or a command's arguments and flags")
	fmt.Fprintln(w, "\nAWS access uses the standard credential chain; AWS_ENDPOINT_URL points gatewayctl at moto.")
	fmt.Fprintln(w, "Run 'gatewayctl COMMAND --help' (or 'gatewayctl help COMMAND') for a command's arguments and flags.")
}

func printGroup(w io.Writer, word string) {
	fmt.Fprintf(w, "usage: gatewayctl %s COMMAND [ARGUMENTS] [flags]\n\ncommands:\n", word)
	for _, c := range group(word) {
		printLine(w, c)
	}
	fmt.Fprintf(w, "\nRun 'gatewayctl %s COMMAND --help' for a command's arguments and flags.\n", word)
}

func printLine(w io.Writer, c *command) {
	name := c.name
	for _, p := range c.params {
		name += " " + p.name
	}
	fmt.Fprintf(w, "  %-32s %s\n", name, c.summary)
}

// envString is a string flag whose default is an environment variable, so help names the
// variable instead of printing whatever value it holds as if it were built in.
type envString struct {
	env, def, value string
}

func envFlag(fs *flag.FlagSet, name, env, usage string) *string {
	v := &envString{env: env, def: os.Getenv(env)}
	v.value = v.def
	fs.Var(v, name, usage)
	return &v.value
}

func (e *envString) String() string {
	if e == nil {
		return ""
	}
	return e.value
}

func (e *envString) Set(s string) error { e.value = s; return nil }
