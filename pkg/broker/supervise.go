package broker

import (
	"fmt"
	"log/slog"
	"strings"
	"syscall"
	"time"
)

// Option configures the embedded broker.
type Option func(*Broker)

// WithLogger sends the server's notices, warnings and errors to logger
// (its debug and trace lines stay off).
func WithLogger(logger *slog.Logger) Option {
	return func(b *Broker) { b.logger = logger }
}

// WithMonitor opens the server's HTTP monitoring port (/varz, /jsz, ...)
// at addr ("host:port"); empty leaves it closed.
func WithMonitor(addr string) Option {
	return func(b *Broker) { b.monitorAddr = addr }
}

// superviseEvery is how often the broker looks at its store.
const superviseEvery = time.Second

// minFreeBytes is the space the store must have again before a restart.
const minFreeBytes = 4 << 20

// supervise restarts the server once its store, which ran out of space,
// has space again. nats-server marks a stream that failed to write for
// want of space as failed (or turns JetStream off) and does not recover
// by itself when space comes back: every publish would fail until a
// restart. Clients reconnect by themselves.
func (b *Broker) supervise() {
	defer close(b.supervised)
	t := time.NewTicker(superviseEvery)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
		}
		srv := b.server()
		if !b.storeFailed.Load() && srv.JetStreamEnabled() {
			continue
		}
		if free, err := freeBytes(b.opts.StoreDir); err != nil || free < minFreeBytes {
			continue // still full: wait
		}
		b.logger.Warn("broker: its store ran out of space and has space again: restarting to recover it")
		srv.Shutdown()
		srv.WaitForShutdown()
		b.storeFailed.Store(false)
		if err := b.start(); err != nil {
			b.logger.Error("broker: restart failed, trying again", "error", err)
			continue
		}
		b.logger.Info("broker: restarted, JetStream is on")
	}
}

// freeBytes is the space left for an unprivileged writer under dir.
func freeBytes(dir string) (uint64, error) {
	var fs syscall.Statfs_t
	if err := syscall.Statfs(dir, &fs); err != nil {
		return 0, err
	}
	return fs.Bavail * uint64(fs.Bsize), nil
}

// serverLog is nats-server's logger on slog. It also notices the store
// failing for want of space, for supervise.
type serverLog struct{ b *Broker }

func (l serverLog) Noticef(format string, v ...any) {
	l.b.logger.Debug("broker: " + fmt.Sprintf(format, v...))
}
func (l serverLog) Warnf(format string, v ...any) {
	l.b.logger.Warn("broker: " + fmt.Sprintf(format, v...))
}
func (l serverLog) Fatalf(format string, v ...any) { l.Errorf(format, v...) }
func (l serverLog) Debugf(string, ...any)          {}
func (l serverLog) Tracef(string, ...any)          {}

func (l serverLog) Errorf(format string, v ...any) {
	line := fmt.Sprintf(format, v...)
	if strings.Contains(line, "no space left on device") || strings.Contains(line, "out of resources") {
		l.b.storeFailed.Store(true)
	}
	l.b.logger.Error("broker: " + line)
}
