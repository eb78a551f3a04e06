package guardrail

import (
	"context"
	"encoding/json"
	"testing"
)

// FuzzFilterAndFields: the content filter (every prebuilt pattern, a regex and a keyword, all MASK)
// never panics and masks one text per text given; field extraction and write-back never panic
// on arbitrary bodies; a JSON body whose every string is replaced stays valid JSON.
func FuzzFilterAndFields(f *testing.F) {
	var pats []any
	for _, p := range prebuiltPatterns {
		pats = append(pats, map[string]any{"pattern_type": "prebuilt", "pattern_name": p.name, "action": "MASK"})
	}
	pats = append(pats, map[string]any{"pattern_type": "regex", "pattern": `EMP-\d{6}`, "action": "MASK"})
	cf, err := NewContentFilter(Def{Name: "x", Params: map[string]any{"patterns": pats,
		"blocked_words": []any{map[string]any{"keyword": "Falcon Ä", "action": "MASK"}}}})
	if err != nil {
		f.Fatal(err)
	}
	exprs := []Expr{}
	for _, s := range []string{"messages[*].content", "a.b", "documents[*]"} {
		e, err := ParseExpr(s)
		if err != nil {
			f.Fatal(err)
		}
		exprs = append(exprs, e)
	}
	for _, s := range []string{"078-05-1120 a@b.io 4111111111111111 GB82WEST12345698765432 AKIAABCDEFGHIJKLMNOP sk-ant-xxxxxxxxxxxxxxxxxxxxxxxx", `{"messages":[{"content":"a@b.c"}]}`, "falcon ä", `{"k\\u0041":["x\\"y",{"z":[1,"w"]}]}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := cf.Check(context.Background(), Input{Texts: []string{s, s + "\x00" + s}})
		if err == nil && v.Action == Mask && len(v.Texts) != 2 {
			t.Fatal("len")
		}
		fs := Extract([]byte(s), exprs)
		if len(fs) > 0 {
			texts := make([]string, len(fs))
			_ = Replace([]byte(s), fs, texts)
		}
		// Every string of a JSON body, masked, still makes valid JSON.
		if json.Valid([]byte(s)) {
			fs := Strings([]byte(s))
			texts := make([]string, len(fs))
			for i, f := range fs {
				texts[i] = "[" + f.Text + "\"\x00"
			}
			if out := Replace([]byte(s), fs, texts); !json.Valid(out) {
				t.Fatalf("masked %q into invalid JSON %q", s, out)
			}
		}
	})
}
