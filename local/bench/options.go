package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

type options struct {
	n             int           // sequential requests per path at c=1
	warmup        int           // requests per path before latency is recorded
	roundSize     int           // requests per path per interleaved latency round
	concurrency   int           // client goroutines in the throughput test
	duration      time.Duration // throughput run per path per round
	rounds        int           // throughput and download rounds per path
	streams       int           // SSE streams held open at once
	events        int           // events per timed stream
	eventGap      time.Duration // between a timed stream's events
	eventStreams  int           // timed streams per path
	downloadBytes int64         // the large response
	gateway       string        // the gateway binary
	nginx         string        // the nginx binary; "" when not installed
	chart         string        // write a chart of latency and throughput here, .png or .svg ("" for none)
	gatewayEnv    []string      // NAME=VALUE settings for the gateway process alone (-gateway-env)
	cpuProfile    string        // write a CPU profile of the gateway's first c=32 round here ("" for none)
	quick         bool
}

func defaultOptions() options {
	return options{
		n: 3000, warmup: 200, roundSize: 100, concurrency: 32,
		duration: 3 * time.Second, rounds: 3, streams: 200,
		events: 50, eventGap: 5 * time.Millisecond, eventStreams: 4,
		downloadBytes: 200 << 20, gateway: "bin/gateway",
	}
}

// quickOptions are small enough for a test to run every phase in a few seconds; they check
// that the benchmark works, not how fast the gateway is.
func quickOptions() options {
	o := defaultOptions()
	o.n, o.warmup, o.roundSize = 60, 10, 20
	o.duration, o.rounds, o.streams = 200*time.Millisecond, 1, 10
	o.events, o.eventGap, o.eventStreams = 5, time.Millisecond, 1
	o.downloadBytes, o.quick = 4<<20, true
	return o
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	d := defaultOptions()
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", d.n, "sequential POSTs per path for the c=1 latency test")
	duration := fs.Duration("duration", d.duration, "throughput run length per path per round")
	streams := fs.Int("streams", d.streams, "SSE streams held open at once for the memory test")
	rounds := fs.Int("rounds", d.rounds, "throughput and download rounds per path (the median is reported)")
	download := fs.Int64("download-mib", d.downloadBytes>>20, "size of the large response, MiB")
	gateway := fs.String("gateway", d.gateway, "the gateway binary (`make bench` builds it from ./local/gateway)")
	nginx := fs.String("nginx", "", "the nginx binary (default: nginx on PATH or /usr/sbin/nginx; \"off\" to leave it out)")
	chart := fs.String("chart", "", "also write a chart of added latency and throughput to `file` (.png or .svg)")
	quick := fs.Bool("quick", false, "small numbers everywhere (explicit flags still win), for tests and smoke runs")
	var gatewayEnv []string
	fs.Func("gateway-env", "set `NAME=VALUE` in the gateway's environment alone, e.g. GOMAXPROCS=1 (repeatable)", func(v string) error {
		gatewayEnv = append(gatewayEnv, v)
		return nil
	})
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the gateway over its first c=32 round to `file` (a binary built with -tags pprof: make bench-profile)")
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
		case "download-mib":
			o.downloadBytes = *download << 20
		}
	})
	o.gateway, o.chart = *gateway, *chart
	o.gatewayEnv, o.cpuProfile = gatewayEnv, *cpuProfile
	o.nginx = findNginx(*nginx)
	return o, o.validate()
}

// findNginx resolves the nginx binary: the flag's, else PATH's, else Debian's /usr/sbin (often
// not on a user's PATH); "" when there is none.
func findNginx(flagValue string) string {
	switch flagValue {
	case "off":
		return ""
	case "":
		if p, err := exec.LookPath("nginx"); err == nil {
			return p
		}
		if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
			return "/usr/sbin/nginx"
		}
		return ""
	}
	return flagValue
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
	case o.downloadBytes < 1<<20 || o.downloadBytes > 4<<30:
		return fmt.Errorf("-download-mib must be in [1, 4096], got %d", o.downloadBytes>>20)
	}
	for _, kv := range o.gatewayEnv {
		name, _, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			return fmt.Errorf("-gateway-env wants NAME=VALUE, got %q", kv)
		}
		if slices.Contains(benchSetEnv, name) {
			return fmt.Errorf("-gateway-env %s: the bench sets that one itself", name)
		}
	}
	if o.cpuProfile != "" {
		if st, err := os.Stat(filepath.Dir(o.cpuProfile)); err != nil || !st.IsDir() {
			return fmt.Errorf("-cpuprofile %s: its directory must exist", o.cpuProfile)
		}
		if st, err := os.Stat(o.cpuProfile); err == nil && st.IsDir() {
			return fmt.Errorf("-cpuprofile %s: a directory, not a file", o.cpuProfile)
		}
	}
	if _, err := os.Stat(o.gateway); err != nil {
		return fmt.Errorf("gateway binary: %w (build it with `go build -o bin/gateway ./local/gateway`, or run `make bench`)", err)
	}
	return nil
}
