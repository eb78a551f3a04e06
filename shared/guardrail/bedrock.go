//go:build !noawsbackends

package guardrail

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

const (
	// bedrockDefaultTimeout bounds one ApplyGuardrail call, the SDK's retries included.
	bedrockDefaultTimeout = 10 * time.Second
	bedrockMaxTimeout     = 300 * time.Second
	// bedrockEndpointParam is LiteLLM's name for the Bedrock runtime endpoint override.
	bedrockEndpointParam = "aws_bedrock_runtime_endpoint"
)

// bedrockCredentialParams are LiteLLM's ways to give a Bedrock guardrail its own AWS identity.
// The gateway signs with the function's role only (no secret to hold), so a config that asks
// for another identity is refused instead of silently signed with a different one.
var bedrockCredentialParams = []string{
	"aws_access_key_id", "aws_secret_access_key", "aws_session_token", "aws_role_name",
	"aws_session_name", "aws_profile_name", "aws_web_identity_token", "aws_sts_endpoint",
}

// bedrockRegion is the shape of an AWS region name (us-east-1, us-gov-west-1, eu-central-2).
var bedrockRegion = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

// ApplyGuardrail's patterns for the identifier (an id or a guardrail ARN, whose region is
// group 1) and the version
// (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ApplyGuardrail.html),
// checked at load so that a typo is a config error, not a failure of every call.
var (
	bedrockIdentifier = regexp.MustCompile(`^(?:[a-z0-9]+|arn:aws(?:-[^:]+)?:bedrock:([a-z0-9-]{1,20}):[0-9]{12}:guardrail/[a-z0-9]+)$`)
	bedrockVersion    = regexp.MustCompile(`^(?:[1-9][0-9]{0,7}|DRAFT)$`)
)

// bedrockAPI is the one call this checker makes; tests can stand in for it.
type bedrockAPI interface {
	ApplyGuardrail(ctx context.Context, in *bedrockruntime.ApplyGuardrailInput, opts ...func(*bedrockruntime.Options)) (*bedrockruntime.ApplyGuardrailOutput, error)
}

// bedrockChecker runs an Amazon Bedrock guardrail through ApplyGuardrail
// (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ApplyGuardrail.html):
// POST /guardrail/{id}/version/{version}/apply, SigV4-signed by the SDK with the function's
// role, one text block per checked text.
type bedrockChecker struct {
	name         string
	id, version  string
	region       string // "" = the AWS config's region
	endpoint     string // "" = the SDK's endpoint resolution (AWS_ENDPOINT_URL_BEDROCK_RUNTIME, else AWS)
	maskRequest  bool
	maskResponse bool
	timeout      time.Duration
	loadAWS      func(ctx context.Context) (aws.Config, error)

	mu     sync.Mutex
	client bedrockAPI // built on first use: loading the AWS config must not slow start-up
}

// NewBedrock builds the checker of a `guardrail: bedrock` definition. Params:
// guardrailIdentifier (id or ARN) and guardrailVersion (DRAFT or a number), both required;
// aws_region_name (default: the AWS config's region); mask_request_content and
// mask_response_content (pass the guardrail's masked text on instead of blocking);
// aws_bedrock_runtime_endpoint (an endpoint override, for tests and VPC endpoints); timeout
// (seconds per call, default 10).
func NewBedrock(d Def, deps Deps) (Checker, error) {
	p := newCheckerParams(d)
	for _, k := range bedrockCredentialParams {
		if p.has(k) {
			return nil, p.errorf(k, "not supported: the gateway signs ApplyGuardrail with the function's role (template parameter BedrockGuardrails)")
		}
	}
	c := &bedrockChecker{name: d.Name, loadAWS: deps.AWS}
	var err error
	if c.id, err = p.str("guardrailIdentifier"); err != nil {
		return nil, err
	}
	if c.id == "" {
		return nil, p.errorf("guardrailIdentifier", "required (the guardrail's id or ARN)")
	}
	idMatch := bedrockIdentifier.FindStringSubmatch(c.id)
	if idMatch == nil || len(c.id) > 2048 {
		return nil, p.errorf("guardrailIdentifier", "%q is neither a guardrail id nor a guardrail ARN", c.id)
	}
	if c.version, err = p.str("guardrailVersion"); err != nil {
		return nil, err
	}
	if c.version == "" {
		return nil, p.errorf("guardrailVersion", "required (DRAFT or a version number)")
	}
	if !bedrockVersion.MatchString(c.version) {
		return nil, p.errorf("guardrailVersion", "%q is neither DRAFT nor a version number", c.version)
	}
	if c.region, err = bedrockRegionParam(p); err != nil {
		return nil, err
	}
	// An ARN names the guardrail's region: it is the default, and another region is a mistake
	// (the call would go to a region where the guardrail does not exist).
	if arnRegion := idMatch[1]; arnRegion != "" {
		if c.region != "" && c.region != arnRegion {
			return nil, p.errorf("aws_region_name", "%s, but guardrailIdentifier is in %s", c.region, arnRegion)
		}
		c.region = arnRegion
	}
	if c.endpoint, err = bedrockEndpoint(p); err != nil {
		return nil, err
	}
	if c.maskRequest, err = p.boolean("mask_request_content", false); err != nil {
		return nil, err
	}
	if c.maskResponse, err = p.boolean("mask_response_content", false); err != nil {
		return nil, err
	}
	if c.timeout, err = p.seconds("timeout", bedrockDefaultTimeout, bedrockMaxTimeout); err != nil {
		return nil, err
	}
	// deps.AWS is not required here: the load validates definitions with partial Deps, and the
	// call reports a missing AWS configuration.
	return c, nil
}

