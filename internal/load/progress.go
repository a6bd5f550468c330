package load

import (
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"
)

// progress draws a bar of finalized orders on one terminal line.
type progress struct {
	w     io.Writer
	total int
	done  *atomic.Int64
	start time.Time
	stop  chan struct{}
	ended chan struct{}
}

// startProgress redraws every 200 ms until end is called; w nil draws nothing.
func startProgress(w io.Writer, total int, done *atomic.Int64) *progress {
	p := &progress{w: w, total: total, done: done, start: time.Now(), stop: make(chan struct{}), ended: make(chan struct{})}
	go func() {
		defer close(p.ended)
		if w == nil {
			<-p.stop
			return
		}
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-p.stop:
				p.draw()
				fmt.Fprintln(w)
				return
			case <-tick.C:
				p.draw()
			}
		}
	}()
	return p
}

func (p *progress) draw() {
	const width = 40
	n := int(p.done.Load())
	filled := width * n / max(p.total, 1)
	rate := perSecond(n, time.Since(p.start))
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d orders finalized  %.0f/s ",
		strings.Repeat("=", filled), strings.Repeat(" ", width-filled), n, p.total, rate)
}

func (p *progress) end() {
	close(p.stop)
	<-p.ended
}
