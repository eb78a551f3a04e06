//go:build !noawsbackends

package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/passthru/gateway/shared/motoserver"
	"github.com/passthru/gateway/shared/ssmroutes"
)

func TestMain(m *testing.M) { os.Exit(motoserver.Main(m)) }

// bounded is a context for one AWS call or CLI run: a stalled moto fails the test in 30 s
// instead of hanging the package until go test's timeout.
func bounded(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// result is one run of the CLI.
type result struct {
	code           int
	stdout, stderr string
}

// ctl runs the CLI with stdin and args, with no prefix taken from the environment.
func ctl(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(bounded(t), args, strings.NewReader(stdin), &out, &errOut)
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

func (r result) want(t *testing.T, code int, stdout, stderr string) {
	t.Helper()
	if r.code != code || r.stdout != stdout || r.stderr != stderr {
		t.Fatalf("got exit %d\nstdout:\n%s\nstderr:\n%s\nwant exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr, code, stdout, stderr)
	}
}

// noPrefixEnv keeps the caller's environment from supplying --prefix.
func noPrefixEnv(t *testing.T) {
	t.Setenv("GATEWAY_ROUTES_PREFIX", "")
	t.Setenv("GATEWAY_SECRETS_PREFIX", "")
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// localConfig has the four endpoints of local/config.yaml.
const localConfig = `general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
  pass_through_request_timeout: 600
  pass_through_endpoints:
    - path: "/v1/rerank"
      target: "http://127.0.0.1:4010/v1/rerank"
      headers:
        Authorization: "bearer os.environ/COHERE_API_KEY"
        content-type: application/json
        accept: application/json
      auth: true
    - path: "/api/public/ingestion"
      target: "http://127.0.0.1:4010/api/public/ingestion"
      auth: true
      custom_auth_parser: "langfuse"
      headers:
        LANGFUSE_PUBLIC_KEY: "os.environ/LANGFUSE_PUBLIC_KEY"
        LANGFUSE_SECRET_KEY: "os.environ/LANGFUSE_SECRET_KEY"
    - path: "/anthropic"
      target: "http://127.0.0.1:4010/anthropic"
      include_subpath: true
      forward_headers: true
      auth: true
      headers:
        x-api-key: "os.environ/ANTHROPIC_API_KEY"
    - path: "/openai/v1/chat/completions"
      target: "http://127.0.0.1:4010/v1/chat/completions"
      methods: [POST]
      auth: true
      headers:
        Authorization: "Bearer os.environ/OPENAI_API_KEY"
`

const pushAll = `+ /gw/routes/anthropic
+ /gw/routes/api-public-ingestion
+ /gw/routes/openai-v1-chat-completions.post
+ /gw/routes/v1-rerank
+ /gw/settings
5 added, 0 changed, 0 removed, 0 unchanged
`

const listAll = `anthropic                    v1   /anthropic                     GET,POST,PUT,DELETE,PATCH    -> http://127.0.0.1:4010/anthropic
api-public-ingestion         v1   /api/public/ingestion          GET,POST,PUT,DELETE,PATCH    -> http://127.0.0.1:4010/api/public/ingestion
openai-v1-chat-completions.post v1   /openai/v1/chat/completions    POST                         -> http://127.0.0.1:4010/v1/chat/completions
v1-rerank                    v1   /v1/rerank                     GET,POST,PUT,DELETE,PATCH    -> http://127.0.0.1:4010/v1/rerank
`

// ---- usage ----

func TestUsageErrorsExitTwoAndSayHowToGetHelp(t *testing.T) {
	noPrefixEnv(t)
	for _, tc := range []struct {
		args []string
		cmd  string // the command the error is about; "" for a command line naming none
		msg  string
	}{
		{[]string{"validate"}, "validate", "validate takes 1 argument(s), got 0"},
		{[]string{"validate", "a.yaml", "b.yaml"}, "validate", "validate takes 1 argument(s), got 2"},
		{[]string{"validate", "a.yaml", "--prefix", "/gw"}, "validate", "flag provided but not defined: -prefix"},
		{[]string{"routes", "push", "config.yaml"}, "routes push", "--prefix is required (or set GATEWAY_ROUTES_PREFIX)"},
		{[]string{"routes", "push", "config.yaml", "--prefix", "/"}, "routes push", "--prefix is required (or set GATEWAY_ROUTES_PREFIX)"},
		{[]string{"routes", "push", "--prefix", "/gw"}, "routes push", "routes push takes 1 argument(s), got 0"},
		{[]string{"routes", "push", "a.yaml", "b.yaml", "--prefix", "/gw"}, "routes push", "routes push takes 1 argument(s), got 2"},
		{[]string{"routes", "push", "config.yaml", "--prefix", "/gw", "--bogus"}, "routes push", "flag provided but not defined: -bogus"},
		{[]string{"routes", "push", "config.yaml", "--dry-run=maybe"}, "routes push", `invalid boolean value "maybe" for -dry-run: parse error`},
		{[]string{"routes", "list"}, "routes list", "--prefix is required (or set GATEWAY_ROUTES_PREFIX)"},
		{[]string{"routes", "list", "extra", "--prefix", "/gw"}, "routes list", "routes list takes 0 argument(s), got 1"},
		{[]string{"routes", "get", "v1-rerank"}, "routes get", "--prefix is required (or set GATEWAY_ROUTES_PREFIX)"},
		{[]string{"routes", "get", "--prefix", "/gw"}, "routes get", "routes get takes 1 argument(s), got 0"},
		{[]string{"secrets", "set"}, "secrets set", "secrets set takes 1 argument(s), got 0"},
		{[]string{"secrets", "set", "A", "sk-value-on-the-command-line"}, "secrets set", "secrets set takes 1 argument(s), got 2"},
		{[]string{"secrets", "set", "LANGFUSE:public"}, "secrets set", `"LANGFUSE:public": a secret name cannot contain ':' (NAME:field selects a field when reading)`},
		{[]string{"secrets", "check"}, "secrets check", "secrets check takes 1 argument(s), got 0"},
		{[]string{"keys", "create", "--rpm", "ten"}, "keys create", `invalid value "ten" for flag -rpm: parse error`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			c, _ := lookup(tc.args)
			want := "gatewayctl " + tc.cmd + ": " + tc.msg + "\nusage: " + c.synopsis() + "\n" +
				"Run 'gatewayctl " + tc.cmd + " --help' for its arguments and flags.\n"
			ctl(t, "sk-from-stdin\n", tc.args...).want(t, 2, "", want)
		})
	}
}

// A command line that names no command gets the list of commands (or of the group's) on stderr.
func TestUnknownCommandsExitTwoWithTheCommandList(t *testing.T) {
	general, routes, secretsGroup := usageText(t, nil), usageText(t, []string{"routes"}), usageText(t, []string{"secrets"})
	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{nil, "gatewayctl: missing command\n" + general},
		{[]string{"frobnicate"}, `gatewayctl: unknown command "frobnicate"` + "\n" + general},
		{[]string{"--bogus"}, `gatewayctl: unknown command "--bogus"` + "\n" + general},
		{[]string{"routes"}, `gatewayctl: "routes" needs a subcommand` + "\n" + routes},
		{[]string{"routes", "--prefix", "/gw"}, `gatewayctl: "routes --prefix /gw" needs a subcommand` + "\n" + routes},
		{[]string{"routes", "delete", "x"}, `gatewayctl: unknown command "routes delete x"` + "\n" + general},
		{[]string{"secrets", "rotate", "X"}, `gatewayctl: unknown command "secrets rotate X"` + "\n" + general},
		{[]string{"secrets"}, `gatewayctl: "secrets" needs a subcommand` + "\n" + secretsGroup},
		{[]string{"help", "frobnicate"}, `gatewayctl: unknown command "frobnicate"` + "\n" + general},
		{[]string{"help", "routes", "push", "extra"}, `gatewayctl: unknown command "routes push extra"` + "\n" + general},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			ctl(t, "", tc.args...).want(t, 2, "", tc.stderr)
		})
	}
}

