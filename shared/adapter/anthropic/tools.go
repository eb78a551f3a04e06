package anthropic

import (
	"crypto/sha256"
	"encoding/hex"
)

// maxToolName is OpenAI's limit on a function name; Anthropic allows longer tool names.
const maxToolName = 64

// ToolNames maps the names the backend was given to the client's, for the names that had to
// be shortened.
type ToolNames map[string]string

// short returns the name the backend gets: the name itself, or for a name over 64 characters
// its first 55, "_" and 8 hex digits of its SHA-256 (LiteLLM's scheme), remembered so the
// answer's tool_use blocks carry the client's name again.
func (n ToolNames) short(name string) string {
	if len(name) <= maxToolName {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	s := name[:55] + "_" + hex.EncodeToString(sum[:])[:8]
	n[s] = name
	return s
}

// restore returns the client's name for a name the backend used.
func (n ToolNames) restore(name string) string {
	if orig, ok := n[name]; ok {
		return orig
	}
	return name
}
