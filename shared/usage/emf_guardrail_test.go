package usage

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestEMFGuardrailBlocks: a record whose call a guardrail blocked gets one more line, metric
// GuardrailBlocks under the Guardrail dimension; masks and passes add none.
func TestEMFGuardrailBlocks(t *testing.T) {
	var buf bytes.Buffer
	e := NewEMF(&buf, "GW")
	r := fullRecord()
	r.Guardrails = []GuardrailResult{
		{Name: "mask-emails", Mode: "pre_call", Action: "masked"},
		{Name: "pii", Mode: "post_call", Action: "blocked", Reason: "x"},
		{Name: "pii", Mode: "post_call", Action: "blocked", Reason: "again"},
	}
	e.Record(context.Background(), r)
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines:\n%s", len(lines), buf.String())
	}
	want := `{"_aws":{"Timestamp":1777636800123,"CloudWatchMetrics":[{"Namespace":"GW","Dimensions":[["Guardrail"]],"Metrics":[{"Name":"GuardrailBlocks","Unit":"Count"}]}]},"Guardrail":"pii","GuardrailBlocks":1,"call_id":"9f1c2d3e-0000-4000-8000-000000000001","route":"/openai"}`
	if lines[1] != want {
		t.Errorf("guardrail line\n%s\nwant\n%s", lines[1], want)
	}
	buf.Reset()
	r.Guardrails = r.Guardrails[:1]
	e.Record(context.Background(), r)
	if n := strings.Count(buf.String(), "\n"); n != 1 {
		t.Errorf("a mask wrote %d lines", n)
	}
}
