package builtin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/passthru/gateway/shared/providers"
	"github.com/passthru/gateway/shared/route"
	"github.com/passthru/gateway/shared/secrets"
)

// The built-in /bedrock route (LiteLLM's, litellm-providers.md §1.3.1): runtime paths
// (/model/{modelId}/{invoke|invoke-with-response-stream|converse|converse-stream}, and any other
// bedrock-runtime path) go to https://bedrock-runtime.{region}.amazonaws.com, agent-runtime paths
// to https://bedrock-agent-runtime.{region}.amazonaws.com, each signed with SigV4 (service
// "bedrock") by the AWS SDK's signer with the credentials of its default chain: the function's
// role on Lambda, so no AWS key is stored anywhere.

const (
	// BedrockRuntimeEndpointEnv is LiteLLM's override of the runtime endpoint (a mock, a VPC
	// endpoint); BedrockAgentRuntimeEndpointEnv is the gateway's own for the agent runtime
	// (LiteLLM has none). Each replaces https://{service}.{region}.amazonaws.com, its path kept.
	BedrockRuntimeEndpointEnv      = "AWS_BEDROCK_RUNTIME_ENDPOINT"
	BedrockAgentRuntimeEndpointEnv = "AWS_BEDROCK_AGENT_RUNTIME_ENDPOINT"
	// bedrockDefaultRegion is LiteLLM's last resort (BedrockPassthroughConfig) when neither the
	// model ARN nor the environment names a region.
	bedrockDefaultRegion = "us-west-2"
	// bedrockSigningName is the SigV4 service name of bedrock-runtime and bedrock-agent-runtime
	// alike (the SDKs' signing name; LiteLLM signs both with it).
	bedrockSigningName = "bedrock"
)

// bedrockRegionEnv is where the region comes from when the model id is no ARN, in LiteLLM's
// order; AWS_DEFAULT_REGION is what boto3's session (LiteLLM's next step) reads.
var bedrockRegionEnv = []string{"AWS_REGION_NAME", "AWS_REGION", "AWS_DEFAULT_REGION"}

// awsRegion matches a region name (us-east-1, us-gov-west-1, eu-central-2, cn-north-1), which
// becomes part of a host name: anything else is refused.
var awsRegion = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)

// bedrockAgentAPIs are the first path segments of the bedrock-agent-runtime API (InvokeAgent
// /agents/..., Retrieve /knowledgebases/..., InvokeFlow /flows/..., RetrieveAndGenerate[Stream],
// Rerank, GenerateQuery, OptimizePrompt, the session APIs):
// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_Operations_Agents_for_Amazon_Bedrock_Runtime.html.
// LiteLLM matches "agents/", "knowledgebases/", ... anywhere in the path; matching the first
// segment keeps a model id that happens to contain one of them on the runtime.
var bedrockAgentAPIs = map[string]bool{
	"agents": true, "knowledgebases": true, "flows": true, "retrieveAndGenerate": true,
	"retrieveAndGenerateStream": true, "rerank": true, "generateQuery": true, "optimize-prompt": true,
	"sessions": true,
}

// bedrockHeaders are the client headers the route forwards: the body's type, and the request
// parameters the Bedrock APIs take as headers (InvokeModel's Accept, X-Amzn-Bedrock-Trace,
// -GuardrailIdentifier, -GuardrailVersion, -PerformanceConfig-Latency, -Service-Tier; the
// streaming call's X-Amzn-Bedrock-Accept; InvokeAgent's X-Amz-Source-Arn):
// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_InvokeModel.html,
// API_runtime_InvokeModelWithResponseStream.html, API_agent-runtime_InvokeAgent.html. Claude
// Code sends X-Amzn-Bedrock-Service-Tier (ANTHROPIC_BEDROCK_SERVICE_TIER). The client's own
// SigV4 headers (Authorization, X-Amz-Date, X-Amz-Security-Token, X-Amz-Content-Sha256) never
// go: the gateway signs.
var bedrockHeaders = []string{
	"Content-Type", "Content-Encoding", "Accept", "X-Amzn-Bedrock-Accept", "X-Amzn-Bedrock-Trace",
	"X-Amzn-Bedrock-Guardrailidentifier", "X-Amzn-Bedrock-Guardrailversion",
	"X-Amzn-Bedrock-Performanceconfig-Latency", "X-Amzn-Bedrock-Service-Tier", "X-Amz-Source-Arn",
}

