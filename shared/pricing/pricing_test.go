package pricing

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passthru/gateway/shared/usage"
)

const tolerance = 1e-12

func n(v int64) *int64 { return &v }

func near(a, b float64) bool { return math.Abs(a-b) <= tolerance }

func TestDefaultLoads(t *testing.T) {
	d := Default()
	if d == nil || len(d.models) == 0 {
		t.Fatal("Default() has no models")
	}
	if d != Default() {
		t.Error("Default() parses the embedded file more than once")
	}
	if strings.TrimSpace(d.Source()) == "" {
		t.Error("Source() is empty")
	}
	if !strings.Contains(d.Source(), "re-check") {
		t.Errorf("Source() does not say the prices must be re-checked: %q", d.Source())
	}
	if _, err := time.Parse(time.DateOnly, d.Date()); err != nil {
		t.Errorf("Date() = %q, want YYYY-MM-DD", d.Date())
	}
	for k, p := range d.models {
		if !(p.InputPerToken > 0 || p.OutputPerToken > 0 || p.PerSearchUnit > 0) {
			t.Errorf("%s: no input, output or search-unit price: %+v", k, p)
		}
		if p.Provider == "" {
			t.Errorf("%s: no litellm_provider", k)
		}
		if k != strings.ToLower(k) || k != strings.TrimSpace(k) {
			t.Errorf("%s: key is not normalized", k)
		}
		// Every key finds itself, whatever its spelling rules would otherwise do.
		if got, ok := d.Lookup("", k); !ok || got != p {
			t.Errorf("Lookup(%q) = %+v, %v; want its own entry %+v", k, got, ok, p)
		}
		// Per-token prices are per token, not per 1k or per 1M tokens.
		for _, v := range []float64{p.InputPerToken, p.OutputPerToken, p.CacheReadPerToken, p.CacheWritePerToken} {
			if v > 1e-3 {
				t.Errorf("%s: %v per token is implausibly high (per-1k or per-1M figure?)", k, v)
			}
		}
	}
}

// TestEmbeddedFile checks prices.json itself: the fields the issue asks for, and no key given
// twice (encoding/json would silently keep the last one).
func TestEmbeddedFile(t *testing.T) {
	var f priceFile
	if err := json.Unmarshal(embedded, &f); err != nil {
		t.Fatal(err)
	}
	if f.Source == "" || f.Date == "" || f.Note == "" || len(f.Models) == 0 {
		t.Errorf("prices.json lacks source, date, note or models: %q %q %q %d", f.Source, f.Date, f.Note, len(f.Models))
	}
	dec := json.NewDecoder(bytes.NewReader(embedded))
	seen := map[string]bool{}
	depth := 0
	inModels := false
	var last string
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				depth++
				if depth == 2 && last == "models" {
					inModels = true
				}
			case '}':
				if depth == 2 {
					inModels = false
				}
				depth--
			}
			last = ""
		case string:
			if inModels && depth == 2 && dec.More() && last == "" {
				if seen[v] {
					t.Errorf("model %q listed twice in prices.json", v)
				}
				seen[v] = true
				last = v
				continue
			}
			last = v
		default:
			last = ""
		}
	}
	if len(seen) != len(f.Models) {
		t.Errorf("counted %d model keys, decoded %d", len(seen), len(f.Models))
	}
}

