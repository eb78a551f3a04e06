//go:build !noawsbackends

package usage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/firehose"
)

// The fallback line is what a CloudWatch Logs subscription filter carries into the usage
// bucket (template.yaml), so Athena's OpenX JSON SerDe must read it as the record itself: a
// single line starting with '{' whose members are the record's plus "marker".
func TestUndeliveredLineIsTheRecordAsJSON(t *testing.T) {
	tricky := fullRecord()
	tricky.KeyAlias = "team\nwith\u2028newlines \"quoted\""
	tricky.KeyMetadata = map[string]string{"owner": "a}b{"}
	tests := []struct {
		name string
		rec  Record
	}{
		{"full", fullRecord()},
		{"unknown cost, client disconnect", unknownRecord()},
		{"newlines and braces in values", tricky},
		{"zero record", Record{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fallback bytes.Buffer
			f := NewFirehose(&fakeFirehose{respond: func(int, []string) (*firehose.PutRecordBatchOutput, error) {
				return nil, errors.New("AccessDeniedException: not allowed") // not retryable
			}}, "usage", &fallback)
			f.Record(context.Background(), tt.rec)
			if err := f.Flush(context.Background()); err == nil {
				t.Fatal("Flush succeeded; want the record on the fallback")
			}
			got := fallback.String()
			if !strings.HasPrefix(got, `{"marker":"USAGE_RECORD_UNDELIVERED",`) || !strings.HasSuffix(got, "}\n") ||
				strings.Count(got, "\n") != 1 {
				t.Fatalf("fallback line %q: want one line, the marker member first", got)
			}
			var members map[string]any
			if err := json.Unmarshal([]byte(got), &members); err != nil {
				t.Fatalf("fallback line is not JSON: %v\n%s", err, got)
			}
			if members[UndeliveredMarkerField] != UndeliveredMarker {
				t.Errorf("marker member = %v", members[UndeliveredMarkerField])
			}
			var back Record
			if err := json.Unmarshal([]byte(got), &back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(normalize(t, back), normalize(t, tt.rec)) {
				t.Errorf("record read back from the line differs:\n got %+v\nwant %+v", back, tt.rec)
			}
		})
	}
}

// normalize drops what a JSON round trip cannot keep (monotonic clock, location pointer).
func normalize(t *testing.T, r Record) Record {
	t.Helper()
	r.Time = r.Time.UTC().Round(time.Nanosecond)
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var out Record
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestAppendUndeliveredLine(t *testing.T) {
	tests := []struct{ rec, want string }{
		{"{}\n", `{"marker":"USAGE_RECORD_UNDELIVERED"}` + "\n"},
		{`{"a":1}` + "\n", `{"marker":"USAGE_RECORD_UNDELIVERED","a":1}` + "\n"},
	}
	for _, tt := range tests {
		if got := string(appendUndeliveredLine(nil, []byte(tt.rec))); got != tt.want {
			t.Errorf("appendUndeliveredLine(%q) = %q, want %q", tt.rec, got, tt.want)
		}
	}
}

// The pattern is what template.yaml's metric and subscription filters use: CloudWatch Logs'
// JSON filter syntax, https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html
func TestUndeliveredFilterPattern(t *testing.T) {
	if want := `{ $.marker = "USAGE_RECORD_UNDELIVERED" }`; UndeliveredFilterPattern != want {
		t.Errorf("UndeliveredFilterPattern = %q, want %q", UndeliveredFilterPattern, want)
	}
}
