package guardrail

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// KindBedrock is litellm_params.guardrail of an Amazon Bedrock guardrail.
const KindBedrock = "bedrock"

// Kinds lists the supported kinds (litellm_params.guardrail).
var Kinds = []string{KindContentFilter, KindBedrock, KindWebhook}

// The modes (litellm_params.mode).
const (
	PreCall    = "pre_call"
	DuringCall = "during_call"
	PostCall   = "post_call"
)

// New builds the checker for a definition, by its kind.
func New(d Def, deps Deps) (Checker, error) {
	switch d.Kind {
	case KindContentFilter:
		return NewContentFilter(d)
	case KindBedrock:
		return NewBedrock(d, deps)
	case KindWebhook:
		return NewWebhook(d, deps)
	}
	return nil, fmt.Errorf("guardrail %q: guardrail %q is not supported (supported: %s)", d.Name, d.Kind, strings.Join(Kinds, ", "))
}

// HasMode reports whether the definition runs in mode.
func (d Def) HasMode(mode string) bool { return slices.Contains(d.Modes, mode) }

// params reads a definition's litellm_params and collects every problem, each naming the
// guardrail and the field.
type params struct {
	def  Def
	errs []error
}

func (p *params) fail(format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("guardrail %q: %s", p.def.Name, fmt.Sprintf(format, args...)))
}

func (p *params) err() error { return errors.Join(p.errs...) }

// str is a string parameter ("" when missing); another type is an error.
func (p *params) str(key string) string {
	v, ok := p.def.Params[key]
	if !ok || v == nil {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		p.fail("%s: must be a string", key)
	}
	return s
}

// list is a list parameter (nil when missing); another type is an error.
func (p *params) list(key string) []any {
	v, ok := p.def.Params[key]
	if !ok || v == nil {
		return nil
	}
	l, ok := v.([]any)
	if !ok {
		p.fail("%s: must be a list", key)
	}
	return l
}
