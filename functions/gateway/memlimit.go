package main

import (
	"runtime/debug"
	"strconv"
)

// softMemoryLimit is the Go runtime's soft memory limit for a function of the size Lambda
// reports in AWS_LAMBDA_FUNCTION_MEMORY_SIZE (MB, set in every Lambda environment:
// https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime):
// three quarters of it. Without a limit the heap may grow to twice its live size before a
// collection (GOGC=100), and a function near its size is killed (Runtime.OutOfMemory) where a
// collection would have saved it: a buffered response of up to 6 MB and its copies, a burst of
// guardrail or metering buffers. The quarter left over is for what the limit does not count
// (the binary's code pages, the kernel's socket buffers). Far below the limit (a call's heap is
// a few MiB) the collector runs exactly as without one, so it costs no CPU (README
// "Performance"). An explicit GOMEMLIMIT, which the runtime has already applied, wins; ok is
// false when there is nothing to set.
func softMemoryLimit(getenv func(string) string) (limit int64, ok bool) {
	if getenv("GOMEMLIMIT") != "" {
		return 0, false
	}
	mb, ok := functionMB(getenv)
	if !ok {
		return 0, false
	}
	return mb << 20 / 4 * 3, true
}

// functionMB is the function's memory size, MB, as Lambda reports it in
// AWS_LAMBDA_FUNCTION_MEMORY_SIZE; ok is false off Lambda (or for a value that is no size).
func functionMB(getenv func(string) string) (mb int64, ok bool) {
	mb, err := strconv.ParseInt(getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), 10, 64)
	return mb, err == nil && mb > 0
}

// applySoftMemoryLimit sets softMemoryLimit, if any.
func applySoftMemoryLimit(getenv func(string) string) {
	if limit, ok := softMemoryLimit(getenv); ok {
		debug.SetMemoryLimit(limit)
	}
}