// ---- validate ----

func TestValidateLocalConfig(t *testing.T) {
	ctl(t, "", "validate", "../config.yaml").
		want(t, 0, "../config.yaml: OK, 4 endpoint(s); `secrets check` verifies its 6 secret reference(s)\n", "")
}

func TestValidateInvalidFileNamesEndpointAndField(t *testing.T) {
	path := writeFile(t, "bad.yaml", `general_settings:
  pass_through_endpoints:
    - path: /v1/ok
      target: http://127.0.0.1:4010/v1/ok
      auth: true
    - path: /v1/broken
      target: ftp://example.com/x
      auth: true
    - path: /v1/none
      auth: true
`)
	ctl(t, "", "validate", path).want(t, 1, "", "gatewayctl: "+path+":\n"+
		`pass_through_endpoints[1] (/v1/broken): target: "ftp://example.com/x" must be an absolute http:// or https:// URL`+"\n"+
		"pass_through_endpoints[2] (/v1/none): target: is required\n")
}

func TestValidatePrintsWarnings(t *testing.T) {
	path := writeFile(t, "warn.yaml", `general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
  pass_through_endpoints:
    - path: /v1/open
      target: http://127.0.0.1:4010/v1/open
`)
	ctl(t, "", "validate", path).want(t, 0,
		path+": OK, 1 endpoint(s); `secrets check` verifies its 1 secret reference(s)\n",
		"warning: pass_through_endpoints[0] (/v1/open) sets no `auth`: any valid gateway key may call it. Set `auth: true` to restrict it to keys granted this route, or `auth: false` to serve it without a key\n")
}

func TestValidateMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.yaml")
	ctl(t, "", "validate", path).want(t, 1, "", "gatewayctl: "+path+":\nread config: open "+path+": no such file or directory\n")
}

// ---- routes (moto) ----

func ssmAPI(t *testing.T) *ssm.Client {
	t.Helper()
	motoserver.Require(t)
	return ssm.NewFromConfig(motoserver.Config(t))
}

func stored(t *testing.T, api *ssm.Client, prefix string) map[string]ssmroutes.Parameter {
	t.Helper()
	params, err := ssmroutes.List(bounded(t), api, prefix)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]ssmroutes.Parameter{}
	for _, p := range params {
		out[p.Name] = p
	}
	return out
}

func TestRoutesPushDryRunWritesNothing(t *testing.T) {
	noPrefixEnv(t)
	api := ssmAPI(t)
	path := writeFile(t, "config.yaml", localConfig)

	ctl(t, "", "routes", "push", path, "--prefix", "/gw", "--dry-run").want(t, 0, pushAll+"dry run: nothing written\n", "")
	ctl(t, "", "routes", "list", "--prefix", "/gw").want(t, 0, "", "")
	if got := stored(t, api, "/gw"); len(got) != 0 {
		t.Fatalf("a dry run wrote %d parameter(s)", len(got))
	}
}

func TestRoutesPushListGetAndIdempotence(t *testing.T) {
	noPrefixEnv(t)
	api := ssmAPI(t)
	path := writeFile(t, "config.yaml", localConfig)

	ctl(t, "", "routes", "push", path, "--prefix", "/gw").want(t, 0, pushAll, "")
	got := stored(t, api, "/gw")
	if len(got) != 5 {
		t.Fatalf("stored %d parameters, want 5", len(got))
	}
	if s := got["/gw/settings"]; s.Value != `{"master_key":"os.environ/LITELLM_MASTER_KEY","pass_through_request_timeout":600}` || s.Version != 1 {
		t.Errorf("settings parameter: %+v", s)
	}

	// Again, with the flags first and the prefix spelled differently: nothing to do.
	ctl(t, "", "routes", "push", "--prefix", "gw/", path).want(t, 0, "0 added, 0 changed, 0 removed, 5 unchanged\n", "")
	ctl(t, "", "routes", "push", path, "--prefix", "/gw").want(t, 0, "0 added, 0 changed, 0 removed, 5 unchanged\n", "")
	for name, p := range stored(t, api, "/gw") {
		if p.Version != 1 {
			t.Errorf("%s rewritten by an idempotent push: version %d", name, p.Version)
		}
	}

	ctl(t, "", "routes", "list", "--prefix", "/gw").want(t, 0, listAll, "")
	ctl(t, "", "routes", "get", "v1-rerank", "--prefix", "/gw").want(t, 0, `/gw/routes/v1-rerank (version 1)
{"path":"/v1/rerank","target":"http://127.0.0.1:4010/v1/rerank","headers":{"Authorization":"bearer os.environ/COHERE_API_KEY","content-type":"application/json","accept":"application/json"},"auth":true}
`, "")
	ctl(t, "", "routes", "get", "--prefix", "/gw", "anthropic").want(t, 0, `/gw/routes/anthropic (version 1)
{"path":"/anthropic","target":"http://127.0.0.1:4010/anthropic","headers":{"x-api-key":"os.environ/ANTHROPIC_API_KEY"},"forward_headers":true,"include_subpath":true,"auth":true}
`, "")
	ctl(t, "", "routes", "get", "openai-v1-chat-completions.post", "--prefix", "/gw").want(t, 0, `/gw/routes/openai-v1-chat-completions.post (version 1)
{"path":"/openai/v1/chat/completions","target":"http://127.0.0.1:4010/v1/chat/completions","headers":{"Authorization":"Bearer os.environ/OPENAI_API_KEY"},"methods":["POST"],"auth":true}
`, "")

	r := ctl(t, "", "routes", "get", "nope", "--prefix", "/gw")
	if r.code != 1 || r.stdout != "" || !strings.HasPrefix(r.stderr, "gatewayctl: get /gw/routes/nope: ") || !strings.Contains(r.stderr, "ParameterNotFound") {
		t.Fatalf("get of a missing route: %+v", r)
	}
}

func TestRoutesPushPrefixFromEnvironment(t *testing.T) {
	noPrefixEnv(t)
	api := ssmAPI(t)
	path := writeFile(t, "config.yaml", localConfig)
	t.Setenv("GATEWAY_ROUTES_PREFIX", "/gw")

	ctl(t, "", "routes", "push", path).want(t, 0, pushAll, "")
	ctl(t, "", "routes", "list").want(t, 0, listAll, "")
	if got := stored(t, api, "/gw"); len(got) != 5 {
		t.Fatalf("stored %d parameters, want 5", len(got))
	}
}

