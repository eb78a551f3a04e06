package guardrail

// Stand-ins until the Bedrock and webhook checkers land (branch i13-checkers).

import "fmt"

// NewBedrock is not available yet.
func NewBedrock(d Def, _ Deps) (Checker, error) {
	return nil, fmt.Errorf("guardrail %q: bedrock guardrails are not built into this gateway yet", d.Name)
}

// NewWebhook is not available yet.
func NewWebhook(d Def, _ Deps) (Checker, error) {
	return nil, fmt.Errorf("guardrail %q: generic_guardrail_api guardrails are not built into this gateway yet", d.Name)
}
