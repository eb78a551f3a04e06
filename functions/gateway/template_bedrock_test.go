package main

import (
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// flat renders a node as "tag value value ..." depth first, to compare small expressions.
func flat(n *yaml.Node) string {
	if n == nil {
		return ""
	}
	parts := []string{}
	if strings.HasPrefix(n.Tag, "!") && n.Tag != "!!str" {
		parts = append(parts, n.Tag)
	}
	if n.Value != "" {
		parts = append(parts, n.Value)
	}
	for _, c := range n.Content {
		parts = append(parts, flat(c))
	}
	return strings.Join(parts, " ")
}

// bedrockActions lists the bedrock: actions a node grants, wherever they are.
func bedrockActions(n *yaml.Node, out *[]string) {
	if n == nil {
		return
	}
	if n.Kind == yaml.ScalarNode && strings.HasPrefix(n.Value, "bedrock:") && !strings.Contains(n.Value, "Arn") {
		*out = append(*out, n.Value)
	}
	for _, c := range n.Content {
		bedrockActions(c, out)
	}
}

// Nothing of Bedrock is granted unless EnableBedrock is "true" (default "false"): the role's one
// Bedrock policy sits in an !If on BedrockOn with AWS::NoValue otherwise, and the function's
// GATEWAY_BEDROCK follows the same condition.
func TestTemplateGrantsBedrockOnlyWhenEnabled(t *testing.T) {
	tpl := loadTemplate(t)
	if d := child(child(child(tpl, "Parameters"), "EnableBedrock"), "Default"); d == nil || d.Value != "false" {
		t.Fatalf("EnableBedrock default %v, want \"false\"", d)
	}
	if got := flat(child(child(tpl, "Conditions"), "BedrockOn")); got != "!Equals !Ref EnableBedrock true" {
		t.Errorf("BedrockOn = %q", got)
	}
	res := child(tpl, "Resources")
	env := child(child(child(child(res, "GatewayFunction"), "Properties"), "Environment"), "Variables")
	if got := flat(child(env, "GATEWAY_BEDROCK")); got != "!If BedrockOn on off" {
		t.Errorf("GATEWAY_BEDROCK = %q", got)
	}
	var guarded, unguarded []string
	_, resources := keys(res)
	for name, r := range resources {
		policies := child(child(r, "Properties"), "Policies")
		if policies == nil {
			continue
		}
		for _, p := range policies.Content {
			var acts []string
			if p.Tag == "!If" && len(p.Content) == 3 && p.Content[0].Value == "BedrockOn" && flat(p.Content[2]) == "!Ref AWS::NoValue" {
				bedrockActions(p.Content[1], &acts)
				guarded = append(guarded, acts...)
				continue
			}
			if p.Tag == "!If" && len(p.Content) == 3 && p.Content[0].Value == "BedrockGuardrailsOn" {
				continue // ApplyGuardrail, behind its own parameter (TestTemplateBedrockGuardrailPermission)
			}
			bedrockActions(p, &acts)
			for _, a := range acts {
				unguarded = append(unguarded, name+": "+a)
			}
		}
	}
	if len(unguarded) > 0 {
		t.Errorf("Bedrock actions granted whatever EnableBedrock says: %v", unguarded)
	}
	slices.Sort(guarded)
	guarded = slices.Compact(guarded)
	// Every agent-runtime API the route sends to bedrock-agent-runtime (builtin's bedrockAgentAPIs).
	want := []string{"bedrock:CreateInvocation", "bedrock:CreateSession", "bedrock:DeleteSession", "bedrock:EndSession",
		"bedrock:GenerateQuery", "bedrock:GetInvocationStep", "bedrock:GetSession", "bedrock:InvokeAgent", "bedrock:InvokeFlow",
		"bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream", "bedrock:ListInvocationSteps", "bedrock:ListInvocations",
		"bedrock:ListSessions", "bedrock:OptimizePrompt", "bedrock:PutInvocationStep", "bedrock:Rerank", "bedrock:Retrieve",
		"bedrock:RetrieveAndGenerate", "bedrock:UpdateSession"}
	if !slices.Equal(guarded, want) {
		t.Errorf("EnableBedrock grants %v, want %v", guarded, want)
	}
}
