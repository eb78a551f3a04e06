package builtin

import "testing"

// bedrockTarget: the service and region of each call, LiteLLM's region order (model ARN,
// AWS_REGION_NAME, AWS_REGION, then boto3's AWS_DEFAULT_REGION and us-west-2), the China
// partition's domain, and the endpoint overrides (their path kept).
func TestBedrockTarget(t *testing.T) {
	tests := []struct {
		name, subpath string
		env           map[string]string
		want          string // base URL + subpath
	}{
		{"runtime, AWS_REGION", "/model/m%3A0/invoke", map[string]string{"AWS_REGION": "eu-central-1"},
			"https://bedrock-runtime.eu-central-1.amazonaws.com/model/m%3A0/invoke"},
		{"AWS_REGION_NAME wins over AWS_REGION", "/model/m/converse", map[string]string{"AWS_REGION_NAME": "us-east-2", "AWS_REGION": "eu-central-1"},
			"https://bedrock-runtime.us-east-2.amazonaws.com/model/m/converse"},
		{"AWS_DEFAULT_REGION last", "/model/m/converse", map[string]string{"AWS_DEFAULT_REGION": "ca-central-1"},
			"https://bedrock-runtime.ca-central-1.amazonaws.com/model/m/converse"},
		{"no region anywhere: us-west-2 (LiteLLM)", "/model/m/converse", nil,
			"https://bedrock-runtime.us-west-2.amazonaws.com/model/m/converse"},
		{"a model ARN's region wins", "/model/arn%3Aaws%3Abedrock%3Aap-northeast-1%3A1%3Ainference-profile%2Fapac.x/converse-stream",
			map[string]string{"AWS_REGION_NAME": "us-east-2"},
			"https://bedrock-runtime.ap-northeast-1.amazonaws.com/model/arn%3Aaws%3Abedrock%3Aap-northeast-1%3A1%3Ainference-profile%2Fapac.x/converse-stream"},
		{"China partition", "/model/m/invoke", map[string]string{"AWS_REGION": "cn-northwest-1"},
			"https://bedrock-runtime.cn-northwest-1.amazonaws.com.cn/model/m/invoke"},
		{"GovCloud", "/model/m/invoke", map[string]string{"AWS_REGION": "us-gov-west-1"},
			"https://bedrock-runtime.us-gov-west-1.amazonaws.com/model/m/invoke"},
		{"agent runtime", "/knowledgebases/KB1/retrieve", map[string]string{"AWS_REGION": "us-east-1"},
			"https://bedrock-agent-runtime.us-east-1.amazonaws.com/knowledgebases/KB1/retrieve"},
		{"agent runtime: retrieveAndGenerateStream", "/retrieveAndGenerateStream", map[string]string{"AWS_REGION": "us-east-1"},
			"https://bedrock-agent-runtime.us-east-1.amazonaws.com/retrieveAndGenerateStream"},
		{"a model id containing an agent API name stays on the runtime", "/model/agents/converse", map[string]string{"AWS_REGION": "us-east-1"},
			"https://bedrock-runtime.us-east-1.amazonaws.com/model/agents/converse"},
		{"runtime override, path kept", "/model/m/invoke", map[string]string{"AWS_REGION": "us-east-1", BedrockRuntimeEndpointEnv: "https://vpce-1.bedrock-runtime.us-east-1.vpce.amazonaws.com/base/?x=1"},
			"https://vpce-1.bedrock-runtime.us-east-1.vpce.amazonaws.com/base/model/m/invoke"},
		{"agent override", "/flows/F1/aliases/A1", map[string]string{"AWS_REGION": "us-east-1", BedrockAgentRuntimeEndpointEnv: "http://127.0.0.1:9"},
			"http://127.0.0.1:9/flows/F1/aliases/A1"},
	}
	for _, tt := range tests {
		o := Options{Env: func(k string) string { return tt.env[k] }}
		base, rest, err := bedrockTarget(o, tt.subpath)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if got := base.String() + rest; got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

// The signer finds the same region in the whole upstream path as the Target in the subpath.
func TestBedrockRegionFromFullPath(t *testing.T) {
	o := Options{Env: func(k string) string { return map[string]string{"AWS_REGION": "us-east-1"}[k] }}
	for path, want := range map[string]string{
		"/base/model/arn%3Aaws%3Abedrock%3Aeu-west-3%3A1%3Ax/invoke":                "eu-west-3",
		"/model/arn:aws:bedrock:eu-west-3:1:application-inference-profile/x/invoke": "eu-west-3",
		"/model/us.anthropic.claude-v1%3A0/invoke":                                  "us-east-1",
		"/agents/A/agentAliases/B/sessions/s/text":                                  "us-east-1",
	} {
		if got, err := bedrockRegion(o, path); err != nil || got != want {
			t.Errorf("%s: %q %v, want %s", path, got, err, want)
		}
	}
}

// validate's line for /bedrock: where it calls and how it signs, or why it is off.
func TestBedrockDescribe(t *testing.T) {
	tests := []struct {
		o    Options
		env  map[string]string
		want string
	}{
		{Options{BedrockOff: true}, nil, "off: set GATEWAY_BEDROCK=on (on Lambda, the stack's EnableBedrock parameter, which also lets the function's role call Bedrock)"},
		{Options{}, map[string]string{"AWS_REGION": "eu"}, `off: AWS_REGION "eu" is not an AWS region`},
		{Options{}, nil, "-> https://bedrock-runtime.us-west-2.amazonaws.com and https://bedrock-agent-runtime.us-west-2.amazonaws.com " +
			"(bedrock; SigV4 with the AWS default credential chain; region from LiteLLM's default, no AWS_REGION_NAME, AWS_REGION or AWS_DEFAULT_REGION unless a model ARN names one)"},
		{Options{}, map[string]string{"AWS_REGION_NAME": "eu-north-1", BedrockRuntimeEndpointEnv: "http://127.0.0.1:8080/br"},
			"-> http://127.0.0.1:8080/br and https://bedrock-agent-runtime.eu-north-1.amazonaws.com " +
				"(bedrock; SigV4 with the AWS default credential chain; region from AWS_REGION_NAME unless a model ARN names one)"},
	}
	for _, tt := range tests {
		tt.o.Env = func(k string) string { return tt.env[k] }
		if got := bedrockDescribe(tt.o); got != tt.want {
			t.Errorf("%v: %q\nwant %q", tt.env, got, tt.want)
		}
	}
}
