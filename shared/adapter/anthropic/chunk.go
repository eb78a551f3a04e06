package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
)

// parseChunk reads the fields of an OpenAI stream chunk the translation uses into c (reset
// first). It walks the JSON itself instead of calling encoding/json for the whole chunk: a
// content chunk is mostly fields the translation skips, and the walk keeps a streamed event's
// translation well under its 5 µs budget. Tool calls and usage, which come a few times per
// stream, go through encoding/json. A chunk that is not well-formed JSON is an error.
func parseChunk(data []byte, c *chatChunk) error {
	tools := c.Choices[:0]
	for i := range tools[:cap(tools)] {
		tools[:cap(tools)][i] = choice{} // reused: nothing of the last chunk may leak in
	}
	*c = chatChunk{Choices: tools}
	return eachMember(data, func(key, val []byte) error {
		switch string(key) {
		case "id":
			s, err := strOrNull(val)
			c.ID = s
			return err
		case "choices":
			if isNull(val) {
				return nil
			}
			return eachElement(val, func(v []byte) error {
				c.Choices = append(c.Choices, choice{})
				return parseChoice(v, &c.Choices[len(c.Choices)-1])
			})
		case "usage":
			if isNull(val) {
				return nil
			}
			c.Usage = &chatUsage{}
			return json.Unmarshal(val, c.Usage)
		case "error":
			if !isNull(val) {
				c.Error = val
			}
		}
		return nil
	})
}

func parseChoice(b []byte, ch *choice) error {
	return eachMember(b, func(key, val []byte) error {
		switch string(key) {
		case "index":
			n, err := strconv.Atoi(string(val))
			ch.Index = n
			return err
		case "finish_reason":
			if isNull(val) {
				return nil
			}
			s, err := str(val)
			ch.FinishReason = &s
			return err
		case "delta":
			if isNull(val) {
				return nil
			}
			return eachMember(val, func(key, val []byte) error {
				var err error
				switch string(key) {
				case "content":
					ch.Delta.Content, err = strOrNull(val)
				case "reasoning_content", "reasoning": // vLLM and DeepSeek; OpenRouter
					var s string
					if s, err = strOrNull(val); s != "" {
						ch.Delta.ReasoningContent = s
					}
				case "tool_calls":
					if !isNull(val) {
						err = json.Unmarshal(val, &ch.Delta.ToolCalls)
					}
				}
				return err
			})
		}
		return nil
	})
}

var errMalformed = errors.New("malformed JSON")

func isNull(v []byte) bool { return string(v) == "null" }

func strOrNull(v []byte) (string, error) {
	if isNull(v) {
		return "", nil
	}
	return str(v)
}

// str decodes a JSON string value.
func str(v []byte) (string, error) {
	if len(v) < 2 || v[0] != '"' {
		return "", errMalformed
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return string(v[1 : len(v)-1]), nil
	}
	var s string
	err := json.Unmarshal(v, &s)
	return s, err
}

// eachMember calls fn with each member of the JSON object b (its key decoded when it has no
// escapes, which no key the translation reads has).
func eachMember(b []byte, fn func(key, val []byte) error) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errMalformed
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return trailing(b, i+1)
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return errMalformed
		}
		end := skipString(b, i)
		if end < 0 {
			return errMalformed
		}
		key := b[i+1 : end-1]
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return errMalformed
		}
		start := skipSpace(b, i+1)
		stop := skipValue(b, start)
		if stop < 0 {
			return errMalformed
		}
		if err := fn(key, b[start:stop]); err != nil {
			return err
		}
		i = skipSpace(b, stop)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
			continue
		}
		if i < len(b) && b[i] == '}' {
			return trailing(b, i+1)
		}
		return errMalformed
	}
}

// eachElement calls fn with each element of the JSON array b.
func eachElement(b []byte, fn func(val []byte) error) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return errMalformed
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return trailing(b, i+1)
	}
	for {
		stop := skipValue(b, i)
		if stop < 0 {
			return errMalformed
		}
		if err := fn(b[i:stop]); err != nil {
			return err
		}
		i = skipSpace(b, stop)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
			continue
		}
		if i < len(b) && b[i] == ']' {
			return trailing(b, i+1)
		}
		return errMalformed
	}
}

func trailing(b []byte, i int) error {
	if skipSpace(b, i) != len(b) {
		return errMalformed
	}
	return nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] ('"'), or -1.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		default:
			if b[i] < 0x20 {
				return -1
			}
		}
	}
	return -1
}

// skipValue returns the index after the value starting at b[i], or -1. Containers are
// skipped by counting brackets outside strings; scalars must be a literal or a number.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch c := b[i]; {
	case c == '"':
		return skipString(b, i)
	case c == '{' || c == '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				if i = skipString(b, i); i < 0 {
					return -1
				}
				i--
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return -1
	default:
		j := i
		for j < len(b) && bytes.IndexByte([]byte(",}] \t\r\n"), b[j]) < 0 {
			j++
		}
		switch lit := string(b[i:j]); lit {
		case "true", "false", "null":
			return j
		default:
			if _, err := strconv.ParseFloat(lit, 64); err != nil {
				return -1
			}
			return j
		}
	}
}
