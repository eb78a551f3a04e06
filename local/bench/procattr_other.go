//go:build !linux

package main

import "os/exec"

// setParentDeathSignal has no equivalent here; the benchmark needs /proc (Linux) anyway.
func setParentDeathSignal(*exec.Cmd) {}
