package providers

import (
	"net/http"

	"github.com/passthru/gateway/shared/usage"
)

// field is one raw count as a provider reports it; tokens() turns them into usage.Tokens.
type field uint8

const (
	fPromptIncl field = iota // input tokens, cached tokens included (OpenAI, Gemini, Cohere)
	fInputExcl               // input tokens, cache reads and writes excluded (Anthropic, Bedrock)
	fCacheRead               // input tokens read from a cache
	fCacheWrite              // input tokens written to a cache
	fOutput                  // output tokens, reasoning included
	fCandidates              // Gemini output tokens, thoughts excluded
	fThoughts                // Gemini thinking tokens
	fReasoning               // reasoning tokens (part of fOutput)
	fToolUse                 // Gemini tool-use prompt tokens (billed as input, not in the prompt count)
	fSearch                  // Cohere search units
	fSumInput                // input tokens summed over items (Vertex text embeddings)
	nFields
)

// counts holds the last reported value of each field.
type counts struct {
	v   [nFields]int64
	has uint32
}

func (c *counts) set(f field, n int64) {
	c.v[f] = n
	c.has |= 1 << f
}

func (c *counts) add(f field, n int64) {
	c.v[f] = min(c.v[f]+n, maxCount) // both are at most maxCount: no overflow
	c.has |= 1 << f
}

func (c *counts) get(f field) (int64, bool) { return c.v[f], c.has&(1<<f) != 0 }

func (c *counts) setIf(f field, n count) {
	if n.ok {
		c.set(f, n.v)
	}
}

// tokens normalises the raw counts: Input includes cached and cache-write tokens, Output
// includes reasoning tokens; a count never reported stays nil.
func (c *counts) tokens() usage.Tokens {
	var t usage.Tokens
	if c.has == 0 {
		return t
	}
	vals := new([6]int64)
	put := func(i int, v int64) *int64 {
		vals[i] = v
		return &vals[i]
	}
	tool, _ := c.get(fToolUse)
	cr, hasCR := c.get(fCacheRead)
	cw, hasCW := c.get(fCacheWrite)
	if v, ok := c.get(fPromptIncl); ok {
		t.Input = put(0, v+tool)
	} else if v, ok := c.get(fInputExcl); ok {
		t.Input = put(0, v+cr+cw+tool)
	} else if v, ok := c.get(fSumInput); ok {
		t.Input = put(0, v)
	}
	cand, hasCand := c.get(fCandidates)
	th, hasTh := c.get(fThoughts)
	if v, ok := c.get(fOutput); ok {
		t.Output = put(1, v)
	} else if hasCand || hasTh {
		t.Output = put(1, cand+th)
	}
	if hasCR {
		t.Cached = put(2, cr)
	}
	if hasCW {
		t.CacheWrite = put(3, cw)
	}
	if v, ok := c.get(fReasoning); ok {
		t.Reasoning = put(4, v)
	} else if hasTh {
		t.Reasoning = put(4, th)
	}
	if v, ok := c.get(fSearch); ok {
		t.SearchUnits = put(5, v)
	}
	return t
}

// count is a token count read from a JSON value; anything that is not one leaves ok false
// (never an error, so one odd field does not hide the others).
type count struct {
	v  int64
	ok bool
}

func num(raw []byte) count {
	v, ok := parseCount(raw)
	return count{v, ok}
}

func isObject(raw []byte) bool { return len(raw) > 0 && raw[0] == '{' }

// cohereUnits are Cohere's billed_units or tokens.
type cohereUnits struct {
	input, output, search count
}

func (u *cohereUnits) read(raw []byte) {
	members(raw, func(k, v []byte) {
		switch string(k) {
		case "input_tokens":
			u.input = num(v)
		case "output_tokens":
			u.output = num(v)
		case "search_units":
			u.search = num(v)
		}
	})
}

func (u *cohereUnits) any() bool { return u.input.ok || u.output.ok || u.search.ok }