// bedrockRegionParam reads aws_region_name. LiteLLM's documented example is
// `os.environ/AWS_REGION`: a reference reads the process environment (a region is no secret,
// and on Lambda AWS_REGION is the runtime's own variable); unset means the AWS config's region.
func bedrockRegionParam(p checkerParams) (string, error) {
	r, err := p.str("aws_region_name")
	if err != nil || r == "" {
		return "", err
	}
	if name, ok := strings.CutPrefix(r, "os.environ/"); ok {
		r = strings.TrimSpace(os.Getenv(name))
		if r == "" {
			return "", nil
		}
	}
	if !bedrockRegion.MatchString(r) {
		return "", p.errorf("aws_region_name", "%q is not an AWS region name", r)
	}
	return r, nil
}

// bedrockEndpoint reads aws_bedrock_runtime_endpoint: an absolute http(s) URL without
// credentials, query or fragment.
func bedrockEndpoint(p checkerParams) (string, error) {
	e, err := p.str(bedrockEndpointParam)
	if err != nil || e == "" {
		return "", err
	}
	u, err := url.Parse(e)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", p.errorf(bedrockEndpointParam, "want an http(s) URL without credentials, query or fragment")
	}
	return strings.TrimRight(e, "/"), nil
}

// api returns the Bedrock runtime client, building it on first use. A failed AWS config load
// is not remembered: the next call tries again.
func (c *bedrockChecker) api(ctx context.Context) (bedrockAPI, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.client != nil {
		return c.client, nil
	}
	if c.loadAWS == nil {
		return nil, fmt.Errorf("guardrail %q: bedrock needs the AWS configuration, and none was given", c.name)
	}
	cfg, err := c.loadAWS(ctx)
	if err != nil {
		return nil, fmt.Errorf("guardrail %q: loading the AWS configuration: %w", c.name, err)
	}
	client := bedrockruntime.NewFromConfig(cfg, func(o *bedrockruntime.Options) {
		if c.region != "" {
			o.Region = c.region
		}
		if c.endpoint != "" {
			o.BaseEndpoint = aws.String(c.endpoint)
		}
	})
	if client.Options().Region == "" {
		return nil, fmt.Errorf("guardrail %q: no AWS region: set aws_region_name or AWS_REGION", c.name)
	}
	c.client = client
	return client, nil
}

// Check implements Checker.
func (c *bedrockChecker) Check(ctx context.Context, in Input) (Verdict, error) {
	// Bedrock refuses an empty text block, so empty texts are not sent; sent[i] is the
	// index in in.Texts of the i-th block, which is how outputs map back.
	sent := make([]int, 0, len(in.Texts))
	content := make([]types.GuardrailContentBlock, 0, len(in.Texts))
	for i, t := range in.Texts {
		if t == "" {
			continue
		}
		sent = append(sent, i)
		content = append(content, &types.GuardrailContentBlockMemberText{Value: types.GuardrailTextBlock{Text: aws.String(t)}})
	}
	if len(content) == 0 {
		return Verdict{Action: Allow}, nil
	}
	api, err := c.api(ctx)
	if err != nil {
		return Verdict{}, err
	}
	source := types.GuardrailContentSourceInput
	if in.Source == Response {
		source = types.GuardrailContentSourceOutput
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	out, err := api.ApplyGuardrail(ctx, &bedrockruntime.ApplyGuardrailInput{
		GuardrailIdentifier: aws.String(c.id),
		GuardrailVersion:    aws.String(c.version),
		Source:              source,
		Content:             content,
	})
	if err != nil {
		return Verdict{}, fmt.Errorf("guardrail %q: bedrock ApplyGuardrail %s version %s: %w", c.name, c.id, c.version, bedrockCause(err))
	}
	return c.verdict(in, sent, out)
}

// bedrockCause keeps the SDK's error (AccessDeniedException, ValidationException, ...) and
// says plainly when the call ran out of time.
func bedrockCause(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("timed out: %w", err)
	}
	return err
}