// bedrockProvider is the registry row.
var bedrockProvider = Provider{
	Name: providers.Bedrock, Prefixes: []string{"/bedrock"},
	// Nominal: Target picks the regional host of each call.
	Base:           "https://bedrock-runtime.amazonaws.com",
	Credential:     Credential{Kind: Authorized},
	ForwardHeaders: true, AllowHeaders: bedrockHeaders,
	Target: bedrockTarget,
	Authorizer: func(o Options) route.Authorizer {
		return bedrockAuthorizer{signer: o.Bedrock, o: o}
	},
	NoCredential: "The gateway has no AWS credentials for /bedrock: the AWS SDK's default credential chain found none " +
		"(locally set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, in the gateway's environment; " +
		"on Lambda the function's role signs).",
	Off:      bedrockOff,
	Describe: bedrockDescribe,
}

// BedrockOffMessage answers calls to /bedrock while Options.BedrockOff.
const BedrockOffMessage = "The built-in /bedrock route is off: set GATEWAY_BEDROCK=on (on Lambda, the stack's " +
	"EnableBedrock parameter, which also lets the function's role call Bedrock)."

// bedrockOff says why /bedrock cannot serve: turned off, or an environment setting it cannot use.
func bedrockOff(o Options) string {
	if o.BedrockOff {
		return BedrockOffMessage
	}
	if _, src, err := bedrockEnvRegion(o); err != nil {
		return fmt.Sprintf("The built-in /bedrock route is off: %s %v.", src, err)
	}
	for _, name := range []string{BedrockRuntimeEndpointEnv, BedrockAgentRuntimeEndpointEnv} {
		if _, err := bedrockOverride(o, name); err != nil {
			return fmt.Sprintf("The built-in /bedrock route is off: %s %v.", name, err)
		}
	}
	return ""
}

// bedrockDescribe is the route's line in `gateway validate`.
func bedrockDescribe(o Options) string {
	if off := bedrockOff(o); off != "" {
		return "off: " + strings.TrimPrefix(strings.TrimSuffix(off, "."), "The built-in /bedrock route is off: ")
	}
	region, src, _ := bedrockEnvRegion(o)
	runtime, _ := bedrockBase(o, false, region)
	agent, _ := bedrockBase(o, true, region)
	return fmt.Sprintf("-> %s and %s (bedrock; SigV4 with the AWS default credential chain; region from %s unless a model ARN names one)",
		runtime, agent, src)
}

// bedrockTarget picks the service and region of a call from its subpath (percent-encoded as
// the client sent it, which is also how it goes upstream).
func bedrockTarget(o Options, subpath string) (*url.URL, string, error) {
	if strings.Trim(subpath, "/") == "" {
		return nil, "", errors.New("no Bedrock API path: call /bedrock/model/{modelId}/{action} or an agent-runtime path")
	}
	region, err := bedrockRegion(o, subpath)
	if err != nil {
		return nil, "", err
	}
	base, err := bedrockBase(o, isBedrockAgentPath(subpath), region)
	if err != nil {
		return nil, "", err
	}
	return base, subpath, nil
}

func isBedrockAgentPath(path string) bool {
	first, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	return bedrockAgentAPIs[first]
}

// bedrockBase is the endpoint of the runtime or the agent runtime in region, or its override.
func bedrockBase(o Options, agent bool, region string) (*url.URL, error) {
	env, service := BedrockRuntimeEndpointEnv, "bedrock-runtime"
	if agent {
		env, service = BedrockAgentRuntimeEndpointEnv, "bedrock-agent-runtime"
	}
	if u, err := bedrockOverride(o, env); u != nil || err != nil {
		return u, err
	}
	suffix := "amazonaws.com"
	if strings.HasPrefix(region, "cn-") { // the China partition's domain
		suffix = "amazonaws.com.cn"
	}
	return &url.URL{Scheme: "https", Host: service + "." + region + "." + suffix}, nil
}