// details reads *_tokens_details: cached_tokens and reasoning_tokens.
func details(raw []byte) (cached, reasoning count) {
	members(raw, func(k, v []byte) {
		switch string(k) {
		case "cached_tokens":
			cached = num(v)
		case "reasoning_tokens":
			reasoning = num(v)
		}
	})
	return
}

// usage reads a usage object, whichever provider's: the field names do not collide.
//
//   - OpenAI chat, embeddings: prompt_tokens (cache included), completion_tokens,
//     prompt_tokens_details.cached_tokens, completion_tokens_details.reasoning_tokens;
//     DeepSeek's prompt_cache_hit_tokens.
//   - OpenAI Responses (input_tokens_details present: input includes the cache) and
//     Anthropic (input excludes cache_read_input_tokens and cache_creation_input_tokens).
//   - Bedrock converse and Nova: inputTokens (cache excluded), outputTokens,
//     cacheReadInputTokens/cacheReadInputTokenCount, cacheWriteInputTokens/…Count.
//   - Cohere v2: billed_units, else tokens.
//
// It returns the shape the object had: shapeOpenAI for OpenAI's own field names
// (prompt_tokens, completion_tokens, *_tokens_details), shapeCohere for Cohere's
// (billed_units, tokens), else 0.
func (c *counts) usage(raw []byte) (shape uint8) {
	if !isObject(raw) {
		return 0 // null (OpenAI chunks before the last), or not an object
	}
	var (
		prompt, completion, total, cacheHit          count
		input, output, cacheRead, cacheCreation      count
		inputCC, outputCC, crCC, crCount, cwCC, cwCt count
		cached, reasoning                            count
		inputInclusive                               bool
		billed, tokens                               cohereUnits
	)
	members(raw, func(k, v []byte) {
		switch string(k) {
		case "prompt_tokens":
			prompt, shape = num(v), shape|shapeOpenAI
		case "completion_tokens":
			completion, shape = num(v), shape|shapeOpenAI
		case "total_tokens":
			total = num(v)
		case "prompt_cache_hit_tokens":
			cacheHit = num(v)
		case "prompt_tokens_details", "input_tokens_details", "input_token_details":
			shape |= shapeOpenAI
			if isObject(v) {
				if k[0] == 'i' {
					inputInclusive = true
				}
				if ct, _ := details(v); ct.ok {
					cached = ct
				}
			}
		case "completion_tokens_details", "output_tokens_details":
			shape |= shapeOpenAI
			if _, r := details(v); r.ok {
				reasoning = r
			}
		case "input_tokens":
			input = num(v)
		case "output_tokens":
			output = num(v)
		case "cache_read_input_tokens":
			cacheRead = num(v)
		case "cache_creation_input_tokens":
			cacheCreation = num(v)
		case "inputTokens":
			inputCC = num(v)
		case "outputTokens":
			outputCC = num(v)
		case "cacheReadInputTokens":
			crCC = num(v)
		case "cacheReadInputTokenCount":
			crCount = num(v)
		case "cacheWriteInputTokens":
			cwCC = num(v)
		case "cacheWriteInputTokenCount":
			cwCt = num(v)
		case "billed_units":
			billed.read(v)
		case "tokens":
			tokens.read(v)
		}
	})
	c.setIf(fPromptIncl, prompt)
	c.setIf(fOutput, completion)
	if prompt.ok && !completion.ok && !output.ok && total.ok && total.v >= prompt.v {
		c.set(fOutput, total.v-prompt.v) // embeddings: total = prompt
	}
	if input.ok {
		if inputInclusive {
			c.set(fPromptIncl, input.v) // OpenAI Responses, images, audio
		} else {
			c.set(fInputExcl, input.v) // Anthropic
		}
	}
	c.setIf(fOutput, output)
	c.setIf(fCacheRead, cacheHit)
	c.setIf(fCacheRead, cached)
	c.setIf(fReasoning, reasoning)
	c.setIf(fCacheRead, cacheRead)
	c.setIf(fCacheWrite, cacheCreation)

	c.setIf(fInputExcl, inputCC)
	c.setIf(fOutput, outputCC)
	c.setIf(fCacheRead, crCount)
	c.setIf(fCacheRead, crCC) // when both spellings are there they are the same count
	c.setIf(fCacheWrite, cwCt)
	c.setIf(fCacheWrite, cwCC)

	c.cohereUnits(&billed, &tokens)
	if billed.any() || tokens.any() {
		shape |= shapeCohere
	}
	return shape
}