// The models the issue names must all be priced.
func TestCoverage(t *testing.T) {
	required := []struct{ provider, model string }{
		{"openai", "gpt-5"}, {"openai", "gpt-5-mini"}, {"openai", "gpt-5-nano"},
		{"openai", "gpt-4.1"}, {"openai", "gpt-4.1-mini"}, {"openai", "gpt-4.1-nano"},
		{"openai", "gpt-4o"}, {"openai", "gpt-4o-mini"}, {"openai", "o3"}, {"openai", "o3-mini"},
		{"openai", "o4-mini"}, {"openai", "o1"}, {"openai", "text-embedding-3-small"},
		{"openai", "text-embedding-3-large"}, {"openai", "text-embedding-ada-002"},
		{"anthropic", "claude-opus-4-1"}, {"anthropic", "claude-opus-4"}, {"anthropic", "claude-sonnet-4-5"},
		{"anthropic", "claude-sonnet-4"}, {"anthropic", "claude-3-7-sonnet"}, {"anthropic", "claude-3-5-sonnet"},
		{"anthropic", "claude-haiku-4-5"}, {"anthropic", "claude-3-5-haiku"}, {"anthropic", "claude-3-haiku"},
		{"cohere", "command-a-03-2025"}, {"cohere", "command-r-plus"}, {"cohere", "command-r"},
		{"cohere", "command-r7b-12-2024"}, {"cohere", "embed-english-v3.0"}, {"cohere", "embed-multilingual-v3.0"},
		{"cohere", "embed-v4.0"}, {"cohere", "rerank-v3.5"}, {"cohere", "rerank-english-v3.0"},
		{"cohere", "rerank-multilingual-v3.0"},
		{"gemini", "gemini-2.5-pro"}, {"gemini", "gemini-2.5-flash"}, {"gemini", "gemini-2.5-flash-lite"},
		{"gemini", "gemini-2.0-flash"}, {"gemini", "gemini-2.0-flash-lite"}, {"gemini", "gemini-1.5-pro"},
		{"gemini", "gemini-1.5-flash"}, {"vertex_ai", "text-embedding-004"}, {"gemini", "gemini-embedding-001"},
		{"bedrock", "anthropic.claude-opus-4-1-20250805-v1:0"}, {"bedrock", "anthropic.claude-opus-4-20250514-v1:0"},
		{"bedrock", "anthropic.claude-sonnet-4-5-20250929-v1:0"}, {"bedrock", "anthropic.claude-sonnet-4-20250514-v1:0"},
		{"bedrock", "anthropic.claude-3-7-sonnet-20250219-v1:0"}, {"bedrock", "anthropic.claude-3-5-sonnet-20241022-v2:0"},
		{"bedrock", "anthropic.claude-3-5-sonnet-20240620-v1:0"}, {"bedrock", "anthropic.claude-haiku-4-5-20251001-v1:0"},
		{"bedrock", "anthropic.claude-3-5-haiku-20241022-v1:0"}, {"bedrock", "anthropic.claude-3-haiku-20240307-v1:0"},
		{"bedrock", "amazon.nova-pro-v1:0"}, {"bedrock", "amazon.nova-lite-v1:0"}, {"bedrock", "amazon.nova-micro-v1:0"},
		{"bedrock", "amazon.titan-text-express-v1"}, {"bedrock", "amazon.titan-embed-text-v2:0"},
		{"bedrock", "meta.llama3-1-70b-instruct-v1:0"}, {"bedrock", "meta.llama3-1-8b-instruct-v1:0"},
		{"bedrock", "cohere.command-r-plus-v1:0"}, {"bedrock", "mistral.mistral-large-2407-v1:0"},
	}
	d := Default()
	for _, r := range required {
		if _, ok := d.models[r.model]; !ok {
			t.Errorf("%s %s: not in prices.json", r.provider, r.model)
		}
	}
	// Anthropic models carry cache prices (Claude 3 Haiku on Bedrock has no prompt caching).
	for k, p := range d.models {
		if p.Provider == "anthropic" && (p.CacheReadPerToken == 0 || p.CacheWritePerToken == 0) {
			t.Errorf("%s: Anthropic model without cache read/write prices", k)
		}
	}
}

// Spot checks against the published list prices (per 1M tokens).
func TestListPrices(t *testing.T) {
	perM := func(v float64) float64 { return v * 1e6 }
	tests := []struct {
		model                     string
		in, out, cacheRead, write float64 // USD per 1M tokens
		perSearchUnit             float64
	}{
		{"gpt-4o-mini", 0.15, 0.60, 0.075, 0, 0},
		{"gpt-5", 1.25, 10, 0.125, 0, 0},
		{"o3", 2, 8, 0.5, 0, 0},
		{"claude-sonnet-4-5", 3, 15, 0.30, 3.75, 0},
		{"claude-opus-4-1", 15, 75, 1.5, 18.75, 0},
		{"claude-haiku-4-5", 1, 5, 0.1, 1.25, 0},
		{"claude-3-5-haiku", 0.8, 4, 0.08, 1, 0},
		{"gemini-2.5-pro", 1.25, 10, 0.125, 0, 0},
		{"command-a-03-2025", 2.5, 10, 0, 0, 0},
		{"rerank-v3.5", 0, 0, 0, 0, 0.002}, // $2.00 per 1,000 searches
		{"amazon.nova-pro-v1:0", 0.8, 3.2, 0, 0, 0},
		{"text-embedding-3-small", 0.02, 0, 0, 0, 0},
	}
	for _, tt := range tests {
		p, ok := Default().Lookup("", tt.model)
		if !ok {
			t.Errorf("%s: not found", tt.model)
			continue
		}
		got := []float64{perM(p.InputPerToken), perM(p.OutputPerToken), perM(p.CacheReadPerToken), perM(p.CacheWritePerToken), p.PerSearchUnit}
		want := []float64{tt.in, tt.out, tt.cacheRead, tt.write, tt.perSearchUnit}
		for i := range got {
			if math.Abs(got[i]-want[i]) > 1e-9 {
				t.Errorf("%s: price %d = %v, want %v", tt.model, i, got[i], want[i])
			}
		}
	}
}

