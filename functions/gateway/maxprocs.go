package main

import (
	"runtime"
	"strconv"
)

// lambdaFullCPUMB is the memory size at which a function has one vCPU-second of CPU time per
// second (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html); below it,
// less than one. The environment still shows two CPUs from 128 to 3,008 MB, so Go would run
// two threads of goroutines on that fraction of one.
const lambdaFullCPUMB = 1769

// maxProcs is GOMAXPROCS for a function of the size Lambda reports in
// AWS_LAMBDA_FUNCTION_MEMORY_SIZE: 1 below lambdaFullCPUMB. An environment serves one
// invocation at a time, so a second thread has no request of its own to run; it would only take
// over the goroutines the one request hands between (the client connection, the upstream
// connection, the runtime API's stream), paying a thread wake-up (a futex call) for each hand-off
// out of a CPU budget that is a fraction of one core. An explicit GOMAXPROCS, which the runtime
// has already applied, wins; so does a function with a vCPU or more. ok is false when there is
// nothing to set.
func maxProcs(getenv func(string) string) (n int, ok bool) {
	if getenv("GOMAXPROCS") != "" {
		return 0, false
	}
	mb, err := strconv.Atoi(getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"))
	if err != nil || mb <= 0 || mb >= lambdaFullCPUMB {
		return 0, false
	}
	return 1, true
}

// applyMaxProcs sets maxProcs, if any.
func applyMaxProcs(getenv func(string) string) {
	if n, ok := maxProcs(getenv); ok {
		runtime.GOMAXPROCS(n)
	}
}
