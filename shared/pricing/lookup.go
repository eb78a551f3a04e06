package pricing

import (
	"net/url"
	"regexp"
	"strings"
)

// providerAliases maps the spellings of a provider (in usage.Tokens.Provider, in a model's
// "<provider>/" prefix, in an override key) to the name used in provider-specific keys.
var providerAliases = map[string]string{
	"openai":           "openai",
	"anthropic":        "anthropic",
	"cohere":           "cohere",
	"cohere_chat":      "cohere",
	"gemini":           "gemini",
	"google":           "gemini",
	"google_ai":        "gemini",
	"google-ai":        "gemini",
	"googleai":         "gemini",
	"google_ai_studio": "gemini",
	"aistudio":         "gemini",
	"vertex_ai":        "vertex_ai",
	"vertex":           "vertex_ai",
	"vertexai":         "vertex_ai",
	"vertex-ai":        "vertex_ai",
	"vertex_ai_beta":   "vertex_ai",
	"google_vertex":    "vertex_ai",
	"google-vertex":    "vertex_ai",
	"bedrock":          "bedrock",
	"bedrock_converse": "bedrock",
	"aws_bedrock":      "bedrock",
	"aws-bedrock":      "bedrock",
	"amazon_bedrock":   "bedrock",
	"amazon-bedrock":   "bedrock",
	"aws":              "bedrock",
}

// canonicalProvider is provider lower-cased, with its known aliases folded.
func canonicalProvider(provider string) string {
	p := strings.ToLower(strings.TrimSpace(provider))
	if c, ok := providerAliases[p]; ok {
		return c
	}
	return p
}

// normalizeKey is how a table or override key is stored: lower case, and a known provider
// prefix spelled canonically ("vertex/x" is stored as "vertex_ai/x").
func normalizeKey(k string) string {
	k = strings.ToLower(strings.TrimSpace(k))
	if i := strings.IndexByte(k, '/'); i > 0 {
		if c, ok := providerAliases[k[:i]]; ok {
			return c + "/" + k[i+1:]
		}
	}
	return k
}

var (
	// Bedrock geographic / global cross-region inference profile prefixes.
	geoPrefixes = []string{"us.", "eu.", "apac.", "global.", "jp.", "au.", "ca.", "us-gov."}
	// Bedrock model vendors (the part after the geo prefix).
	bedrockVendors = []string{"anthropic.", "amazon.", "meta.", "mistral.", "cohere.", "ai21.", "deepseek.", "writer.", "openai.", "qwen."}
	// A Bedrock region segment in LiteLLM-style names ("bedrock/us-west-2/...").
	awsRegion = regexp.MustCompile(`^[a-z]{2}(-gov)?-[a-z]+-\d+$`)
	// Google API method suffixes that can trail a model in a request path.
	googleMethods = map[string]bool{
		"generatecontent": true, "streamgeneratecontent": true, "counttokens": true,
		"embedcontent": true, "batchembedcontents": true, "predict": true,
		"rawpredict": true, "streamrawpredict": true,
	}
	// Version suffixes stripped, one at a time, when only the base model is priced.
	isoDate      = regexp.MustCompile(`-\d{4}-\d{2}-\d{2}$`)                    // OpenAI: gpt-4o-mini-2024-07-18
	compactDate  = regexp.MustCompile(`-\d{8}$`)                                // Anthropic: claude-sonnet-4-5-20250929
	monthYear    = regexp.MustCompile(`-\d{2}-\d{4}$`)                          // Cohere: command-r-plus-08-2024
	latest       = regexp.MustCompile(`-latest$`)                               // claude-3-5-sonnet-latest
	geminiNumber = regexp.MustCompile(`^(gemini-.*)-\d{3}$`)                    // gemini-2.0-flash-001
	geminiPrev   = regexp.MustCompile(`^(gemini-.*)-preview(-\d{2}-\d{2,4})?$`) // gemini-2.5-pro-preview-06-05
	bedrockVer   = regexp.MustCompile(`-v\d+(:\d+)?$`)                          // anthropic.claude-...-v1:0
)

