//go:build !noawsbackends

package main

import (
	"bytes"
	"flag"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// usageText is what `gatewayctl help [GROUP]` prints.
func usageText(t *testing.T, group []string) string {
	t.Helper()
	r := ctl(t, "", append([]string{"help"}, group...)...)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("help %v: exit %d stderr %q", group, r.code, r.stderr)
	}
	return r.stdout
}

// flagsOf declares a command's flags on a fresh FlagSet, as parsing does, and returns them, so
// the expectations below follow the code instead of a list that could drift from it.
func flagsOf(c *command) []*flag.Flag {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	c.setup(fs)
	var out []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) { out = append(out, f) })
	return out
}

// Every command answers -h, --help and `help COMMAND` on stdout with exit 0: its synopsis, each
// argument, and each flag with its usage and default.
func TestEveryCommandHasItsOwnHelp(t *testing.T) {
	noPrefixEnv(t)
	t.Setenv("GATEWAY_KEYS_TABLE", "gw-keys")
	t.Setenv("GATEWAY_RATELIMIT_TABLE", "")
	for _, c := range commands {
		words := strings.Fields(c.name)
		var pos []string
		for _, p := range c.params {
			pos = append(pos, "x-"+strings.ToLower(p.name))
		}
		for _, args := range [][]string{
			slices.Concat(words, []string{"--help"}),
			slices.Concat(words, []string{"-h"}),
			slices.Concat(words, []string{"-help"}),
			slices.Concat(words, pos, []string{"--help"}), // after its arguments, as flags may be
			slices.Concat([]string{"help"}, words),
		} {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				r := ctl(t, "", args...)
				if r.code != 0 || r.stderr != "" {
					t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
				}
				checkHelp(t, c, r.stdout)
			})
		}
	}
}

func checkHelp(t *testing.T, c *command, help string) {
	t.Helper()
	synopsis := "gatewayctl " + c.name
	for _, p := range c.params {
		synopsis += " " + p.name
	}
	flags := flagsOf(c)
	if len(flags) > 0 {
		synopsis += " [flags]"
	}
	if !strings.HasPrefix(help, "usage: "+synopsis+"\n\n"+c.about+"\n\narguments:") {
		t.Errorf("help does not start with the synopsis %q and what the command does:\n%s", synopsis, help)
	}
	for _, p := range c.params {
		if !regexp.MustCompile(`(?m)^  ` + p.name + ` +` + regexp.QuoteMeta(p.about) + `$`).MatchString(help) {
			t.Errorf("argument %s is not described:\n%s", p.name, help)
		}
	}
	if len(flags) == 0 && !strings.Contains(help, "\nflags: none\n") {
		t.Errorf("help of a command without flags does not say so:\n%s", help)
	}
	for _, f := range flags {
		placeholder, usage := flag.UnquoteUsage(f)
		want := "\n  --" + f.Name
		if placeholder != "" {
			want += " " + placeholder
		}
		want += "\n        " + usage + " (default " + defaultOf(f) + ")\n"
		if !strings.Contains(help, want) {
			t.Errorf("flag --%s is not listed as %q:\n%s", f.Name, want, help)
		}
	}
}