func TestLookup(t *testing.T) {
	d := Default()
	tests := []struct {
		name            string
		provider, model string
		want            string // key of the expected entry; "" = not found
	}{
		// exact, lower-cased, trimmed
		{"exact", "", "gpt-4o-mini", "gpt-4o-mini"},
		{"upper case", "", "GPT-4o-Mini", "gpt-4o-mini"},
		{"spaces", "openai", "  gpt-4o  ", "gpt-4o"},
		{"dated exact entry wins", "openai", "gpt-4o-2024-05-13", "gpt-4o-2024-05-13"},
		// provider prefixes
		{"openai/", "", "openai/gpt-4o", "gpt-4o"},
		{"anthropic/ dated", "", "anthropic/claude-sonnet-4-5-20250929", "claude-sonnet-4-5"},
		{"bedrock/", "", "bedrock/anthropic.claude-3-7-sonnet-20250219-v1:0", "anthropic.claude-3-7-sonnet-20250219-v1:0"},
		{"bedrock/converse/region/geo", "", "bedrock/converse/us-west-2/us.anthropic.claude-3-7-sonnet-20250219-v1:0", "anthropic.claude-3-7-sonnet-20250219-v1:0"},
		{"vertex_ai/", "", "vertex_ai/gemini-2.5-pro", "gemini-2.5-pro"},
		{"gemini/", "", "gemini/gemini-2.5-flash", "gemini-2.5-flash"},
		{"cohere/", "", "cohere/rerank-v3.5", "rerank-v3.5"},
		{"cohere/ chat", "", "cohere/command-r-plus", "command-r-plus"},
		// Bedrock cross-region inference profiles
		{"us. older model", "bedrock", "us.anthropic.claude-3-7-sonnet-20250219-v1:0", "anthropic.claude-3-7-sonnet-20250219-v1:0"},
		{"eu.", "bedrock", "eu.anthropic.claude-3-5-sonnet-20240620-v1:0", "anthropic.claude-3-5-sonnet-20240620-v1:0"},
		{"apac.", "bedrock", "apac.anthropic.claude-3-5-sonnet-20241022-v2:0", "anthropic.claude-3-5-sonnet-20241022-v2:0"},
		{"global.", "bedrock", "global.anthropic.claude-sonnet-4-5-20250929-v1:0", "anthropic.claude-sonnet-4-5-20250929-v1:0"},
		{"us. geo premium entry", "bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "us.anthropic.claude-sonnet-4-5-20250929-v1:0"},
		{"eu. geo premium entry", "", "eu.anthropic.claude-haiku-4-5-20251001-v1:0", "eu.anthropic.claude-haiku-4-5-20251001-v1:0"},
		{"us. nova", "bedrock", "us.amazon.nova-pro-v1:0", "amazon.nova-pro-v1:0"},
		{"eu. nova regional price", "bedrock", "eu.amazon.nova-lite-v1:0", "eu.amazon.nova-lite-v1:0"},
		{"us. llama", "bedrock", "us.meta.llama3-1-70b-instruct-v1:0", "meta.llama3-1-70b-instruct-v1:0"},
		{"inference profile ARN", "", "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-7-sonnet-20250219-v1:0", "anthropic.claude-3-7-sonnet-20250219-v1:0"},
		{"foundation model ARN", "", "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0", "amazon.nova-micro-v1:0"},
		{"URL-escaped Bedrock id", "bedrock", "us.anthropic.claude-3-7-sonnet-20250219-v1%3A0", "anthropic.claude-3-7-sonnet-20250219-v1:0"},
		{"Bedrock Claude not listed falls back to Anthropic", "bedrock", "anthropic.claude-opus-4-5-20251101-v1:0", "claude-opus-4-5"},
		// Vertex / Gemini resource names and versions
		{"models/", "gemini", "models/gemini-2.5-flash", "gemini-2.5-flash"},
		{"publishers/google/models/", "vertex_ai", "publishers/google/models/gemini-2.5-pro", "gemini-2.5-pro"},
		{"full resource name implies vertex", "", "projects/p/locations/us-central1/publishers/google/models/gemini-2.0-flash-001", "vertex_ai/gemini-2.0-flash"},
		{"method suffix", "gemini", "models/gemini-2.5-flash:streamGenerateContent", "gemini-2.5-flash"},
		{"vertex claude @date", "vertex_ai", "claude-sonnet-4-5@20250929", "claude-sonnet-4-5"},
		{"vertex claude publisher path", "", "publishers/anthropic/models/claude-opus-4-1@20250805", "claude-opus-4-1"},
		{"vertex-specific price", "vertex_ai", "claude-3-5-haiku@20241022", "vertex_ai/claude-3-5-haiku"},
		{"@ implies vertex", "", "claude-3-5-haiku@20241022", "vertex_ai/claude-3-5-haiku"},
		{"vertex claude v2 spelling", "vertex_ai", "claude-3-5-sonnet-v2@20241022", "claude-3-5-sonnet-v2"},
		// dated and numbered versions
		{"openai date", "openai", "gpt-4o-mini-2024-07-18", "gpt-4o-mini"},
		{"openai date gpt-4o", "openai", "gpt-4o-2024-08-06", "gpt-4o"},
		{"openai date o3-mini", "openai", "o3-mini-2025-01-31", "o3-mini"},
		{"openai date gpt-5", "openai", "gpt-5-2025-08-07", "gpt-5"},
		{"anthropic date sonnet 4.5", "anthropic", "claude-sonnet-4-5-20250929", "claude-sonnet-4-5"},
		{"anthropic date haiku 3.5", "anthropic", "claude-3-5-haiku-20241022", "claude-3-5-haiku"},
		{"anthropic date opus 4", "anthropic", "claude-opus-4-20250514", "claude-opus-4"},
		{"anthropic date opus 4.1", "anthropic", "claude-opus-4-1-20250805", "claude-opus-4-1"},
		{"anthropic -latest", "anthropic", "claude-3-7-sonnet-latest", "claude-3-7-sonnet"},
		{"gemini -001", "gemini", "gemini-2.0-flash-001", "gemini-2.0-flash"},
		{"gemini -001 on vertex", "vertex_ai", "gemini-2.0-flash-001", "vertex_ai/gemini-2.0-flash"},
		{"provider alias", "Vertex", "gemini-2.0-flash", "vertex_ai/gemini-2.0-flash"},
		{"no provider: Gemini API price", "", "gemini-2.0-flash", "gemini-2.0-flash"},
		{"gemini lite -001", "vertex", "gemini-2.0-flash-lite-001", "gemini-2.0-flash-lite"},
		{"gemini -002", "gemini", "gemini-1.5-pro-002", "gemini-1.5-pro"},
		{"gemini -preview-MM-DD", "gemini", "gemini-2.5-pro-preview-06-05", "gemini-2.5-pro"},
		{"gemini -preview-MM-YYYY", "gemini", "gemini-2.5-flash-lite-preview-09-2025", "gemini-2.5-flash-lite"},
		{"gemini -preview", "gemini", "gemini-2.5-flash-preview", "gemini-2.5-flash"},
		{"cohere dated exact", "cohere", "command-r-plus-08-2024", "command-r-plus-08-2024"},
		{"cohere older version", "cohere", "command-r-plus-04-2024", "command-r-plus-04-2024"},
		{"cohere month-year", "cohere", "command-r7b-12-2024", "command-r7b-12-2024"},
		// unknown: never guessed onto a cheaper model
		{"unknown", "openai", "gpt-99", ""},
		{"empty", "", "", ""},
		{"audio model is not gpt-4o", "openai", "gpt-4o-audio-preview", ""},
		{"transcribe model is not gpt-4o-mini", "openai", "gpt-4o-mini-transcribe", ""},
		{"fine-tuned model", "openai", "ft:gpt-4o-mini-2024-07-18:acme::abc123", ""},
		{"o1-preview", "openai", "o1-preview-2024-09-12", ""},
		{"gemini tts", "gemini", "gemini-2.5-flash-preview-tts", ""},
		{"gemini image", "gemini", "gemini-2.5-flash-image-preview", ""},
		{"azure deployment", "", "azure/gpt-4o", ""},
		{"claude v2", "bedrock", "anthropic.claude-v2", ""},
		{"bedrock unknown vendor", "bedrock", "us.nonsense.model-v1:0", ""},
		{"unlisted claude", "anthropic", "claude-opus-4-5-x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := d.Lookup(tt.provider, tt.model)
			if tt.want == "" {
				if ok {
					t.Fatalf("Lookup(%q, %q) = %+v, want not found", tt.provider, tt.model, got)
				}
				return
			}
			want, exists := d.models[tt.want]
			if !exists {
				t.Fatalf("test expects key %q, which prices.json lacks", tt.want)
			}
			if !ok || got != want {
				t.Fatalf("Lookup(%q, %q) = %+v, %v; want %q = %+v", tt.provider, tt.model, got, ok, tt.want, want)
			}
		})
	}
}