// candidates lists the names to try for model, most specific first, and the provider its
// spelling implies ("" if none).
func candidates(model string) (names []string, provider string) {
	add := func(s string) {
		if s == "" {
			return
		}
		for _, n := range names {
			if n == s {
				return
			}
		}
		names = append(names, s)
	}
	infer := func(p string) {
		if provider == "" {
			provider = p
		}
	}

	s := strings.ToLower(strings.TrimSpace(model))
	if strings.Contains(s, "%") {
		if u, err := url.PathUnescape(s); err == nil {
			s = u
		}
	}
	add(s)

	// Bedrock ARN: arn:aws:bedrock:<region>:<account>:inference-profile/us.anthropic.claude-...
	if strings.HasPrefix(s, "arn:") {
		infer("bedrock")
		if i := strings.LastIndexByte(s, '/'); i >= 0 {
			s = s[i+1:]
			add(s)
		}
	}
	// Google method suffix: gemini-2.5-flash:streamGenerateContent
	if i := strings.LastIndexByte(s, ':'); i > 0 && googleMethods[s[i+1:]] {
		s = s[:i]
		add(s)
	}
	// Provider prefixes, possibly several ("bedrock/converse/us-west-2/...").
	for {
		i := strings.IndexByte(s, '/')
		if i <= 0 {
			break
		}
		head := s[:i]
		if c, ok := providerAliases[head]; ok {
			infer(c)
		} else if provider == "bedrock" && (head == "converse" || head == "invoke" || awsRegion.MatchString(head)) {
			// LiteLLM's bedrock route and region segments
		} else {
			break
		}
		s = s[i+1:]
		add(s)
	}
	// Resource names: models/gemini-2.5-flash, projects/p/locations/l/publishers/google/models/x.
	if i := strings.LastIndex(s, "models/"); i >= 0 && (i == 0 || s[i-1] == '/') {
		if strings.Contains(s[:i], "publishers/") {
			infer("vertex_ai")
		} else {
			infer("gemini")
		}
		s = s[i+len("models/"):]
		add(s)
	}
	// Bedrock cross-region inference profile: us.anthropic.claude-... -> anthropic.claude-...
	for _, g := range geoPrefixes {
		if rest, ok := strings.CutPrefix(s, g); ok && hasAnyPrefix(rest, bedrockVendors) {
			infer("bedrock")
			s = rest
			add(s)
			break
		}
	}
	// Vertex version: claude-sonnet-4-5@20250929 -> claude-sonnet-4-5
	if i := strings.IndexByte(s, '@'); i > 0 {
		infer("vertex_ai")
		s = s[:i]
		add(s)
	}
	for _, b := range bases(s) {
		add(b)
	}
	// Bedrock ids for Claude cost what Anthropic charges: anthropic.claude-x-20250101-v1:0 ->
	// claude-x-20250101 -> claude-x.
	if rest, ok := strings.CutPrefix(s, "anthropic."); ok {
		infer("bedrock")
		rest = bedrockVer.ReplaceAllString(rest, "")
		add(rest)
		for _, b := range bases(rest) {
			add(b)
		}
	}
	return names, provider
}

// bases strips version suffixes from s one at a time and returns each shorter name.
func bases(s string) []string {
	var out []string
	for {
		next := s
		switch {
		case isoDate.MatchString(next):
			next = isoDate.ReplaceAllString(next, "")
		case compactDate.MatchString(next):
			next = compactDate.ReplaceAllString(next, "")
		case geminiPrev.MatchString(next):
			next = geminiPrev.ReplaceAllString(next, "$1")
		case monthYear.MatchString(next):
			next = monthYear.ReplaceAllString(next, "")
		case geminiNumber.MatchString(next):
			next = geminiNumber.ReplaceAllString(next, "$1")
		case latest.MatchString(next):
			next = latest.ReplaceAllString(next, "")
		}
		if next == s || next == "" {
			return out
		}
		out = append(out, next)
		s = next
	}
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
