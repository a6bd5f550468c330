package server

import (
	_ "embed"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

//go:embed assets/live.js
var liveJS []byte

// Live tells a service's open pages that the data behind them changed, so
// they refresh themselves during a talk. A page long-polls
// /api/changes?since=N and re-renders its live parts when N moves on.
type Live struct {
	mu      sync.Mutex
	version uint64
	changed chan struct{}
}

// NewLive returns a Live at version 1.
func NewLive() *Live { return &Live{version: 1, changed: make(chan struct{})} }

// Changed records a change and wakes every waiting page.
func (l *Live) Changed() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.version++
	close(l.changed)
	l.changed = make(chan struct{})
}

func (l *Live) current() (uint64, chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.version, l.changed
}

// handle answers at once when the caller's version is old, else waits for
// the next change (at most 25 s, under common proxy timeouts).
func (l *Live) handle(c echo.Context) error {
	since, _ := strconv.ParseUint(c.QueryParam("since"), 10, 64)
	version, changed := l.current()
	if version == since {
		timer := time.NewTimer(25 * time.Second)
		defer timer.Stop()
		select {
		case <-changed:
		case <-timer.C:
		case <-c.Request().Context().Done():
			return nil
		}
		version, _ = l.current()
	}
	return c.JSON(http.StatusOK, map[string]uint64{"version": version})
}
