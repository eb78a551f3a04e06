package main

import (
	"flag"
	"fmt"
	"io"
	"time"
)

type options struct {
	n           int           // sequential requests per path at c=1
	warmup      int           // requests per path before latency is recorded
	roundSize   int           // requests per path per interleaved latency round
	concurrency int           // client goroutines in the throughput test
	duration    time.Duration // throughput run per path per round
	rounds      int           // throughput rounds per path
	streams     int           // SSE streams held open at once
	respBytes   int64         // large response size
	uploadBytes int64         // large upload size
	quick       bool
	cpuprofile  string
}

func defaultOptions() options {
	return options{
		n: 3000, warmup: 200, roundSize: 100, concurrency: 32,
		duration: 3 * time.Second, rounds: 3, streams: 200,
		respBytes: 50 << 20, uploadBytes: 20 << 20,
	}
}

// quickOptions are small enough for a test to run every phase in about a second; they check
// that the benchmark works, not how fast the gateway is.
func quickOptions() options {
	return options{
		n: 200, warmup: 20, roundSize: 50, concurrency: 32,
		duration: 200 * time.Millisecond, rounds: 1, streams: 20,
		respBytes: 4 << 20, uploadBytes: 2 << 20, quick: true,
	}
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	d := defaultOptions()
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", d.n, "sequential POSTs per path for the c=1 latency test")
	duration := fs.Duration("duration", d.duration, "throughput run length per path per round")
	streams := fs.Int("streams", d.streams, "SSE streams held open at once for the heap test")
	rounds := fs.Int("rounds", d.rounds, "throughput rounds per path (the median is reported)")
	quick := fs.Bool("quick", false, "small numbers everywhere (explicit flags still win), for tests and smoke runs")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to `file`")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	o := d
	if *quick {
		o = quickOptions()
	}
	// Explicit flags override the -quick presets, so `-quick -n 50` means what it says.
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "n":
			o.n = *n
		case "duration":
			o.duration = *duration
		case "streams":
			o.streams = *streams
		case "rounds":
			o.rounds = *rounds
		}
	})
	o.cpuprofile = *cpuprofile
	return o, o.validate()
}

func (o options) validate() error {
	switch {
	case o.n < 1:
		return fmt.Errorf("-n must be at least 1, got %d", o.n)
	case o.duration <= 0 || o.duration > time.Minute:
		return fmt.Errorf("-duration must be in (0, 1m], got %s", o.duration)
	case o.streams < 1 || o.streams > 5000:
		return fmt.Errorf("-streams must be in [1, 5000], got %d", o.streams)
	case o.rounds < 1 || o.rounds > 10:
		return fmt.Errorf("-rounds must be in [1, 10], got %d", o.rounds)
	}
	return nil
}
