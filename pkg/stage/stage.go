// Package stage holds the stage a service runs at: with stage N, the
// talk's problems 1..N are solved. The presenter changes it at run time.
package stage

import (
	"fmt"
	"strconv"
	"sync/atomic"
)

// Max is the last stage: every problem solved.
const Max = 6

// Stage is safe for concurrent use.
type Stage struct{ n atomic.Int32 }

// New returns a stage set to n, which must be in 0..Max.
func New(n int) (*Stage, error) {
	s := &Stage{}
	return s, s.Set(n)
}

// Parse reads a stage from configuration text; "" means Max.
func Parse(text string) (int, error) {
	if text == "" {
		return Max, nil
	}
	n, err := strconv.Atoi(text)
	if err != nil || n < 0 || n > Max {
		return 0, fmt.Errorf("stage %q: want a whole number from 0 to %d", text, Max)
	}
	return n, nil
}

// Get returns the current stage.
func (s *Stage) Get() int { return int(s.n.Load()) }

// Set changes the stage.
func (s *Stage) Set(n int) error {
	if n < 0 || n > Max {
		return fmt.Errorf("stage %d: want 0 to %d", n, Max)
	}
	s.n.Store(int32(n))
	return nil
}

// Solved reports whether problem issue (1..Max) is solved at the current stage.
func (s *Stage) Solved(issue int) bool { return s.Get() >= issue }