// bedrockOverride parses an endpoint override; nil when it is not set.
func bedrockOverride(o Options, name string) (*url.URL, error) {
	raw := strings.TrimSpace(o.env(name))
	if raw == "" {
		return nil, nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("is not an http(s) URL")
	}
	u.RawQuery, u.Fragment, u.User, u.ForceQuery = "", "", nil, false
	u.Path, u.RawPath = strings.TrimSuffix(u.Path, "/"), strings.TrimSuffix(u.RawPath, "/")
	return u, nil
}

// bedrockRegion is the region a call goes to and is signed for: the region inside a model
// ARN, else the environment's. path is percent-encoded; the ARN is found wherever its model
// segment is, so the signer, which sees the whole upstream path, finds the same region as the
// Target, which sees the subpath.
func bedrockRegion(o Options, path string) (string, error) {
	if arn, ok := bedrockModelARN(path); ok {
		parts := strings.SplitN(arn, ":", 5)
		if len(parts) < 5 || parts[2] != "bedrock" || !awsRegion.MatchString(parts[3]) {
			return "", fmt.Errorf("the model ARN %q names no AWS region", arn)
		}
		return parts[3], nil
	}
	region, _, err := bedrockEnvRegion(o)
	return region, err
}

// bedrockModelARN finds a model id that is an ARN: the segment after "model", decoded, when it
// starts with "arn:" (an ARN sent with literal slashes spans segments; its region is in the
// first).
func bedrockModelARN(path string) (string, bool) {
	segs := strings.Split(path, "/")
	for i := 0; i+1 < len(segs); i++ {
		if segs[i] != "model" {
			continue
		}
		id, err := url.PathUnescape(segs[i+1])
		if err != nil || !strings.HasPrefix(id, "arn:") {
			return "", false
		}
		return id, true
	}
	return "", false
}

// bedrockEnvRegion is the configured region and the variable it came from.
func bedrockEnvRegion(o Options) (region, source string, err error) {
	for _, name := range bedrockRegionEnv {
		if v := strings.TrimSpace(o.env(name)); v != "" {
			if !awsRegion.MatchString(v) {
				return "", name, fmt.Errorf("%q is not an AWS region", v)
			}
			return v, name, nil
		}
	}
	return bedrockDefaultRegion, "LiteLLM's default, no AWS_REGION_NAME, AWS_REGION or AWS_DEFAULT_REGION", nil
}

// BedrockSigner signs /bedrock calls. It is long-lived (one per process, in Options): the
// credentials provider is resolved at the first call, never at start-up, and the SDK's
// CredentialsCache then serves every call from memory until the credentials near expiry.
type BedrockSigner struct {
	load   func(context.Context) (aws.CredentialsProvider, error)
	signer *v4.Signer
	log    *slog.Logger
	now    func() time.Time

	mu     sync.Mutex
	creds  aws.CredentialsProvider // set once loaded
	warned atomic.Bool             // a missing credential was logged (until one is found)
}

// credentialsTimeout bounds resolving the credentials (a profile's STS call, a container
// endpoint); on Lambda they are in the environment and no call is made.
const credentialsTimeout = 5 * time.Second

// NewBedrockSigner returns a signer whose credentials come from load, called at the first
// call and again after a failure (wiring passes the SDK's default chain: aws.Config.Credentials).
// A provider that is not an aws.CredentialsCache is wrapped in one.
func NewBedrockSigner(load func(context.Context) (aws.CredentialsProvider, error), log *slog.Logger) *BedrockSigner {
	if log == nil {
		log = slog.Default()
	}
	// The signer escapes the already-escaped path once more for the canonical request
	// (DisableURIPathEscaping false, its default): every AWS service but S3 expects each
	// segment encoded twice, so a model id sent as "v1%3A0" is signed as "v1%253A0"
	// (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html, "Create a
	// canonical request"; signing it once is LiteLLM #14763's InvalidSignatureException).
	return &BedrockSigner{load: load, signer: v4.NewSigner(), log: log, now: time.Now}
}

