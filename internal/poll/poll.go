// Package poll is how tests and benchmarks wait for asynchronous effects:
// check a condition on a ticker until it holds or a deadline passes,
// never a fixed sleep.
package poll

import "time"

// Until checks cond every interval until it holds (true) or limit has
// passed (false).
func Until(limit, interval time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			return cond()
		case <-tick.C:
		}
	}
	return true
}
