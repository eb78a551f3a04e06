package guardrail

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func exprs(t testing.TB, ss ...string) []Expr {
	t.Helper()
	var out []Expr
	for _, s := range ss {
		e, err := ParseExpr(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// TestExtract: objects, nested keys, arrays of objects, arrays of strings (Cohere's documents,
// where LiteLLM finds nothing), missing fields, non-strings, escaped keys and values.
func TestExtract(t *testing.T) {
	cases := []struct {
		name  string
		body  string
		exprs []string
		want  []string
	}{
		{"top-level", `{"query": "hi", "n": 3}`, []string{"query"}, []string{"hi"}},
		{"nested", `{"a": {"b": "deep", "c": "no"}}`, []string{"a.b"}, []string{"deep"}},
		{"array of objects", `{"items": [{"x": "one"}, {"y": "skip"}, {"x": "two"}]}`, []string{"items[*].x"}, []string{"one", "two"}},
		{"array of strings", `{"query":"q","documents":["d1","d2",{"text":"obj"}]}`, []string{"query", "documents[*]"}, []string{"q", "d1", "d2", "text", "obj"}},
		{"objects under [*].text", `{"documents":[{"text":"t1"},"plain",{"text":"t2"}]}`, []string{"documents[*].text"}, []string{"t1", "t2"}},
		{"missing", `{"query": "q"}`, []string{"nothing", "query.deeper", "documents[*]"}, nil},
		{"non-strings skipped, keys read", `{"a": 1, "b": true, "c": null, "d": {"e": 2}}`, []string{"a", "b", "c", "d"}, []string{"e"}},
		{"object: its keys and string values", `{"d": {"e": "f", "g": ["h", {"i": "j"}], "k": 1}}`, []string{"d"}, []string{"e", "f", "g", "h", "i", "j", "k"}},
		{"keys match without case", `{"Messages": [{"CONTENT": "x"}]}`, []string{"messages[*].content"}, []string{"x"}},
		{"escapes", `{"q\u0075ery": "line\nbreak \"q\" \u00e9"}`, []string{"query"}, []string{"line\nbreak \"q\" é"}},
		{"same field twice", `{"q": "once"}`, []string{"q", "q"}, []string{"once"}},
		{"body order", `{"b": "B", "a": "A"}`, []string{"a", "b"}, []string{"B", "A"}},
		{"not an object", `["a", "b"]`, []string{"a"}, nil},
		{"messages content: a string or content blocks", `{"messages":[{"role":"user","content":"hello"},{"role":"assistant","content":[{"type":"text","text":"x"}]}]}`, []string{"messages[*].content"}, []string{"hello", "type", "text", "text", "x"}},
		{"anthropic system as blocks", `{"system":[{"type":"text","text":"s\u0031"}],"messages":[]}`, []string{"system"}, []string{"type", "text", "text", "s1"}},
		{"blocks: tool results nested", `{"messages":[{"content":[{"type":"tool_result","content":[{"type":"text","text":"deep"}]}]}]}`, []string{"messages[*].content"}, []string{"type", "tool_result", "content", "type", "text", "text", "deep"}},
		{"whole and part overlap: once each", `{"messages":[{"content":"a"}]}`, []string{"messages", "messages[*].content"}, []string{"content", "a"}},
	}
	for _, tc := range cases {
		fs := Extract([]byte(tc.body), exprs(t, tc.exprs...))
		var got []string
		for _, f := range fs {
			got = append(got, f.Text)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestStrings: without fields a JSON body is read as its decoded strings, keys and values, so
// an escape cannot hide a word; and the masked strings go back into valid JSON.
func TestStrings(t *testing.T) {
	body := `{"model":"m","msgs":[{"content":"ssn 078\u002d05\u002d1120"},{"project\u0020falcon":1}],"n":2.5}`
	fs := Strings([]byte(body))
	var got []string
	for _, f := range fs {
		got = append(got, f.Text)
	}
	want := []string{"model", "m", "msgs", "content", "ssn 078-05-1120", "project falcon", "n"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Strings = %q, want %q", got, want)
	}
	got[4], got[5] = "ssn [X]", "[K]"
	out := string(Replace([]byte(body), fs, got))
	if want := `{"model":"m","msgs":[{"content":"ssn [X]"},{"[K]":1}],"n":2.5}`; out != want {
		t.Errorf("Replace = %s, want %s", out, want)
	}
	if Strings([]byte(`[1,2,{}]`)) != nil {
		t.Error("strings in a body without any")
	}
}

// TestReplaceKeepsUnchanged: a field whose text did not change keeps its bytes as sent, escapes
// and all; only the masked one is re-encoded.
func TestReplaceKeepsUnchanged(t *testing.T) {
	body := `{"a":"caf\u00e9 <b>","b":"mail a@b.io"}`
	fs := Extract([]byte(body), exprs(t, "a", "b"))
	out := string(Replace([]byte(body), fs, []string{fs[0].Text, "mail [EMAIL]"}))
	if want := `{"a":"caf\u00e9 <b>","b":"mail [EMAIL]"}`; out != want {
		t.Errorf("Replace = %s, want %s", out, want)
	}
}

// TestReplace writes texts back into exactly their fields, every other byte kept.
func TestReplace(t *testing.T) {
	body := `{ "query" : "mail a@b.io",  "documents": ["x", "call \"me\""], "top_n": 2 }`
	fs := Extract([]byte(body), exprs(t, "query", "documents[*]"))
	got := string(Replace([]byte(body), fs, []string{"mail [EMAIL_REDACTED]", "x", `said "<b>"`}))
	want := `{ "query" : "mail [EMAIL_REDACTED]",  "documents": ["x", "said \"\u003cb\u003e\""], "top_n": 2 }`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestParseExpr(t *testing.T) {
	for _, bad := range []string{"", "a..b", "a[0]", "[*]", "a.[*]"} {
		if _, err := ParseExpr(bad); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}

// body10K is a 10 KB chat-like request with no sensitive content.
func body10K() []byte {
	var b strings.Builder
	b.WriteString(`{"model":"command-r","query":"What is the capital of France? Order 12 of 2024.","documents":[`)
	for i := 0; b.Len() < 10<<10; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"Document %d: The quick brown fox jumps over the lazy dog; revenue grew 12%% in Q3 2024, see page 42."`, i)
	}
	b.WriteString(`],"top_n":3}`)
	return []byte(b.String())
}

func allPrebuilt() map[string]any {
	var ps []any
	for _, p := range prebuiltPatterns {
		ps = append(ps, map[string]any{"pattern_type": "prebuilt", "pattern_name": p.name, "action": "BLOCK"})
	}
	return map[string]any{"patterns": ps}
}

// BenchmarkContentFilter10K: every prebuilt pattern over a 10 KB body, as the whole body (one
// text: a body that is not JSON), as every string of the JSON (a route without fields), and as
// its fields (query and documents[*]).
func BenchmarkContentFilter10K(b *testing.B) {
	f := filter(b, allPrebuilt())
	body := body10K()
	b.Run("whole-body", func(b *testing.B) {
		in := Input{Texts: []string{string(body)}}
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if v, _ := f.Check(context.Background(), in); v.Action != Allow {
				b.Fatal(v)
			}
		}
	})
	b.Run("json-strings", func(b *testing.B) { // a route without fields, on a JSON body
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			fs := Strings(body)
			texts := make([]string, len(fs))
			for i, fl := range fs {
				texts[i] = fl.Text
			}
			if v, _ := f.Check(context.Background(), Input{Texts: texts}); v.Action != Allow {
				b.Fatal(v)
			}
		}
	})
	b.Run("fields", func(b *testing.B) {
		es := exprs(b, "query", "documents[*]")
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			fs := Extract(body, es)
			texts := make([]string, len(fs))
			for i, fl := range fs {
				texts[i] = fl.Text
			}
			if v, _ := f.Check(context.Background(), Input{Texts: texts}); v.Action != Allow {
				b.Fatal(v)
			}
		}
	})
}

// TestCheckAllocations: a check that finds nothing allocates nothing, whatever the text's size.
func TestCheckAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	f := filter(t, allPrebuilt())
	for _, n := range []int{1, 10, 100} {
		in := Input{Texts: []string{strings.Repeat(string(body10K()), n)}}
		allocs := testing.AllocsPerRun(20, func() { _, _ = f.Check(context.Background(), in) })
		if allocs > 0 {
			t.Errorf("%d KB: %.0f allocations per check, want 0", 10*n, allocs)
		}
	}
}

// TestExtractAllocations: what the rest of the body holds costs nothing: extracting one field
// allocates the same whether the body around it is 1 KB or 1 MB.
func TestExtractAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	es := exprs(t, "query", "documents[*]")
	var per []float64
	for _, n := range []int{1 << 10, 1 << 20} {
		body := []byte(`{"big":"` + strings.Repeat("x", n) + `","nested":{"a":[` + strings.Repeat(`"y",`, n/8) + `"z"]},"query":"q","documents":["d"]}`)
		per = append(per, testing.AllocsPerRun(10, func() { _ = Extract(body, es) }))
	}
	if per[0] != per[1] {
		t.Errorf("allocations per extract: %v for a 1 KB body, %v for 1 MB", per[0], per[1])
	}
}