// cohereUnits reads Cohere's billed units, else its token counts.
func (c *counts) cohereUnits(billed, tokens *cohereUnits) {
	u := billed
	if !u.any() {
		u = tokens
	}
	c.setIf(fPromptIncl, u.input)
	c.setIf(fOutput, u.output)
	c.setIf(fSearch, u.search)
}

// cohereMeta reads Cohere's meta object (v1 chat, embed, rerank); it reports whether the
// object had Cohere's units (billed_units or tokens), which names the shape Cohere's.
func (c *counts) cohereMeta(raw []byte) bool {
	var billed, tokens cohereUnits
	members(raw, func(k, v []byte) {
		switch string(k) {
		case "billed_units":
			billed.read(v)
		case "tokens":
			tokens.read(v)
		}
	})
	c.cohereUnits(&billed, &tokens)
	return billed.any() || tokens.any()
}

// gemini reads Gemini/Vertex usageMetadata.
func (c *counts) gemini(raw []byte) {
	var prompt, candidates, cached, thoughts, toolUse, total count
	members(raw, func(k, v []byte) {
		switch string(k) {
		case "promptTokenCount":
			prompt = num(v)
		case "candidatesTokenCount":
			candidates = num(v)
		case "cachedContentTokenCount":
			cached = num(v)
		case "thoughtsTokenCount":
			thoughts = num(v)
		case "toolUsePromptTokenCount":
			toolUse = num(v)
		case "totalTokenCount":
			total = num(v)
		}
	})
	c.setIf(fPromptIncl, prompt)
	c.setIf(fCandidates, candidates)
	c.setIf(fCacheRead, cached)
	c.setIf(fThoughts, thoughts)
	c.setIf(fToolUse, toolUse)
	if !candidates.ok && !thoughts.ok && total.ok && prompt.ok {
		// no candidates yet (or an empty answer): the total says how many there are
		if out := total.v - prompt.v - toolUse.v; out >= 0 {
			c.set(fCandidates, out)
		}
	}
}

// bedrockMetrics reads amazon-bedrock-invocationMetrics (input excludes the cache).
func (c *counts) bedrockMetrics(raw []byte) {
	members(raw, func(k, v []byte) {
		switch string(k) {
		case "inputTokenCount":
			c.setIf(fInputExcl, num(v))
		case "outputTokenCount":
			c.setIf(fOutput, num(v))
		case "cacheReadInputTokenCount":
			c.setIf(fCacheRead, num(v))
		case "cacheWriteInputTokenCount":
			c.setIf(fCacheWrite, num(v))
		}
	})
}

// fromHeaders reads Bedrock's token-count response headers (InvokeModel, Converse); the body,
// read later, overrides them where it reports the same counts.
func (c *counts) fromHeaders(h http.Header) {
	for _, x := range []struct {
		name string
		f    field
	}{
		{"X-Amzn-Bedrock-Input-Token-Count", fInputExcl},
		{"X-Amzn-Bedrock-Output-Token-Count", fOutput},
		{"X-Amzn-Bedrock-Cache-Read-Input-Token-Count", fCacheRead},
		{"X-Amzn-Bedrock-Cache-Write-Input-Token-Count", fCacheWrite},
	} {
		if v := headerValue(h, x.name); v != "" {
			if n, ok := parseCount([]byte(v)); ok {
				c.set(x.f, n)
			}
		}
	}
}
