package main

import "runtime"

// lambdaFullCPUMB is the memory size at which a function has one vCPU-second of CPU time per
// second (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html); below it,
// less than one. The environment still shows two CPUs from 128 to 3,008 MB, so Go would run
// two threads of goroutines on that fraction of one.
const lambdaFullCPUMB = 1769

// oneProc reports whether GOMAXPROCS should be 1 for a function of the size Lambda reports:
// below lambdaFullCPUMB. An environment serves one invocation at a time, so a second thread has
// no request of its own to run; it would only take over the goroutines the one request hands
// between (the client connection, the upstream connection, the runtime API's stream), paying a
// thread wake-up (a futex call) for each hand-off out of a CPU budget that is a fraction of one
// core. An explicit GOMAXPROCS, which the runtime has already applied, wins; so does a function
// with a vCPU or more.
func oneProc(getenv func(string) string) bool {
	mb, ok := functionMB(getenv)
	return ok && mb < lambdaFullCPUMB && getenv("GOMAXPROCS") == ""
}

// applyMaxProcs sets GOMAXPROCS to 1 when oneProc says so.
func applyMaxProcs(getenv func(string) string) {
	if oneProc(getenv) {
		runtime.GOMAXPROCS(1)
	}
}
