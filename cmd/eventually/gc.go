package main

import "runtime/debug"

// Garbage collector settings of a service process. A service's live heap
// is small (about 10 MB), so Go's default (collect when the heap doubles)
// collects very often under load: a load run spent ~18% of its CPU less
// per order with GOGC=300 (docs/performance.md). The soft memory limit
// makes the collector work harder again as the heap nears it, which keeps
// each process well under the 60 MB RSS budget.
const (
	serviceGCPercent   = 300
	serviceMemoryLimit = 40 << 20
)

// tuneGC applies them, unless GOGC or GOMEMLIMIT says otherwise.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(serviceGCPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(serviceMemoryLimit)
	}
}