// provider is the credentials provider, loaded at the first call.
func (s *BedrockSigner) provider(ctx context.Context) (aws.CredentialsProvider, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.creds != nil {
		return s.creds, nil
	}
	p, err := s.load(ctx)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, errors.New("the AWS configuration has no credentials provider")
	}
	if _, cached := p.(*aws.CredentialsCache); !cached {
		p = aws.NewCredentialsCache(p)
	}
	s.creds = p
	return p, nil
}

// credentials retrieves the credentials. A failure the caller's leaving did not cause means
// the chain has none: a *secrets.NotFoundError, so the call is answered 401 naming them. The
// SDK's reason is logged (once until credentials are found), never sent to the caller.
func (s *BedrockSigner) credentials(ctx context.Context) (aws.Credentials, error) {
	ctx, cancel := context.WithTimeout(ctx, credentialsTimeout)
	defer cancel()
	p, err := s.provider(ctx)
	var c aws.Credentials
	if err == nil {
		c, err = p.Retrieve(ctx)
	}
	if err == nil && !c.HasKeys() {
		err = errors.New("the credentials provider returned no keys")
	}
	if err == nil {
		s.warned.Store(false)
		return c, nil
	}
	if errors.Is(err, context.Canceled) {
		return c, fmt.Errorf("AWS credentials: %w", err)
	}
	if !s.warned.Swap(true) {
		s.log.Warn("no AWS credentials for /bedrock", "error", err.Error())
	}
	return c, &secrets.NotFoundError{Name: "AWS credentials"}
}

// bedrockAuthorizer signs one table's /bedrock calls with the process's signer.
type bedrockAuthorizer struct {
	signer *BedrockSigner
	o      Options
}

func (bedrockAuthorizer) NeedsBody() bool { return true }

// signedHeaders are the request headers covered by the signature besides those the signer
// adds (host, content-length, x-amz-date, x-amz-security-token): the body's and the Bedrock
// parameters' (bedrockHeaders). An x-pass- header goes unsigned.
var signedHeaders = bedrockHeaders

// Authorize signs req with SigV4 over body, the exact bytes sent. The signer computes the
// canonical request from a copy holding only signedHeaders; the signature and the headers it
// sets are then put on req.
func (a bedrockAuthorizer) Authorize(ctx context.Context, req *http.Request, body []byte) error {
	if a.signer == nil {
		return &secrets.NotFoundError{Name: "AWS credentials"}
	}
	region, err := bedrockRegion(a.o, req.URL.EscapedPath())
	if err != nil {
		return err
	}
	creds, err := a.signer.credentials(ctx)
	if err != nil {
		return err
	}
	u := *req.URL
	signed := &http.Request{Method: req.Method, URL: &u, Host: req.Host, Header: make(http.Header, len(signedHeaders)+3),
		ContentLength: int64(len(body))}
	for _, name := range signedHeaders {
		if vv, ok := req.Header[name]; ok {
			signed.Header[name] = vv
		}
	}
	sum := sha256.Sum256(body)
	if err := a.signer.signer.SignHTTP(ctx, creds, signed, hex.EncodeToString(sum[:]), bedrockSigningName, region, a.signer.now()); err != nil {
		return fmt.Errorf("sign the Bedrock request: %w", err)
	}
	delete(req.Header, "X-Amz-Security-Token")
	for _, name := range []string{"Authorization", "X-Amz-Date", "X-Amz-Security-Token"} {
		if vv, ok := signed.Header[name]; ok {
			req.Header[name] = vv
		}
	}
	req.Host, req.URL.RawQuery = signed.Host, signed.URL.RawQuery // as signed: default port dropped, query canonical
	return nil
}
