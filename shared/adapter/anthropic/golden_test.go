package anthropic

import (
	"bytes"
	"embed"
	"encoding/json"
	"flag"
	"os"
	"path"
	"strings"
	"testing"
)

// The golden tables: testdata/requests/*.in.json (Anthropic) → *.out.json (OpenAI),
// testdata/responses/*.in.json (OpenAI) → *.out.json (Anthropic), testdata/streams/*.in.sse
// (an OpenAI stream) → *.out.sse (the Anthropic stream). `go test -run Golden -update`
// rewrites the outputs; review the diff.

//go:embed testdata
var testdata embed.FS

var update = flag.Bool("update", false, "rewrite the golden outputs")

// backendModels: the backend model each request case is sent to ("": the client's name).
var backendModels = map[string]string{
	"text":                     "gpt-4o-mini",
	"system_blocks_stream":     "",
	"images":                   "gpt-4o",
	"tools":                    "gpt-4o",
	"tool_choice_any_thinking": "gpt-4.1",
	"reasoning_model":          "o3-mini",
	"claude_backend":           "anthropic/claude-sonnet-4-5",
}

// longToolNames is the tool names the tools request shortens, for the answers that use them.
var longToolNames = ToolNames{"a_tool_whose_name_is_much_longer_than_the_sixty_four_ch_846fe6ee": "a_tool_whose_name_is_much_longer_than_the_sixty_four_characters_openai_allows"}

func cases(t *testing.T, dir, ext string) []string {
	t.Helper()
	entries, err := testdata.ReadDir(path.Join("testdata", dir))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".in."+ext); ok {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		t.Fatalf("no cases in testdata/%s", dir)
	}
	return names
}

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := testdata.ReadFile(path.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// golden compares got with the golden file (JSON outputs are compared compacted, byte for byte).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	if *update {
		out := got
		if strings.HasSuffix(name, ".json") {
			var buf bytes.Buffer
			_ = json.Indent(&buf, got, "", "  ")
			out = append(buf.Bytes(), '\n')
		}
		if err := os.WriteFile(path.Join("testdata", name), out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want := read(t, name)
	if strings.HasSuffix(name, ".json") {
		var buf bytes.Buffer
		if err := json.Compact(&buf, want); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want = buf.Bytes()
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s:\n got: %s\nwant: %s", name, got, want)
	}
}

func TestGoldenRequests(t *testing.T) {
	for _, name := range cases(t, "requests", "json") {
		t.Run(name, func(t *testing.T) {
			model, ok := backendModels[name]
			if !ok {
				t.Fatalf("no backend model for %s", name)
			}
			req, perr := ParseRequest(read(t, "requests/"+name+".in.json"))
			if perr != nil {
				t.Fatal(perr)
			}
			got, names, err := req.OpenAI(Backend{Model: model})
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "requests/"+name+".out.json", got)
			if name == "tools" && !jsonEqual(names, longToolNames) {
				t.Errorf("shortened names = %v, want %v", names, longToolNames)
			}
		})
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func TestGoldenResponses(t *testing.T) {
	for _, name := range cases(t, "responses", "json") {
		t.Run(name, func(t *testing.T) {
			got, err := Response(read(t, "responses/"+name+".in.json"), "claude-sonnet-4-5", longToolNames)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "responses/"+name+".out.json", got)
			events, err := StreamFromResponse(read(t, "responses/"+name+".in.json"), "claude-sonnet-4-5", longToolNames, false)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "responses/"+name+".stream.sse", events)
		})
	}
}

// events splits an SSE fixture into its events, each with its blank line.
func events(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		i := bytes.Index(b, []byte("\n\n"))
		if i < 0 {
			return append(out, b)
		}
		out = append(out, b[:i+2])
		b = b[i+2:]
	}
	return out
}

// translate feeds in to a Stream in the given chunking and returns all it wrote.
func translate(t *testing.T, chunks [][]byte, withCost bool) []byte {
	t.Helper()
	var out bytes.Buffer
	s := NewStream(&out, "claude-sonnet-4-5", longToolNames, withCost)
	for _, c := range chunks {
		if n, err := s.Write(c); n != len(c) || err != nil {
			t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(c))
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// Every stream case translates to the same events whatever the chunking: whole, event by
// event, byte by byte.
func TestGoldenStreams(t *testing.T) {
	for _, name := range cases(t, "streams", "sse") {
		t.Run(name, func(t *testing.T) {
			in := read(t, "streams/"+name+".in.sse")
			got := translate(t, [][]byte{in}, true)
			golden(t, "streams/"+name+".out.sse", got)
			var bytewise [][]byte
			for i := range in {
				bytewise = append(bytewise, in[i:i+1])
			}
			for label, chunks := range map[string][][]byte{"by event": events(in), "byte by byte": bytewise} {
				if again := translate(t, chunks, true); !bytes.Equal(again, got) {
					t.Errorf("%s: output differs from the whole-body translation:\n%s", label, again)
				}
			}
		})
	}
}
