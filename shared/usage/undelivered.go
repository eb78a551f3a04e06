package usage

// A record Firehose did not take is written to the fallback writer (stdout on Lambda) as one
// JSON line: the record's own JSON with UndeliveredMarkerField set to UndeliveredMarker as its
// first member, e.g. {"marker":"USAGE_RECORD_UNDELIVERED","schema_version":1,"call_id":...}.
//
// The line is pure JSON, not "MARKER <json>", because template.yaml carries these lines from
// the function's log group into the usage bucket through a CloudWatch Logs subscription
// filter and a Firehose stream that extracts each log event's message: what lands in S3 is
// the line itself, and Athena's OpenX JSON SerDe reads a line only when it starts with '{'
// (a text prefix made the whole row NULL). The SerDe ignores the extra "marker" column. The
// marker stays greppable (Logs Insights: `filter marker = "USAGE_RECORD_UNDELIVERED"`).
const (
	UndeliveredMarker      = "USAGE_RECORD_UNDELIVERED"
	UndeliveredMarkerField = "marker"
	// UndeliveredFilterPattern is the CloudWatch Logs filter pattern selecting exactly these
	// lines (a JSON pattern, so an EMF or log line that merely mentions the marker does not
	// match). template.yaml's metric filter and subscription filter use it verbatim; a test in
	// functions/gateway holds them equal.
	UndeliveredFilterPattern = `{ $.` + UndeliveredMarkerField + ` = "` + UndeliveredMarker + `" }`
)

// undeliveredPrefix opens every fallback line; the record's members follow.
const undeliveredPrefix = `{"` + UndeliveredMarkerField + `":"` + UndeliveredMarker + `"`
