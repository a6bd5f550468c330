package messaging

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"eventually/internal/poll"
	"eventually/pkg/events"
	"eventually/pkg/logging"
	"eventually/pkg/sqlite"
)

// benchBus is a bus on an embedded broker and a SQLite database, both in
// a temp dir, as a service has them.
func benchBus(b *testing.B) (*Bus, *gorm.DB) {
	b.Helper()
	dir, broker := startTestBroker(b)
	db, err := sqlite.Open(filepath.Join(dir, "bench.db"), Models()...)
	if err != nil {
		b.Fatal(err)
	}
	bus, err := New(Config{Service: "bench", BrokerURL: broker.URL(), Store: GormStore{DB: db}, Logger: logging.Discard(), Catalogue: testCatalogue})
	if err != nil {
		b.Fatal(err)
	}
	return bus, db
}

// run runs the bus until the benchmark ends.
func run(b *testing.B, bus *Bus) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := bus.Run(ctx); err != nil {
			b.Error(err)
		}
	}()
	b.Cleanup(func() {
		cancel()
		<-done
	})
}

func finalizedEvent() *events.OrderFinalized {
	return &events.OrderFinalized{OrderGUID: "order-" + uuid.NewString()[:8], CartGUID: "cart-bench"}
}

func publishOne(b *testing.B, bus *Bus) {
	err := bus.Transaction(context.Background(), func(tx *Tx) error { return tx.Publish(finalizedEvent()) })
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkOutboxWriteAndRelay commits b.N transactions of one event each
// and waits until the relay has published them all: the producer's cost
// per event, outbox to broker.
func BenchmarkOutboxWriteAndRelay(b *testing.B) {
	bus, db := benchBus(b)
	run(b, bus)
	b.ResetTimer()
	for range b.N {
		publishOne(b, bus)
	}
	drained := poll.Until(time.Minute, time.Millisecond, func() bool {
		var pending int64
		if err := db.Model(&OutboxMessage{}).Where("published_at IS NULL").Count(&pending).Error; err != nil {
			b.Fatal(err)
		}
		return pending == 0
	})
	if !drained {
		b.Fatal("the relay did not drain the outbox within a minute")
	}
}

// BenchmarkInboxCheck records a new message ID in the inbox in its own
// transaction, as every handled message does.
func BenchmarkInboxCheck(b *testing.B) {
	bus, _ := benchBus(b)
	b.ResetTimer()
	for b.Loop() {
		err := bus.cfg.Store.Transaction(context.Background(), func(tx *gorm.DB) error {
			first, err := bus.cfg.Store.FirstDelivery(tx, "bench on order.finalized", uuid.NewString())
			if err == nil && !first {
				b.Fatal("a new message ID was seen as a duplicate")
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHop is one full hop, one message at a time: commit with the
// event in the outbox, relay to the broker, deliver to a durable consumer,
// handle in a transaction with the inbox, ack. ns/op is the hop's latency.
func BenchmarkHop(b *testing.B) {
	benchHops(b, 1)
}

// BenchmarkHopThroughput is the same hop with 64 events in flight at once:
// ns/op is the hop's cost when the relay and the consumer can batch.
func BenchmarkHopThroughput(b *testing.B) {
	benchHops(b, 64)
}

func benchHops(b *testing.B, inFlight int) {
	bus, _ := benchBus(b)
	var handled atomic.Int64
	Handle(bus, func(ctx context.Context, tx *Tx, ev *events.OrderFinalized) error {
		handled.Add(1)
		return nil
	})
	run(b, bus)
	if !poll.Until(time.Minute, time.Millisecond, ready(bus)) {
		b.Fatal("bus not ready within a minute")
	}
	b.ResetTimer()
	waitHandled := func(n int) {
		if !poll.Until(time.Minute, 50*time.Microsecond, func() bool { return int(handled.Load()) >= n }) {
			b.Fatalf("%d messages not handled within a minute", n)
		}
	}
	for i := range b.N {
		publishOne(b, bus)
		waitHandled(i - inFlight + 1)
	}
	waitHandled(b.N)
}