// The exact help of the command with the most to say about credentials.
func TestRoutesPushHelpText(t *testing.T) {
	t.Setenv("GATEWAY_ROUTES_PREFIX", "")
	want := `usage: gatewayctl routes push FILE [flags]

Writes each endpoint of FILE to its own SSM parameter under PREFIX/routes/, plus
PREFIX/settings. Prints the diff (+ added, ~ changed, - removed) and writes only what
changed. Refuses literal credentials in plain String parameters: reference them as
os.environ/NAME (a Secrets Manager secret).

arguments:
  FILE           a LiteLLM config file (general_settings.pass_through_endpoints)

flags:
  --allow-literal-credentials
        store literal credentials in String parameters anyway (default false)
  --dry-run
        print the changes without writing them (default false)
  --prefix PREFIX
        the stack's SSM path: routes live under PREFIX/routes/ (required; /llm-gateway-dev for the dev stack) (default $GATEWAY_ROUTES_PREFIX, not set)
  --prune
        delete stored routes that are no longer in the file (default false)
  --secure-string
        store specs as SecureString (literal credentials allowed) (default false)
`
	ctl(t, "", "routes", "push", "--help").want(t, 0, want, "")
	// A default taken from the environment is named, with the value it holds now.
	t.Setenv("GATEWAY_ROUTES_PREFIX", "/llm-gateway-dev")
	ctl(t, "", "routes", "push", "--help").want(t, 0,
		strings.Replace(want, "(default $GATEWAY_ROUTES_PREFIX, not set)", `(default $GATEWAY_ROUTES_PREFIX = "/llm-gateway-dev")`, 1), "")
}

func TestKeysCreateHelpShowsEveryDefault(t *testing.T) {
	t.Setenv("GATEWAY_KEYS_TABLE", "")
	r := ctl(t, "", "keys", "create", "-h")
	for _, want := range []string{
		"  --alias NAME\n        NAME of the key in logs and usage records (required) (default none)\n",
		"  --rpm N\n        requests per minute, N; 0: unlimited (default 0)\n",
		"  --table TABLE\n        DynamoDB TABLE of keys: the stack output KeysTableName (required) (default $GATEWAY_KEYS_TABLE, not set)\n",
	} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("exit %d, help lacks %q:\n%s", r.code, want, r.stdout)
		}
	}
}

// gatewayctl -h, --help and help print the list of every command to stdout; a group's help
// lists its commands.
func TestGeneralAndGroupHelp(t *testing.T) {
	general := usageText(t, nil)
	for _, args := range [][]string{{"-h"}, {"--help"}, {"-help"}} {
		ctl(t, "", args...).want(t, 0, general, "")
	}
	if !strings.HasPrefix(general, "usage: gatewayctl COMMAND [ARGUMENTS] [flags]\n") ||
		!strings.HasSuffix(general, "Run 'gatewayctl COMMAND --help' (or 'gatewayctl help COMMAND') for a command's arguments and flags.\n") {
		t.Errorf("general help:\n%s", general)
	}
	for _, c := range commands {
		line := "\n  " + c.name
		for _, p := range c.params {
			line += " " + p.name
		}
		if !strings.Contains(general, line+" ") || !strings.Contains(general, c.summary+"\n") {
			t.Errorf("general help lacks %q (%s)", line, c.summary)
		}
		g, _, _ := strings.Cut(c.name, " ")
		if g == c.name {
			continue
		}
		groupHelp := usageText(t, []string{g})
		ctl(t, "", g, "--help").want(t, 0, groupHelp, "")
		ctl(t, "", g, "-h").want(t, 0, groupHelp, "")
		if !strings.HasPrefix(groupHelp, "usage: gatewayctl "+g+" COMMAND") || !strings.Contains(groupHelp, line+" ") {
			t.Errorf("help of %s lacks %q:\n%s", g, line, groupHelp)
		}
	}
}

// The README's command block names every command and every one of its flags.
func TestReadmeListsEveryCommandAndFlag(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, block, _ := bytes.Cut(readme, []byte("\n```\ngatewayctl validate FILE"))
	block, _, _ = bytes.Cut(block, []byte("\n```\n"))
	lines := strings.Split("gatewayctl validate FILE"+string(block), "\n")
	for _, c := range commands {
		var line string
		for _, l := range lines {
			if strings.HasPrefix(l, "gatewayctl "+c.name+" ") || l == "gatewayctl "+c.name {
				line = l
			}
		}
		if line == "" {
			t.Errorf("README's gatewayctl block has no line for %q", c.name)
			continue
		}
		for _, f := range flagsOf(c) {
			if !strings.Contains(line, "--"+f.Name) {
				t.Errorf("README's line for %s lacks --%s: %q", c.name, f.Name, line)
			}
		}
	}
}