// TestLookupFastPath checks that Lookup's exact-key shortcut answers as the full search does,
// for every key, every provider spelling, and tables with provider-specific shadows.
func TestLookupFastPath(t *testing.T) {
	shadowed := Default().With(map[string]Price{
		"bedrock/anthropic.claude-3-7-sonnet-20250219-v1:0":    {InputPerToken: 1e-06},
		"vertex_ai/claude-sonnet-4-5":                          {InputPerToken: 2e-06},
		"vertex_ai/text-unicorn@001":                           {InputPerToken: 3e-06},
		"text-unicorn@001":                                     {InputPerToken: 4e-06},
		"bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0": {InputPerToken: 5e-06},
	})
	providers := []string{"", "openai", "anthropic", "cohere", "gemini", "vertex_ai", "Vertex", "bedrock", "aws", "other"}
	for _, table := range []*Table{Default(), shadowed} {
		for k := range table.models {
			for _, p := range providers {
				fastName, fast, okFast := table.find(p, k)
				slowName, slow, okSlow := table.lookup(canonicalProvider(p), k)
				if fast != slow || okFast != okSlow || fastName != slowName {
					t.Errorf("find(%q, %q) = %q, %+v, %v; full search = %q, %+v, %v", p, k, fastName, fast, okFast, slowName, slow, okSlow)
				}
			}
		}
	}
	if p, _ := shadowed.Lookup("", "anthropic.claude-3-7-sonnet-20250219-v1:0"); p.InputPerToken != 1e-06 {
		t.Errorf("a Bedrock id did not find its bedrock/ price: %+v", p)
	}
	if p, _ := shadowed.Lookup("", "text-unicorn@001"); p.InputPerToken != 3e-06 {
		t.Errorf("an @-versioned id did not find its vertex_ai/ price: %+v", p)
	}
}

