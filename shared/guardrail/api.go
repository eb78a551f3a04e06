// Package guardrail runs LiteLLM-shaped guardrails on pass-through calls.
package guardrail

import (
	"context"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/passthru/gateway/shared/secrets"
)

// Source says which side of the call the texts come from (LiteLLM's input_type).
type Source string

const (
	Request  Source = "request"
	Response Source = "response"
)

// Input is what one guardrail checks.
type Input struct {
	Source  Source
	Texts   []string // the targeted field values, or the whole body as compact JSON
	CallID  string   // x-litellm-call-id
	KeyHash string   // hex SHA-256 of the caller's gateway key, "" when none
	Route   string
}

// Action is a guardrail's decision.
type Action string

const (
	Allow Action = "none"
	Block Action = "blocked"
	Mask  Action = "masked" // Texts replaced
)

// Verdict is a guardrail's answer.
type Verdict struct {
	Action Action
	Texts  []string // with Mask: one replacement per Input.Texts entry, same order
	Reason string   // for the client and the record; never the matched text itself
}

// Checker runs one guardrail. Safe for concurrent use.
type Checker interface {
	Check(ctx context.Context, in Input) (Verdict, error)
}

// Def is one entry of the config's top-level `guardrails:` list.
type Def struct {
	Name      string
	Kind      string   // litellm_params.guardrail
	Modes     []string // litellm_params.mode: pre_call, during_call, post_call (one or a list)
	DefaultOn bool
	Params    map[string]any // every litellm_params key as decoded from YAML/JSON (strings, numbers, bools, lists, maps)
}

// Deps are what checkers need from outside, built once by the wiring.
type Deps struct {
	Secrets secrets.Resolver                              // os.environ/ references in Params (headers, api keys)
	AWS     func(ctx context.Context) (aws.Config, error) // lazily loaded AWS config (region, function-role credentials)
	HTTP    *http.Client                                  // for webhooks; nil: a default with sane timeouts
}
