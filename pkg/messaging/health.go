package messaging

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"eventually/pkg/stream"
)

// Health says whether the service takes part in the message flow: nil
// when its broker connection, the stream and each of its durable
// consumers are usable, else what is wrong. It is the last answer of a
// check that runs every second (watch), so it costs nothing to ask.
func (b *Bus) Health() error {
	if err := b.health.Load(); err != nil {
		return *err
	}
	return errNotRunning
}

var errNotRunning = errors.New("not connected to the broker yet")

// watchEvery is how often the readiness check runs.
const watchEvery = time.Second

// watch runs the readiness check until ctx is done.
func (b *Bus) watch(ctx context.Context) {
	t := time.NewTicker(watchEvery)
	defer t.Stop()
	var reported error // the last reason logged; none while starting
	for {
		err := b.check(ctx)
		b.health.Store(&err)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && b.subscribed.Load() && (reported == nil || err.Error() != reported.Error()):
			b.cfg.Logger.Warn("not ready", "reason", err)
			reported = err
		case err == nil && reported != nil:
			b.cfg.Logger.Info("ready again")
			reported = nil
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-b.checkNow:
		}
	}
}

// setSubscribed records that the consumers run, and has watch check at
// once rather than at its next tick: a service is ready as soon as it is.
func (b *Bus) setSubscribed() {
	b.subscribed.Store(true)
	select {
	case b.checkNow <- struct{}{}:
	default:
	}
}

// check looks at the broker connection, the stream and the durable
// consumers. A consumer that was deleted (by an operator, or with its
// stream) is created again: until then the service would silently stop
// receiving its events.
func (b *Bus) check(ctx context.Context) error {
	if status := b.conn.Status(); status != nats.CONNECTED {
		return fmt.Errorf("no connection to the broker (%s)", status)
	}
	if !b.subscribed.Load() {
		return errors.New("consumers not subscribed yet")
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := stream.Check(ctx, b.conn); err != nil {
		return err
	}
	for _, c := range b.consumes {
		created, err := stream.EnsureConsumer(ctx, b.conn, stream.Name, c.durable, c.topic, b.cfg.MaxDeliveries)
		if err != nil {
			return err
		}
		if created {
			b.cfg.Logger.Warn("durable consumer was missing: created it again", "consumer", c.durable)
			return fmt.Errorf("consumer %s was missing (created again)", c.durable)
		}
	}
	return nil
}

// ErrNotConnected is why the bus cannot answer what only the broker
// knows: Run has not connected yet.
var ErrNotConnected = errors.New("not connected to the broker yet")

// Consumers are the durable consumers of a service ("" for every
// service) and what they have left to do, asked over the bus's own
// connection rather than a new one per question.
func (b *Bus) Consumers(ctx context.Context, service string) ([]stream.Consumer, error) {
	conn := b.metrics.conn.Load()
	if conn == nil {
		return nil, ErrNotConnected
	}
	return stream.ConsumersOn(ctx, conn, service)
}