// TestName: the many spellings of a priced model map to the one key the table holds, so the
// names a caller can produce are bounded by the table (the EMF Model dimension uses them).
func TestName(t *testing.T) {
	table := Default().With(map[string]Price{"Acme/My-Model": {InputPerToken: 1e-06}})
	for _, tt := range []struct {
		provider, model string
		want            string
		ok              bool
	}{
		{"openai", "gpt-4o-mini", "gpt-4o-mini", true},
		{"", "GPT-4o-Mini", "gpt-4o-mini", true},
		{"", "openai/gpt-4o-mini", "gpt-4o-mini", true},
		{"openai", "gpt-4o-mini-2099-01-01", "gpt-4o-mini", true}, // any date of a base-priced model
		{"openai", "gpt-4o-mini-2098-12-31", "gpt-4o-mini", true},
		{"anthropic", "claude-sonnet-4-5-20990101", "claude-sonnet-4-5", true},
		{"", "arn:aws:bedrock:us-east-1:111111111111:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", true},
		{"", "arn:aws:bedrock:us-east-1:222222222222:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", true},
		{"", "acme/my-model", "acme/my-model", true}, // an override, by its key lower-cased
		{"", "gpt-4o-mini-but-made-up", "", false},
		{"", "", "", false},
	} {
		name, ok := table.Name(tt.provider, tt.model)
		if name != tt.want || ok != tt.ok {
			t.Errorf("Name(%q, %q) = %q, %v; want %q, %v", tt.provider, tt.model, name, ok, tt.want, tt.ok)
		}
	}
	if name, ok := (*Table)(nil).Name("", "gpt-4o-mini"); name != "" || ok {
		t.Errorf("nil table: %q, %v", name, ok)
	}
}

func TestLookupNilAndEmpty(t *testing.T) {
	var nilTable *Table
	if _, ok := nilTable.Lookup("openai", "gpt-4o"); ok {
		t.Error("nil table found a price")
	}
	if _, ok := nilTable.Cost(usage.Tokens{Model: "gpt-4o", Input: n(1)}); ok {
		t.Error("nil table priced a call")
	}
	if nilTable.Source() != "" || nilTable.Date() != "" {
		t.Error("nil table has a source or date")
	}
	if _, ok := (&Table{}).Lookup("", "gpt-4o"); ok {
		t.Error("empty table found a price")
	}
}

