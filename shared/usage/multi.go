package usage

import "context"

// Sink receives usage records.
type Sink interface {
	Record(ctx context.Context, r Record)
}

// Multi sends every record to each of its sinks, in order.
type Multi []Sink

// Record implements Sink.
func (m Multi) Record(ctx context.Context, r Record) {
	for _, s := range m {
		s.Record(ctx, r)
	}
}
