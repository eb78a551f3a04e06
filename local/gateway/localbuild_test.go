package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// bedrockGuardrailConfig defines a Bedrock guardrail, which the local-only build leaves out.
const bedrockGuardrailConfig = `guardrails:
  - guardrail_name: bedrock-pii
    litellm_params: {guardrail: bedrock, mode: pre_call, guardrailIdentifier: abc123, guardrailVersion: DRAFT}
general_settings:
  master_key: sk-1234
  pass_through_endpoints:
    - {path: /v1/rerank, target: "http://127.0.0.1:9/v1/rerank", auth: true, guardrails: {bedrock-pii: {}}}
`

// bin/gateway as `make run` builds it (-tags noawsbackends) leaves the AWS SDK service packages
// of the AWS-backed sources and checks out (the Bedrock runtime's alone is 1 MiB of RSS); a
// setting that needs one of them stops it at start with exit status 1 and a message naming the
// setting and how to get a binary that has it, before any AWS configuration is read, rather than
// serving without it.
func TestLocalOnlyBuildRefusesAWSBackedSettings(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "gateway")
	if out, err := exec.Command("go", "build", "-tags", "noawsbackends", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build -tags noawsbackends: %v\n%s", err, out)
	}
	if out, err := exec.Command("go", "list", "-tags", "noawsbackends", "-deps", ".").Output(); err != nil {
		t.Fatal(err)
	} else {
		for _, pkg := range []string{"ssm", "dynamodb", "firehose", "secretsmanager", "bedrockruntime"} {
			if bytes.Contains(out, []byte("github.com/aws/aws-sdk-go-v2/service/"+pkg+"\n")) {
				t.Errorf("the local-only build links service/%s", pkg)
			}
		}
	}
	bedrockConfig := filepath.Join(t.TempDir(), "bedrock.yaml")
	if err := os.WriteFile(bedrockConfig, []byte(bedrockGuardrailConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		config string
		args   []string
		want   string
	}{
		{"-routes-prefix", "../config.yaml", []string{"-routes-prefix", "/gw"}, "routes from SSM (-routes-prefix) needs the AWS backends"},
		{"-secrets", "../config.yaml", []string{"-secrets", "secretsmanager"}, "secrets from Secrets Manager (-secrets secretsmanager) needs the AWS backends"},
		{"-keys-table", "../config.yaml", []string{"-keys-table", "keys"}, "a DynamoDB keys table (-keys-table) needs the AWS backends"},
		{"-ratelimit-table", "../config.yaml", []string{"-ratelimit-table", "rl"}, "a DynamoDB rate-limit table (-ratelimit-table) needs the AWS backends"},
		{"guardrail: bedrock", bedrockConfig, nil,
			`guardrail \"bedrock-pii\": a Bedrock guardrail needs the AWS backends, which this binary was built without`}, // quoted by the log
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(bin, append([]string{"-config", c.config, "-addr", "127.0.0.1:0"}, c.args...)...)
			cmd.Env = []string{"LITELLM_MASTER_KEY=sk-1234", "COHERE_API_KEY=c", "LANGFUSE_PUBLIC_KEY=p", "LANGFUSE_SECRET_KEY=s",
				"ANTHROPIC_API_KEY=a", "OPENAI_API_KEY=o", "AWS_EC2_METADATA_DISABLED=true"}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("exit: %v, want status 1; stderr:\n%s", err, stderr.String())
			}
			if got := stderr.String(); !strings.Contains(got, c.want) || !strings.Contains(got, "go build -o bin/gateway ./local/gateway") {
				t.Errorf("stderr %q, want it to say %q and how to build a binary with the backends", got, c.want)
			}
		})
	}
}