func TestCost(t *testing.T) {
	tests := []struct {
		name   string
		tokens usage.Tokens
		want   float64
		ok     bool
	}{
		{
			// 4,000 uncached × $0.15/M + 8,000 cached × $0.075/M + 1,500 out × $0.60/M
			name:   "openai chat with cached tokens",
			tokens: usage.Tokens{Provider: "openai", Model: "gpt-4o-mini-2024-07-18", Input: n(12000), Cached: n(8000), Output: n(1500)},
			want:   0.0021, ok: true,
		},
		{
			// reasoning tokens are inside Output, priced once: 2,000 × $2/M + 3,000 × $8/M
			name:   "openai reasoning inside output",
			tokens: usage.Tokens{Provider: "openai", Model: "o3", Input: n(2000), Output: n(3000), Reasoning: n(2500)},
			want:   0.028, ok: true,
		},
		{
			// 100 × $3/M + 2,000 read × $0.30/M + 1,000 write × $3.75/M + 500 × $15/M
			name:   "anthropic cache read and write",
			tokens: usage.Tokens{Provider: "anthropic", Model: "claude-sonnet-4-5-20250929", Input: n(3100), Cached: n(2000), CacheWrite: n(1000), Output: n(500)},
			want:   0.01215, ok: true,
		},
		{
			// Bedrock US geo profile, +10%: 6,000 × $1.10/M + 3,000 × $0.11/M + 1,000 × $1.375/M + 2,000 × $5.50/M
			name:   "bedrock claude geo profile with cache",
			tokens: usage.Tokens{Provider: "bedrock", Model: "us.anthropic.claude-haiku-4-5-20251001-v1:0", Input: n(10000), Cached: n(3000), CacheWrite: n(1000), Output: n(2000)},
			want:   0.019305, ok: true,
		},
		{
			// no cache price: cached tokens billed as input. 1,000 × $0.25/M + 100 × $1.25/M
			name:   "cache tokens without a cache price",
			tokens: usage.Tokens{Provider: "bedrock", Model: "anthropic.claude-3-haiku-20240307-v1:0", Input: n(1000), Cached: n(400), Output: n(100)},
			want:   0.000375, ok: true,
		},
		{
			// thoughts are inside Output: 1,000 × $0.30/M + 4,000 × $2.50/M
			name:   "gemini with reasoning inside output",
			tokens: usage.Tokens{Provider: "gemini", Model: "gemini-2.5-flash", Input: n(1000), Output: n(4000), Reasoning: n(3000)},
			want:   0.0103, ok: true,
		},
		{
			// 4,000 × $1.25/M + 6,000 cached × $0.125/M + 2,000 × $10/M
			name:   "gemini pro with cached content",
			tokens: usage.Tokens{Provider: "gemini", Model: "models/gemini-2.5-pro", Input: n(10000), Cached: n(6000), Output: n(2000)},
			want:   0.02575, ok: true,
		},
		{
			// Vertex price for 2.0 Flash: 1,000 × $0.15/M + 1,000 × $0.60/M
			name:   "vertex gemini price",
			tokens: usage.Tokens{Provider: "vertex_ai", Model: "gemini-2.0-flash-001", Input: n(1000), Output: n(1000)},
			want:   0.00075, ok: true,
		},
		{
			name:   "cohere rerank by search units only",
			tokens: usage.Tokens{Provider: "cohere", Model: "rerank-v3.5", SearchUnits: n(3)},
			want:   0.006, ok: true,
		},
		{
			name:   "bedrock rerank per query",
			tokens: usage.Tokens{Provider: "bedrock", Model: "cohere.rerank-v3-5:0", SearchUnits: n(1)},
			want:   0.002, ok: true,
		},
		{
			name:   "openai embeddings, input only",
			tokens: usage.Tokens{Provider: "openai", Model: "text-embedding-3-small", Input: n(1000000)},
			want:   0.02, ok: true,
		},
		{
			name:   "cohere embeddings, input only",
			tokens: usage.Tokens{Provider: "cohere", Model: "embed-v4.0", Input: n(50000)},
			want:   0.006, ok: true,
		},
		{
			name:   "bedrock titan embeddings",
			tokens: usage.Tokens{Provider: "bedrock", Model: "amazon.titan-embed-text-v2:0", Input: n(12345)},
			want:   0.0002469, ok: true,
		},
		{
			name:   "output only: missing input counts as 0",
			tokens: usage.Tokens{Provider: "openai", Model: "gpt-4o", Output: n(100)},
			want:   0.001, ok: true,
		},
		{
			name:   "zero tokens reported: a real zero",
			tokens: usage.Tokens{Provider: "openai", Model: "gpt-4o", Input: n(0), Output: n(0)},
			want:   0, ok: true,
		},
		{
			// cached > input (inconsistent report): uncached never below 0; 200 × $1.25/M
			name:   "cached above input",
			tokens: usage.Tokens{Provider: "openai", Model: "gpt-4o", Input: n(100), Cached: n(200), Output: n(0)},
			want:   0.00025, ok: true,
		},
		{name: "unknown model", tokens: usage.Tokens{Provider: "openai", Model: "gpt-99", Input: n(10), Output: n(10)}},
		{name: "no model", tokens: usage.Tokens{Input: n(10), Output: n(10)}},
		{name: "nil tokens", tokens: usage.Tokens{Provider: "openai", Model: "gpt-4o"}},
		{name: "only cache counts", tokens: usage.Tokens{Provider: "anthropic", Model: "claude-sonnet-4-5", Cached: n(10), CacheWrite: n(10)}},
		{name: "rerank without search units", tokens: usage.Tokens{Provider: "cohere", Model: "rerank-v3.5", Input: n(500)}},
		{name: "chat model with only search units", tokens: usage.Tokens{Provider: "openai", Model: "gpt-4o", SearchUnits: n(2)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Default().Cost(tt.tokens)
			if ok != tt.ok {
				t.Fatalf("Cost(%+v) ok = %v, want %v (usd %v)", tt.tokens, ok, tt.ok, got)
			}
			if !ok && got != 0 {
				t.Fatalf("unknown cost returned %v, want 0", got)
			}
			if !near(got, tt.want) {
				t.Fatalf("Cost = %.15g, want %.15g", got, tt.want)
			}
		})
	}
}