func TestRoutesPushChangedTarget(t *testing.T) {
	noPrefixEnv(t)
	api := ssmAPI(t)
	path := writeFile(t, "config.yaml", localConfig)
	ctl(t, "", "routes", "push", path, "--prefix", "/gw").want(t, 0, pushAll, "")

	edited := strings.Replace(localConfig, `target: "http://127.0.0.1:4010/v1/rerank"`, `target: "https://api.cohere.com/v1/rerank"`, 1)
	if err := os.WriteFile(path, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	ctl(t, "", "routes", "push", path, "--prefix", "/gw", "--dry-run").
		want(t, 0, "~ /gw/routes/v1-rerank (target)\n0 added, 1 changed, 0 removed, 4 unchanged\ndry run: nothing written\n", "")
	if v := stored(t, api, "/gw")["/gw/routes/v1-rerank"].Version; v != 1 {
		t.Fatalf("a dry run changed the route: version %d", v)
	}
	ctl(t, "", "routes", "push", path, "--prefix", "/gw").want(t, 0, "~ /gw/routes/v1-rerank (target)\n0 added, 1 changed, 0 removed, 4 unchanged\n", "")
	ctl(t, "", "routes", "get", "v1-rerank", "--prefix", "/gw").want(t, 0, `/gw/routes/v1-rerank (version 2)
{"path":"/v1/rerank","target":"https://api.cohere.com/v1/rerank","headers":{"Authorization":"bearer os.environ/COHERE_API_KEY","content-type":"application/json","accept":"application/json"},"auth":true}
`, "")
	ctl(t, "", "routes", "push", path, "--prefix", "/gw").want(t, 0, "0 added, 0 changed, 0 removed, 5 unchanged\n", "")

	// A settings change is a change of the settings parameter.
	edited = strings.Replace(edited, "pass_through_request_timeout: 600", "pass_through_request_timeout: 120", 1)
	if err := os.WriteFile(path, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	ctl(t, "", "routes", "push", path, "--prefix", "/gw").want(t, 0, "~ /gw/settings (pass_through_request_timeout)\n0 added, 1 changed, 0 removed, 4 unchanged\n", "")
	if s := stored(t, api, "/gw")["/gw/settings"]; s.Value != `{"master_key":"os.environ/LITELLM_MASTER_KEY","pass_through_request_timeout":120}` || s.Version != 2 {
		t.Errorf("settings parameter: %+v", s)
	}
}

func TestRoutesPushPrune(t *testing.T) {
	noPrefixEnv(t)
	api := ssmAPI(t)
	path := writeFile(t, "config.yaml", localConfig)
	ctl(t, "", "routes", "push", path, "--prefix", "/gw").want(t, 0, pushAll, "")

	// Drop the Anthropic endpoint from the file.
	start := strings.Index(localConfig, `    - path: "/anthropic"`)
	end := strings.Index(localConfig, `    - path: "/openai/v1/chat/completions"`)
	if err := os.WriteFile(path, []byte(localConfig[:start]+localConfig[end:]), 0o600); err != nil {
		t.Fatal(err)
	}
	const kept = "! /gw/routes/anthropic is stored but not in the file (--prune deletes it)\n0 added, 0 changed, 0 removed, 4 unchanged\n"
	ctl(t, "", "routes", "push", path, "--prefix", "/gw").want(t, 0, kept, "")
	ctl(t, "", "routes", "push", path, "--prefix", "/gw").want(t, 0, kept, "")
	ctl(t, "", "routes", "list", "--prefix", "/gw").want(t, 0, listAll, "")

	const pruned = "- /gw/routes/anthropic\n0 added, 0 changed, 1 removed, 4 unchanged\n"
	ctl(t, "", "routes", "push", path, "--prefix", "/gw", "--prune", "--dry-run").want(t, 0, pruned+"dry run: nothing written\n", "")
	if _, ok := stored(t, api, "/gw")["/gw/routes/anthropic"]; !ok {
		t.Fatal("a dry run deleted the route")
	}
	ctl(t, "", "routes", "push", path, "--prefix", "/gw", "--prune").want(t, 0, pruned, "")
	got := stored(t, api, "/gw")
	if _, ok := got["/gw/routes/anthropic"]; ok || len(got) != 4 {
		t.Fatalf("after --prune: %v", got)
	}
	ctl(t, "", "routes", "list", "--prefix", "/gw").want(t, 0, strings.Replace(listAll,
		"anthropic                    v1   /anthropic                     GET,POST,PUT,DELETE,PATCH    -> http://127.0.0.1:4010/anthropic\n", "", 1), "")
	if r := ctl(t, "", "routes", "get", "anthropic", "--prefix", "/gw"); r.code != 1 || !strings.HasPrefix(r.stderr, "gatewayctl: get /gw/routes/anthropic: ") {
		t.Fatalf("get of the pruned route: %+v", r)
	}
	ctl(t, "", "routes", "push", path, "--prefix", "/gw", "--prune").want(t, 0, "0 added, 0 changed, 0 removed, 4 unchanged\n", "")
}

func TestRoutesPushSecureString(t *testing.T) {
	noPrefixEnv(t)
	api := ssmAPI(t)
	path := writeFile(t, "config.yaml", localConfig)
	ctl(t, "", "routes", "push", path, "--prefix", "/gw", "--secure-string").want(t, 0, pushAll, "")
	out, err := api.GetParameter(bounded(t), &ssm.GetParameterInput{Name: aws.String("/gw/routes/anthropic")})
	if err != nil {
		t.Fatal(err)
	}
	if out.Parameter.Type != ssmtypes.ParameterTypeSecureString {
		t.Errorf("parameter type: %s", out.Parameter.Type)
	}
	ctl(t, "", "routes", "list", "--prefix", "/gw").want(t, 0, listAll, "")
	ctl(t, "", "routes", "push", path, "--prefix", "/gw").want(t, 0, "0 added, 0 changed, 0 removed, 5 unchanged\n", "")
}

func TestRoutesPushInvalidFileWritesNothing(t *testing.T) {
	noPrefixEnv(t)
	api := ssmAPI(t)
	path := writeFile(t, "bad.yaml", `general_settings:
  pass_through_endpoints:
    - path: /v1/ok
      target: http://127.0.0.1:4010/v1/ok
      auth: true
    - path: v1/no-slash
      target: http://127.0.0.1:4010/x
      auth: true
`)
	ctl(t, "", "routes", "push", path, "--prefix", "/gw").want(t, 1, "",
		"gatewayctl: "+path+":\n"+`pass_through_endpoints[1] (v1/no-slash): path: "v1/no-slash" must start with /`+"\n")
	if got := stored(t, api, "/gw"); len(got) != 0 {
		t.Fatalf("an invalid file wrote %d parameter(s)", len(got))
	}
}

func TestRoutesListShowsInvalidParameters(t *testing.T) {
	noPrefixEnv(t)
	api := ssmAPI(t)
	path := writeFile(t, "config.yaml", localConfig)
	ctl(t, "", "routes", "push", path, "--prefix", "/gw").want(t, 0, pushAll, "")
	_, err := api.PutParameter(bounded(t), &ssm.PutParameterInput{
		Name: aws.String("/gw/routes/broken"), Value: aws.String(`{"path":"/v1/broken","target":"ftp://127.0.0.1/x"}`),
		Type: ssmtypes.ParameterTypeString,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctl(t, "", "routes", "list", "--prefix", "/gw").want(t, 0, listAll+
		`broken                       v1   INVALID: pass_through_endpoints[0] (/v1/broken): target: "ftp://127.0.0.1/x" must be an absolute http:// or https:// URL`+"\n", "")
	// The push names it as stored but not in the file.
	ctl(t, "", "routes", "push", path, "--prefix", "/gw").want(t, 0,
		"! /gw/routes/broken is stored but not in the file (--prune deletes it)\n0 added, 0 changed, 0 removed, 5 unchanged\n", "")
}

// ---- secrets (moto) ----

func smAPI(t *testing.T) *secretsmanager.Client {
	t.Helper()
	motoserver.Require(t)
	return secretsmanager.NewFromConfig(motoserver.Config(t))
}

func secretValue(t *testing.T, api *secretsmanager.Client, id string) (string, bool) {
	t.Helper()
	out, err := api.GetSecretValue(bounded(t), &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	var nf *smtypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.SecretString), true
}

func noValue(t *testing.T, r result, values ...string) {
	t.Helper()
	for _, v := range values {
		if strings.Contains(r.stdout, v) || strings.Contains(r.stderr, v) {
			t.Errorf("the output shows a secret value %q:\n%s%s", v, r.stdout, r.stderr)
		}
	}
}

func TestSecretsSetReadsTheValueFromStdin(t *testing.T) {
	noPrefixEnv(t)
	api := smAPI(t)

	r := ctl(t, "sk-provider-value-1\n", "secrets", "set", "COHERE_API_KEY", "--prefix", "gw/")
	r.want(t, 0, "created gw/COHERE_API_KEY (19 bytes)\n", "")
	if v, _ := secretValue(t, api, "gw/COHERE_API_KEY"); v != "sk-provider-value-1" {
		t.Fatalf("stored value %q", v)
	}
	r2 := ctl(t, "sk-provider-value-22\r\n", "secrets", "set", "--prefix", "gw/", "COHERE_API_KEY")
	r2.want(t, 0, "updated gw/COHERE_API_KEY (20 bytes)\n", "")
	if v, _ := secretValue(t, api, "gw/COHERE_API_KEY"); v != "sk-provider-value-22" {
		t.Fatalf("stored value %q", v)
	}
	noValue(t, r, "sk-provider-value-1")
	noValue(t, r2, "sk-provider-value-22")

	// The prefix from the environment; a JSON value kept as given.
	t.Setenv("GATEWAY_SECRETS_PREFIX", "env/")
	ctl(t, `{"public":"pk-lf-1","secret":"sk-lf-2"}`, "secrets", "set", "LANGFUSE").want(t, 0, "created env/LANGFUSE (39 bytes)\n", "")
	if v, _ := secretValue(t, api, "env/LANGFUSE"); v != `{"public":"pk-lf-1","secret":"sk-lf-2"}` {
		t.Fatalf("stored value %q", v)
	}
}

func TestSecretsSetRejectsAnEmptyValue(t *testing.T) {
	noPrefixEnv(t)
	api := smAPI(t)
	for _, stdin := range []string{"", "\n", "\r\n\n"} {
		ctl(t, stdin, "secrets", "set", "COHERE_API_KEY", "--prefix", "gw/").want(t, 1, "",
			"gatewayctl: no value on standard input (e.g. `printf %s \"$KEY\" | gatewayctl secrets set COHERE_API_KEY`)\n")
	}
	if _, ok := secretValue(t, api, "gw/COHERE_API_KEY"); ok {
		t.Fatal("an empty value was stored")
	}
	ctl(t, "sk-value", "secrets", "set", "A:b", "--prefix", "gw/").want(t, 2, "",
		"gatewayctl secrets set: \"A:b\": a secret name cannot contain ':' (NAME:field selects a field when reading)\n"+
			"usage: gatewayctl secrets set NAME [flags]\nRun 'gatewayctl secrets set --help' for its arguments and flags.\n")
	if _, ok := secretValue(t, api, "gw/A:b"); ok {
		t.Fatal("a name with ':' was stored")
	}
}

func TestSecretsCheck(t *testing.T) {
	noPrefixEnv(t)
	smAPI(t)
	path := writeFile(t, "config.yaml", localConfig)
	values := map[string]string{
		"LITELLM_MASTER_KEY": "sk-master-31c5", "COHERE_API_KEY": "co-key-7a2b", "LANGFUSE_PUBLIC_KEY": "pk-lf-9d0e",
		"LANGFUSE_SECRET_KEY": "sk-lf-4f6a", "ANTHROPIC_API_KEY": "sk-ant-8b1c", "OPENAI_API_KEY": "sk-oai-2e3d",
	}
	all := make([]string, 0, len(values))
	for _, v := range values {
		all = append(all, v)
	}
	for _, name := range []string{"LITELLM_MASTER_KEY", "COHERE_API_KEY", "LANGFUSE_PUBLIC_KEY"} {
		ctl(t, values[name], "secrets", "set", name, "--prefix", "gw/").want(t, 0, "created gw/"+name+" ("+strconv.Itoa(len(values[name]))+" bytes)\n", "")
	}

	r := ctl(t, "", "secrets", "check", path, "--prefix", "gw/")
	r.want(t, 1, "", "gatewayctl: "+path+": unresolved secrets:\n"+
		`os.environ/LANGFUSE_SECRET_KEY (used by pass_through_endpoints[1] (/api/public/ingestion) headers.LANGFUSE_SECRET_KEY): secret "gw/LANGFUSE_SECRET_KEY" is not set`+"\n"+
		`os.environ/ANTHROPIC_API_KEY (used by pass_through_endpoints[2] (/anthropic) headers.x-api-key): secret "gw/ANTHROPIC_API_KEY" is not set`+"\n"+
		`os.environ/OPENAI_API_KEY (used by pass_through_endpoints[3] (/openai/v1/chat/completions) headers.Authorization): secret "gw/OPENAI_API_KEY" is not set`+"\n")
	noValue(t, r, all...)

	// Under another prefix none of them exists.
	r = ctl(t, "", "secrets", "check", path, "--prefix", "other/")
	if r.code != 1 || strings.Count(r.stderr, " is not set") != 6 ||
		!strings.Contains(r.stderr, `os.environ/LITELLM_MASTER_KEY (used by general_settings.master_key): secret "other/LITELLM_MASTER_KEY" is not set`) {
		t.Fatalf("check under another prefix: %+v", r)
	}

	for _, name := range []string{"LANGFUSE_SECRET_KEY", "ANTHROPIC_API_KEY", "OPENAI_API_KEY"} {
		ctl(t, values[name], "secrets", "set", name, "--prefix", "gw/").want(t, 0, "created gw/"+name+" ("+strconv.Itoa(len(values[name]))+" bytes)\n", "")
	}
	r = ctl(t, "", "secrets", "check", "--prefix", "gw/", path)
	r.want(t, 0, `ok os.environ/LITELLM_MASTER_KEY -> secret gw/LITELLM_MASTER_KEY
ok os.environ/COHERE_API_KEY -> secret gw/COHERE_API_KEY
ok os.environ/LANGFUSE_PUBLIC_KEY -> secret gw/LANGFUSE_PUBLIC_KEY
ok os.environ/LANGFUSE_SECRET_KEY -> secret gw/LANGFUSE_SECRET_KEY
ok os.environ/ANTHROPIC_API_KEY -> secret gw/ANTHROPIC_API_KEY
ok os.environ/OPENAI_API_KEY -> secret gw/OPENAI_API_KEY
6 secret reference(s) resolve
ok built-in /openai -> secret gw/OPENAI_API_KEY
unset built-in /azure -> secret gw/AZURE_API_KEY: calls answer 401 until it is set (or list azure in general_settings.disabled_provider_routes)
unset built-in /gemini -> secret gw/GEMINI_API_KEY: calls answer 401 until it is set (or list gemini in general_settings.disabled_provider_routes)
ok built-in /cohere -> secret gw/COHERE_API_KEY
unset built-in /mistral -> secret gw/MISTRAL_API_KEY: calls answer 401 until it is set (or list mistral in general_settings.disabled_provider_routes)
ok built-in /langfuse -> secret gw/LANGFUSE_PUBLIC_KEY
ok built-in /langfuse -> secret gw/LANGFUSE_SECRET_KEY
unset built-in /vertex_ai -> secret gw/DEFAULT_GOOGLE_APPLICATION_CREDENTIALS: only callers who send their own vertex_ai credential are served
`, "")
	noValue(t, r, all...)
}

func TestSecretsCheckJSONFields(t *testing.T) {
	noPrefixEnv(t)
	smAPI(t)
	path := writeFile(t, "config.yaml", `general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
  disabled_provider_routes: [openai, azure, gemini, cohere, mistral]
  pass_through_endpoints:
    - path: /langfuse
      target: http://127.0.0.1:4010/
      include_subpath: true
      auth: true
    - path: /api/public/ingestion
      target: http://127.0.0.1:4010/api/public/ingestion
      auth: true
      custom_auth_parser: langfuse
      headers:
        LANGFUSE_PUBLIC_KEY: os.environ/LANGFUSE:public
        LANGFUSE_SECRET_KEY: os.environ/LANGFUSE:secret
`)
	ctl(t, "sk-master-31c5", "secrets", "set", "LITELLM_MASTER_KEY", "--prefix", "gw/").want(t, 0, "created gw/LITELLM_MASTER_KEY (14 bytes)\n", "")
	ctl(t, `{"public":"pk-lf-9d0e","secret":"sk-lf-4f6a"}`, "secrets", "set", "LANGFUSE", "--prefix", "gw/").
		want(t, 0, "created gw/LANGFUSE (45 bytes)\n", "")
	r := ctl(t, "", "secrets", "check", path, "--prefix", "gw/")
	r.want(t, 0, `ok os.environ/LITELLM_MASTER_KEY -> secret gw/LITELLM_MASTER_KEY
ok os.environ/LANGFUSE:public -> secret gw/LANGFUSE
ok os.environ/LANGFUSE:secret -> secret gw/LANGFUSE
3 secret reference(s) resolve
unset built-in /anthropic -> secret gw/ANTHROPIC_API_KEY: only callers who send their own anthropic credential are served
unset built-in /vertex_ai -> secret gw/DEFAULT_GOOGLE_APPLICATION_CREDENTIALS: only callers who send their own vertex_ai credential are served
`, "")
	noValue(t, r, "sk-master-31c5", "pk-lf-9d0e", "sk-lf-4f6a")
}

// A reference to a field the JSON secret lacks must name the secret as stored (with its prefix):
// the operator looks for gw/LANGFUSE, which exists, not for LANGFUSE.
func TestSecretsCheckMissingFieldNamesTheStoredSecret(t *testing.T) {
	noPrefixEnv(t)
	smAPI(t)
	path := writeFile(t, "config.yaml", `general_settings:
  pass_through_endpoints:
    - path: /api/public/ingestion
      target: http://127.0.0.1:4010/api/public/ingestion
      auth: true
      custom_auth_parser: langfuse
      headers:
        LANGFUSE_PUBLIC_KEY: os.environ/LANGFUSE:public
        LANGFUSE_SECRET_KEY: os.environ/LANGFUSE:secret
`)
	ctl(t, `{"public":"pk-lf-9d0e"}`, "secrets", "set", "LANGFUSE", "--prefix", "gw/").want(t, 0, "created gw/LANGFUSE (23 bytes)\n", "")
	r := ctl(t, "", "secrets", "check", path, "--prefix", "gw/")
	r.want(t, 1, "", "gatewayctl: "+path+": unresolved secrets:\n"+
		`os.environ/LANGFUSE:secret (used by pass_through_endpoints[0] (/api/public/ingestion) headers.LANGFUSE_SECRET_KEY): secret "gw/LANGFUSE:secret" is not set`+"\n")
	noValue(t, r, "pk-lf-9d0e")
}

// Likewise for a secret that is not JSON at all: the message must name gw/LANGFUSE, the secret
// to fix, not LANGFUSE, which does not exist under the prefix.
func TestSecretsCheckNonJSONSecretNamesTheStoredSecret(t *testing.T) {
	noPrefixEnv(t)
	smAPI(t)
	path := writeFile(t, "config.yaml", `general_settings:
  pass_through_endpoints:
    - path: /api/public/ingestion
      target: http://127.0.0.1:4010/api/public/ingestion
      auth: true
      custom_auth_parser: langfuse
      headers:
        LANGFUSE_PUBLIC_KEY: os.environ/LANGFUSE:public
        LANGFUSE_SECRET_KEY: os.environ/LANGFUSE:secret
`)
	ctl(t, "pk-lf-plain-9d0e", "secrets", "set", "LANGFUSE", "--prefix", "gw/").want(t, 0, "created gw/LANGFUSE (16 bytes)\n", "")
	r := ctl(t, "", "secrets", "check", path, "--prefix", "gw/")
	if r.code != 1 || r.stdout != "" {
		t.Fatalf("check: %+v", r)
	}
	noValue(t, r, "pk-lf-plain-9d0e")
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	want := []string{
		"gatewayctl: " + path + ": unresolved secrets:",
		"os.environ/LANGFUSE:public (used by pass_through_endpoints[0] (/api/public/ingestion) headers.LANGFUSE_PUBLIC_KEY): ",
		"os.environ/LANGFUSE:secret (used by pass_through_endpoints[0] (/api/public/ingestion) headers.LANGFUSE_SECRET_KEY): ",
	}
	if len(lines) != len(want) || lines[0] != want[0] {
		t.Fatalf("stderr:\n%s", r.stderr)
	}
	for i, field := range []string{"public", "secret"} {
		line := lines[i+1]
		if !strings.HasPrefix(line, want[i+1]) || !strings.HasSuffix(line, `is not a JSON object, so it has no field "`+field+`"`) {
			t.Fatalf("line %d: %q", i+2, line)
		}
		if !strings.Contains(line, `secret "gw/LANGFUSE"`) {
			t.Errorf("the reason does not name the stored secret gw/LANGFUSE: %q", strings.TrimPrefix(line, want[i+1]))
		}
	}
}

// A config that writes credentials itself (not os.environ/) is not pushed into plain String
// parameters unless asked for explicitly.
func TestRoutesPushRefusesLiteralCredentials(t *testing.T) {
	noPrefixEnv(t)
	api := ssmAPI(t)
	path := writeFile(t, "literal.yaml", `
general_settings:
  master_key: sk-literal-master
  pass_through_endpoints:
    - {path: /x, target: "https://x.example.com", auth: true, headers: {Authorization: "Bearer sk-literal-provider"}}
`)
	r := ctl(t, "", "routes", "push", path, "--prefix", "/lit")
	want := "gatewayctl: refusing to store credentials in plain String parameters:\n" +
		"  general_settings.master_key\n  pass_through_endpoints[0] (/x) headers.Authorization\n" +
		"reference them as os.environ/NAME (a Secrets Manager secret), or pass --secure-string (or --allow-literal-credentials)\n"
	if r.code != 1 || r.stderr != want || strings.Contains(r.stdout+r.stderr, "sk-literal") {
		t.Fatalf("exit %d\nstdout %q\nstderr %q\nwant stderr %q", r.code, r.stdout, r.stderr, want)
	}
	if n := len(stored(t, api, "/lit")); n != 0 {
		t.Fatalf("%d parameters written", n)
	}
	if r := ctl(t, "", "routes", "push", path, "--prefix", "/lit", "--secure-string"); r.code != 0 {
		t.Fatalf("--secure-string: exit %d: %s", r.code, r.stderr)
	}
	if n := len(stored(t, api, "/lit")); n != 2 {
		t.Fatalf("%d parameters written with --secure-string, want 2", n)
	}
}

// A guardrail whose parameters its checker refuses fails validate (and so routes push), named.
func TestValidateRefusesBadGuardrail(t *testing.T) {
	path := writeFile(t, "guard.yaml", `guardrails:
  - guardrail_name: pii
    litellm_params:
      guardrail: litellm_content_filter
      patterns: [{pattern_type: prebuilt, pattern_name: passport_xx, action: BLOCK}]
general_settings:
  pass_through_endpoints:
    - {path: /v1/x, target: "http://127.0.0.1:4010/v1/x", auth: true, guardrails: [pii]}
`)
	ctl(t, "", "validate", path).want(t, 1, "", "gatewayctl: "+path+":\n"+
		`guardrail "pii": patterns[0]: pattern_name: "passport_xx" is not a prebuilt pattern (known: us_ssn, email, phone, visa, mastercard, amex, discover, iban, aws_access_key, aws_secret_key, github_token, slack_token, openai_api_key, anthropic_api_key, google_api_key, private_key, jwt)`+"\n")
}
