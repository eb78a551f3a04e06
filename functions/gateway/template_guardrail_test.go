package main

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// bedrock:ApplyGuardrail is granted only with BedrockGuardrails=true (default false), on the
// account's guardrails in the stack's region unless BedrockGuardrailArns narrows it: a
// guardrail-less stack keeps its least-privilege role.
func TestTemplateBedrockGuardrailPermission(t *testing.T) {
	tpl := loadTemplate(t)
	params := child(tpl, "Parameters")
	if d := child(child(params, "BedrockGuardrails"), "Default"); d == nil || d.Value != "false" {
		t.Errorf("BedrockGuardrails default %v, want false", d)
	}
	if typ := child(child(params, "BedrockGuardrailArns"), "Type"); typ == nil || typ.Value != "CommaDelimitedList" {
		t.Errorf("BedrockGuardrailArns type %v, want CommaDelimitedList", typ)
	}
	cond := child(child(tpl, "Conditions"), "BedrockGuardrailsOn")
	if cond == nil || cond.Tag != "!Equals" || len(cond.Content) != 2 || cond.Content[0].Value != "BedrockGuardrails" || cond.Content[1].Value != "true" {
		t.Fatalf("condition BedrockGuardrailsOn is not !Equals [!Ref BedrockGuardrails, \"true\"]")
	}
	policies := child(child(child(child(tpl, "Resources"), "GatewayRole"), "Properties"), "Policies")
	var found *yaml.Node
	for _, p := range policies.Content {
		for _, n := range nodes(p) {
			if n.Value == "bedrock:ApplyGuardrail" {
				if p.Tag != "!If" || p.Content[0].Value != "BedrockGuardrailsOn" || p.Content[2].Value != "AWS::NoValue" {
					t.Errorf("bedrock:ApplyGuardrail is granted outside !If [BedrockGuardrailsOn, ..., !Ref AWS::NoValue]")
				}
				found = p
			}
		}
	}
	if found == nil {
		t.Fatal("no policy grants bedrock:ApplyGuardrail")
	}
	var resources []string
	for _, n := range nodes(found) {
		if strings.Contains(n.Value, ":guardrail/") || n.Value == "BedrockGuardrailArns" {
			resources = append(resources, n.Value)
		}
	}
	want := []string{"BedrockGuardrailArns", "arn:${AWS::Partition}:bedrock:${AWS::Region}:${AWS::AccountId}:guardrail/*"}
	if strings.Join(resources, " ") != strings.Join(want, " ") {
		t.Errorf("ApplyGuardrail resources %q, want %q", resources, want)
	}
	for _, n := range nodes(found) {
		if n.Value == "*" || (strings.HasPrefix(n.Value, "bedrock:") && n.Value != "bedrock:ApplyGuardrail") {
			t.Errorf("the guardrail policy holds %q", n.Value)
		}
	}
}

// nodes returns n and every node below it.
func nodes(n *yaml.Node) []*yaml.Node {
	out := []*yaml.Node{n}
	for _, c := range n.Content {
		out = append(out, nodes(c)...)
	}
	return out
}