func TestWith(t *testing.T) {
	d := Default()
	before, _ := d.Lookup("openai", "gpt-4o-mini")
	count := len(d.models)

	custom := Price{InputPerToken: 1e-06, OutputPerToken: 2e-06, Provider: "openai"}
	vertexClaude := Price{InputPerToken: 3.3e-06, OutputPerToken: 1.65e-05, Provider: "vertex_ai"}
	o := d.With(map[string]Price{
		"GPT-4o-Mini":              custom,                                        // case-insensitive override
		"acme-llm":                 {InputPerToken: 5e-07, OutputPerToken: 1e-06}, // a model the table lacks
		"vertex/claude-sonnet-4-5": vertexClaude,                                  // provider-specific, alias folded
		"free-local-model":         {},                                            // explicitly free
	})

	tests := []struct {
		name            string
		table           *Table
		provider, model string
		want            Price
		ok              bool
	}{
		{"override wins", o, "openai", "gpt-4o-mini", custom, true},
		{"override reached through spellings", o, "", "openai/gpt-4o-mini-2024-07-18", custom, true},
		{"new model", o, "", "acme-llm", Price{InputPerToken: 5e-07, OutputPerToken: 1e-06}, true},
		{"provider-specific override", o, "vertex_ai", "claude-sonnet-4-5@20250929", vertexClaude, true},
		{"other providers keep the embedded price", o, "anthropic", "claude-sonnet-4-5", d.models["claude-sonnet-4-5"], true},
		{"default untouched", d, "openai", "gpt-4o-mini", before, true},
		{"default lacks the new model", d, "", "acme-llm", Price{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.table.Lookup(tt.provider, tt.model)
			if ok != tt.ok || got != tt.want {
				t.Fatalf("Lookup(%q, %q) = %+v, %v; want %+v, %v", tt.provider, tt.model, got, ok, tt.want, tt.ok)
			}
		})
	}
	if len(d.models) != count {
		t.Errorf("With changed Default(): %d models, was %d", len(d.models), count)
	}
	if o.Source() != d.Source() || o.Date() != d.Date() {
		t.Error("With dropped the source or date")
	}
	usd, ok := o.Cost(usage.Tokens{Provider: "openai", Model: "gpt-4o-mini", Input: n(1000), Cached: n(500), Output: n(1000)})
	// override has no cache price: 1,000 input × $1/M + 1,000 × $2/M
	if !ok || !near(usd, 0.003) {
		t.Errorf("Cost with override = %v, %v; want 0.003", usd, ok)
	}
	if usd, ok := o.Cost(usage.Tokens{Model: "free-local-model", Input: n(10), Output: n(10)}); !ok || usd != 0 {
		t.Errorf("free model = %v, %v; want 0, true", usd, ok)
	}
	if _, ok := o.Cost(usage.Tokens{Model: "free-local-model"}); ok {
		t.Error("free model with no usage reported was priced")
	}
	// A bad override is reported as unknown, never recorded as a number.
	bad := d.With(map[string]Price{"gpt-4o": {InputPerToken: math.NaN()}, "o3": {InputPerToken: -1e-06}})
	for _, m := range []string{"gpt-4o", "o3"} {
		if usd, ok := bad.Cost(usage.Tokens{Model: m, Input: n(10), Output: n(10)}); ok {
			t.Errorf("%s with a bad override priced at %v", m, usd)
		}
	}
	// With on a copy does not leak into the copy it came from.
	o2 := o.With(map[string]Price{"acme-llm": {InputPerToken: 9e-06}})
	if p, _ := o.Lookup("", "acme-llm"); p.InputPerToken != 5e-07 {
		t.Errorf("second With modified the first copy: %+v", p)
	}
	if p, _ := o2.Lookup("", "acme-llm"); p.InputPerToken != 9e-06 {
		t.Errorf("second With not applied: %+v", p)
	}
	if e := d.With(nil); len(e.models) != count || e == d {
		t.Error("With(nil) is not a full copy")
	}
	var nilTable *Table
	if p, ok := nilTable.With(map[string]Price{"x": custom}).Lookup("", "x"); !ok || p != custom {
		t.Error("With on a nil table lost the override")
	}
}