// verdict maps ApplyGuardrail's answer. Bedrock says GUARDRAIL_INTERVENED both when a policy
// blocks and when it only anonymizes (masks PII); like LiteLLM (_should_raise_guardrail_blocked_exception)
// any BLOCKED assessment blocks. Anonymized-only output is passed on as Mask when the mask
// flag of that side is on and the outputs map one to one onto the sent blocks; otherwise
// the call is blocked, because forwarding the unmasked text would ignore the guardrail.
func (c *bedrockChecker) verdict(in Input, sent []int, out *bedrockruntime.ApplyGuardrailOutput) (Verdict, error) {
	switch out.Action {
	case types.GuardrailActionNone:
		return Verdict{Action: Allow}, nil
	case types.GuardrailActionGuardrailIntervened:
	default:
		return Verdict{}, fmt.Errorf("guardrail %q: bedrock ApplyGuardrail returned the unknown action %q", c.name, out.Action)
	}
	blocked, findings := bedrockFindings(out.Assessments)
	mask := c.maskRequest
	if in.Source == Response {
		mask = c.maskResponse
	}
	switch {
	case blocked:
	case !mask:
		return Verdict{Action: Block, Reason: bedrockReason("Violated guardrail policy", findings) + " (set " + c.maskFlag(in.Source) + " to pass the masked text on)"}, nil
	case len(out.Outputs) != len(sent):
		return Verdict{Action: Block, Reason: bedrockReason("Violated guardrail policy", findings) +
			fmt.Sprintf(" (the guardrail returned %d masked texts for %d checked)", len(out.Outputs), len(sent))}, nil
	default:
		texts := append([]string(nil), in.Texts...)
		for i, o := range out.Outputs {
			texts[sent[i]] = aws.ToString(o.Text)
		}
		return Verdict{Action: Mask, Texts: texts, Reason: bedrockReason("Masked by guardrail policy", findings)}, nil
	}
	return Verdict{Action: Block, Reason: bedrockReason("Violated guardrail policy", findings)}, nil
}

func (c *bedrockChecker) maskFlag(s Source) string {
	if s == Response {
		return "mask_response_content"
	}
	return "mask_request_content"
}

// bedrockReason joins the policy findings after a lead: "Violated guardrail policy: topic
// Investments (BLOCKED); PII EMAIL (ANONYMIZED)".
func bedrockReason(lead string, findings []string) string {
	if len(findings) == 0 {
		return lead
	}
	return lead + ": " + strings.Join(findings, "; ")
}

// bedrockFindings lists what acted in the assessments, by policy and name, and whether any
// of it BLOCKED. It never includes a match: Match fields hold the checked text itself.
func bedrockFindings(assessments []types.GuardrailAssessment) (blocked bool, findings []string) {
	seen := map[string]bool{}
	add := func(what, action string) {
		if action == "" || action == "NONE" {
			return
		}
		blocked = blocked || action == "BLOCKED"
		f := what + " (" + action + ")"
		if !seen[f] {
			seen[f] = true
			findings = append(findings, f)
		}
	}
	for _, a := range assessments {
		if p := a.TopicPolicy; p != nil {
			for _, t := range p.Topics {
				add("topic "+aws.ToString(t.Name), string(t.Action))
			}
		}
		if p := a.ContentPolicy; p != nil {
			for _, f := range p.Filters {
				add("content "+string(f.Type), string(f.Action))
			}
		}
		if p := a.WordPolicy; p != nil {
			for _, w := range p.CustomWords {
				add("custom word", string(w.Action))
			}
			for _, w := range p.ManagedWordLists {
				add("managed words "+string(w.Type), string(w.Action))
			}
		}
		if p := a.SensitiveInformationPolicy; p != nil {
			for _, e := range p.PiiEntities {
				add("PII "+string(e.Type), string(e.Action))
			}
			for _, r := range p.Regexes {
				add("regex "+aws.ToString(r.Name), string(r.Action))
			}
		}
		if p := a.ContextualGroundingPolicy; p != nil {
			for _, f := range p.Filters {
				add("grounding "+string(f.Type), string(f.Action))
			}
		}
	}
	return blocked, findings
}