func TestPriceJSON(t *testing.T) {
	p := Price{InputPerToken: 3e-06, OutputPerToken: 1.5e-05, CacheReadPerToken: 3e-07, CacheWritePerToken: 3.75e-06, PerSearchUnit: 0.002, Provider: "anthropic"}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"input_cost_per_token":            3e-06,
		"output_cost_per_token":           1.5e-05,
		"cache_read_input_token_cost":     3e-07,
		"cache_creation_input_token_cost": 3.75e-06,
		"search_unit_cost":                0.002,
		"litellm_provider":                "anthropic",
	}
	if len(fields) != len(want) {
		t.Errorf("fields = %v, want %v", fields, want)
	}
	for k, v := range want {
		if fields[k] != v {
			t.Errorf("%s = %v, want %v", k, fields[k], v)
		}
	}
	var back Price
	if err := json.Unmarshal(b, &back); err != nil || back != p {
		t.Errorf("round trip = %+v, %v; want %+v", back, err, p)
	}

	// Optional prices are omitted when 0; the input and output prices are always written.
	b, _ = json.Marshal(Price{InputPerToken: 2e-08})
	if got := string(b); got != `{"input_cost_per_token":2e-8,"output_cost_per_token":0}` && got != `{"input_cost_per_token":2e-08,"output_cost_per_token":0}` {
		t.Errorf("minimal price JSON = %s", got)
	}

	// An entry pasted from LiteLLM's model_prices_and_context_window.json reads as is.
	litellm := `{
		"cache_creation_input_token_cost": 3.75e-06,
		"cache_read_input_token_cost": 3e-07,
		"input_cost_per_token": 3e-06,
		"litellm_provider": "anthropic",
		"max_input_tokens": 200000,
		"mode": "chat",
		"output_cost_per_token": 1.5e-05,
		"supports_prompt_caching": true
	}`
	var fromLiteLLM Price
	if err := json.Unmarshal([]byte(litellm), &fromLiteLLM); err != nil {
		t.Fatal(err)
	}
	if wantP := (Price{InputPerToken: 3e-06, OutputPerToken: 1.5e-05, CacheReadPerToken: 3e-07, CacheWritePerToken: 3.75e-06, Provider: "anthropic"}); fromLiteLLM != wantP {
		t.Errorf("LiteLLM entry = %+v, want %+v", fromLiteLLM, wantP)
	}
}

func TestParseRejects(t *testing.T) {
	ok := `{"source":"s","date":"2026-11-21","note":"n","models":{"m":{"input_cost_per_token":1e-06,"output_cost_per_token":2e-06}}}`
	if _, err := parse([]byte(ok)); err != nil {
		t.Fatalf("valid file rejected: %v", err)
	}
	tests := []struct{ name, file string }{
		{"no source", `{"date":"2026-11-21","models":{"m":{"input_cost_per_token":1e-06,"output_cost_per_token":0}}}`},
		{"bad date", `{"source":"s","date":"21/11/2026","models":{"m":{"input_cost_per_token":1e-06,"output_cost_per_token":0}}}`},
		{"no models", `{"source":"s","date":"2026-11-21","models":{}}`},
		{"unknown field", `{"source":"s","date":"2026-11-21","models":{"m":{"input_cost_per_tokens":1e-06,"output_cost_per_token":0}}}`},
		{"negative price", `{"source":"s","date":"2026-11-21","models":{"m":{"input_cost_per_token":-1e-06,"output_cost_per_token":0}}}`},
		{"all zero", `{"source":"s","date":"2026-11-21","models":{"m":{"input_cost_per_token":0,"output_cost_per_token":0}}}`},
		{"same key twice once lower-cased", `{"source":"s","date":"2026-11-21","models":{"M":{"input_cost_per_token":1e-06,"output_cost_per_token":0},"m":{"input_cost_per_token":2e-06,"output_cost_per_token":0}}}`},
		{"empty key", `{"source":"s","date":"2026-11-21","models":{" ":{"input_cost_per_token":1e-06,"output_cost_per_token":0}}}`},
		{"trailing data", ok + `{}`},
		{"not json", `source: s`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parse([]byte(tt.file)); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestConcurrentUse(t *testing.T) {
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := Default()
			o := d.With(map[string]Price{"m": {InputPerToken: float64(i+1) * 1e-06}})
			for range 200 {
				if _, ok := d.Cost(usage.Tokens{Model: "gpt-4o", Input: n(10), Output: n(10)}); !ok {
					t.Error("gpt-4o not priced")
					return
				}
				if _, ok := o.Lookup("", "m"); !ok {
					t.Error("override lost")
					return
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkCostDated(b *testing.B) {
	d := Default()
	u := usage.Tokens{Provider: "bedrock", Model: "us.anthropic.claude-3-7-sonnet-20250219-v1:0", Input: n(1000), Cached: n(200), Output: n(300)}
	b.ReportAllocs()
	for b.Loop() {
		d.Cost(u)
	}
}

func BenchmarkCostExact(b *testing.B) {
	d := Default()
	u := usage.Tokens{Provider: "openai", Model: "gpt-4o-mini", Input: n(1000), Output: n(300)}
	b.ReportAllocs()
	for b.Loop() {
		d.Cost(u)
	}
}
