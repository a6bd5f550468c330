package messaging

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"gorm.io/gorm"

	"eventually/internal/poll"
	"eventually/pkg/broker"
	"eventually/pkg/events"
	"eventually/pkg/logging"
	"eventually/pkg/sqlite"
	"eventually/pkg/stream"
)

// testBus is one service's bus on its own database, running until stopped.
type testBus struct {
	*Bus
	db   *gorm.DB
	stop func()
}

func startTestBus(t *testing.T, brokerURL, dbPath, service string, register func(*Bus)) *testBus {
	t.Helper()
	db, err := sqlite.Open(dbPath, Models()...)
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(Config{Service: service, BrokerURL: brokerURL, Store: GormStore{DB: db}, Logger: logging.Discard(),
		Catalogue: testCatalogue, MaxDeliveries: testMaxDeliveries})
	if err != nil {
		t.Fatal(err)
	}
	register(b)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	waitFor(t, "bus ready", ready(b))
	tb := &testBus{Bus: b, db: db}
	tb.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s: %v", service, err)
		}
		sqlite.Close(db)
	}
	return tb
}

// ready is whether b takes part in the message flow.
func ready(b *Bus) func() bool { return func() bool { return b.Health() == nil } }

// startProducer starts the bus that publishes settings.changed.
func startProducer(t *testing.T, dir, brokerURL string) *testBus {
	t.Helper()
	return startTestBus(t, brokerURL, filepath.Join(dir, "producer.db"), "producer", func(*Bus) {})
}

// onSettings registers fn as the consumer's settings.changed handler.
func onSettings(fn func(ctx context.Context, ev *events.SettingsChanged) error) func(*Bus) {
	return func(b *Bus) {
		Handle(b, func(ctx context.Context, _ *Tx, ev *events.SettingsChanged) error { return fn(ctx, ev) })
	}
}

// versionsSeen records the settings versions a consumer handled, in order.
type versionsSeen struct {
	mu   sync.Mutex
	seen []int64
}

// consume registers the recording handler on b.
func (v *versionsSeen) consume(b *Bus) {
	Handle(b, func(ctx context.Context, tx *Tx, ev *events.SettingsChanged) error {
		v.mu.Lock()
		defer v.mu.Unlock()
		v.seen = append(v.seen, ev.Version)
		return nil
	})
}

func (v *versionsSeen) now() []int64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.seen)
}

// testMaxDeliveries keeps a test of a message that always fails short:
// deliveries come 1 s, then 2 s apart.
const testMaxDeliveries = 3

// testCatalogue is who produces and consumes what among the test buses.
var testCatalogue = []events.Contract{
	{Name: events.NameSettingsChanged, Producer: "producer", Consumers: []string{"consumer"}},
	{Name: events.NameOrderFinalized, Producer: "bench", Consumers: []string{"bench"}},
}

// startTestBroker starts a broker in a temp dir, shut down when the test ends.
func startTestBroker(tb testing.TB) (string, *broker.Broker) {
	tb.Helper()
	dir := tb.TempDir()
	b, err := broker.Start("127.0.0.1:0", dir)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(b.Shutdown)
	return dir, b
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if !poll.Until(15*time.Second, 5*time.Millisecond, cond) {
		t.Fatalf("timed out waiting for %s", what)
	}
}

func publishSettings(t *testing.T, b *Bus, version int64) {
	t.Helper()
	err := b.Transaction(context.Background(), func(tx *Tx) error {
		return tx.Publish(&events.SettingsChanged{Settings: events.Settings{GUID: "g", Version: version}})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A consumer that restarts gets what it missed and nothing old again,
// even with an empty inbox: its durable consumer survived the restart.
func TestDurableConsumerSurvivesRestart(t *testing.T) {
	dir, broker := startTestBroker(t)
	producer := startProducer(t, dir, broker.URL())
	defer producer.stop()

	var handled versionsSeen
	consume, seenNow := handled.consume, handled.now
	first := startTestBus(t, broker.URL(), filepath.Join(dir, "consumer-1.db"), "consumer", consume)
	for v := int64(1); v <= 3; v++ {
		publishSettings(t, producer.Bus, v)
	}
	waitFor(t, "three handled", func() bool { return len(seenNow()) == 3 })
	first.stop()

	publishSettings(t, producer.Bus, 4)
	publishSettings(t, producer.Bus, 5)
	// A fresh database: an inbox cannot hide a redelivery of the old ones.
	second := startTestBus(t, broker.URL(), filepath.Join(dir, "consumer-2.db"), "consumer", consume)
	defer second.stop()
	publishSettings(t, producer.Bus, 6)
	// The stream is delivered in order: once 6 is handled, anything old
	// that came back would have been handled before it.
	waitFor(t, "version 6 handled", func() bool { return slices.Contains(seenNow(), 6) })
	if got := seenNow(); !slices.Equal(got, []int64{1, 2, 3, 4, 5, 6}) {
		t.Fatalf("handled versions %v, want 1..6 once each: old ones came back or some were missed", got)
	}
}

// A transient error is retried with backoff and the message is handled
// once; it is not sent to the poison topic.
func TestTransientErrorIsRetried(t *testing.T) {
	dir, broker := startTestBroker(t)
	var attempts, committed atomic.Int64
	consumer := startTestBus(t, broker.URL(), filepath.Join(dir, "consumer.db"), "consumer", onSettings(func(ctx context.Context, ev *events.SettingsChanged) error {
		if attempts.Add(1) < 3 {
			return errors.New("database is locked") // transient: try again
		}
		committed.Add(1)
		return nil
	}))
	defer consumer.stop()
	producer := startProducer(t, dir, broker.URL())
	defer producer.stop()
	publishSettings(t, producer.Bus, 7)
	waitFor(t, "handled after retries", func() bool { return committed.Load() == 1 })
	var inbox int64
	consumer.db.Model(&ProcessedMessage{}).Count(&inbox)
	if attempts.Load() != 3 || inbox != 1 {
		t.Fatalf("attempts %d, inbox %d: want 3 attempts and one recorded message", attempts.Load(), inbox)
	}
}

// The relay marks what it published within markDelay, and on a clean stop
// marks the rest, so a restart publishes nothing again.
func TestRelayMarksPublished(t *testing.T) {
	dir, broker := startTestBroker(t)
	producer := startProducer(t, dir, broker.URL())
	pending := func() int64 {
		var n int64
		if err := producer.db.Model(&OutboxMessage{}).Where("published_at IS NULL").Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n
	}
	for v := int64(1); v <= 5; v++ {
		publishSettings(t, producer.Bus, v)
	}
	waitFor(t, "five marked published", func() bool { return pending() == 0 })
	publishSettings(t, producer.Bus, 6)
	waitFor(t, "version 6 on the broker", func() bool {
		n, err := stream.Count(context.Background(), broker.URL(), events.NameSettingsChanged)
		return err == nil && n == 6
	})
	// The broker stores a message before the relay has its ack; only a
	// message the relay knows is published is one it can mark.
	published := producer.metrics.relayed.WithLabelValues(events.NameSettingsChanged, "published")
	waitFor(t, "the relay's ack of version 6", func() bool { return testutil.ToFloat64(published) == 6 })
	producer.stop() // closes its database: read it afresh
	db, err := sqlite.Open(filepath.Join(dir, "producer.db"), Models()...)
	if err != nil {
		t.Fatal(err)
	}
	defer sqlite.Close(db)
	var n int64
	if err := db.Model(&OutboxMessage{}).Where("published_at IS NULL").Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d outbox messages left unmarked after a clean stop", n)
	}
}

// A handler that keeps failing for a passing reason is not poisoned while
// deliveries are left: the broker delivers the message again, after a
// backoff. After the last delivery it is poisoned, saying how often.
func TestTransientFailurePoisonedOnlyAfterTheLastDelivery(t *testing.T) {
	dir, broker := startTestBroker(t)
	var attempts atomic.Int64
	consumer := startTestBus(t, broker.URL(), filepath.Join(dir, "consumer.db"), "consumer", onSettings(func(ctx context.Context, ev *events.SettingsChanged) error {
		attempts.Add(1)
		return errors.New("disk I/O error") // transient, every time
	}))
	defer consumer.stop()
	producer := startProducer(t, dir, broker.URL())
	defer producer.stop()
	publishSettings(t, producer.Bus, 1)

	poisoned := func() []stream.Message {
		msgs, err := stream.Read(context.Background(), broker.URL(), PoisonTopic)
		if err != nil {
			t.Fatal(err)
		}
		return msgs
	}
	waitFor(t, "a second delivery", func() bool { return attempts.Load() >= 3 }) // 2 in place, then redelivered
	if n := len(poisoned()); n != 0 {
		t.Fatalf("%d poisoned while deliveries were left", n)
	}
	waitFor(t, "poisoned after the last delivery", func() bool { return len(poisoned()) == 1 })
	reason := poisoned()[0].Metadata[PoisonReasonKey]
	if !strings.Contains(reason, "3 deliveries") || !strings.Contains(reason, "disk I/O error") {
		t.Fatalf("poison reason %q: want the delivery count and the last error", reason)
	}
	if got := attempts.Load(); got != 2*testMaxDeliveries {
		t.Fatalf("%d attempts, want %d (2 per delivery)", got, 2*testMaxDeliveries)
	}
}

// A handler interrupted by shutdown sends nothing to the poison topic: the
// message is delivered again after the restart.
func TestShutdownPoisonsNothing(t *testing.T) {
	dir, broker := startTestBroker(t)
	started := make(chan struct{}, 1)
	consumer := startTestBus(t, broker.URL(), filepath.Join(dir, "consumer.db"), "consumer", onSettings(func(ctx context.Context, ev *events.SettingsChanged) error {
		select {
		case started <- struct{}{}:
		default:
		}
		<-ctx.Done() // a handler still working when the service stops
		return ctx.Err()
	}))
	producer := startProducer(t, dir, broker.URL())
	defer producer.stop()
	publishSettings(t, producer.Bus, 1)
	waitFor(t, "the handler running", func() bool { return len(started) == 1 })
	consumer.stop()
	// The producer's relay is idle: anything on the poison topic now came
	// from the consumer's shutdown.
	if n, err := stream.Count(context.Background(), broker.URL(), PoisonTopic); err != nil || n != 0 {
		t.Fatalf("%d poisoned at shutdown (%v), want none", n, err)
	}
}

// With StartAtEnd a restarted consumer gets nothing of what was published
// while it was stopped, and what comes after; without it, everything.
func TestStartAtEndSkipsWhatWasMissed(t *testing.T) {
	dir, broker := startTestBroker(t)
	producer := startProducer(t, dir, broker.URL())
	defer producer.stop()
	var handled versionsSeen
	consume, seenNow := handled.consume, handled.now
	first := startTestBus(t, broker.URL(), filepath.Join(dir, "consumer.db"), "consumer", consume)
	publishSettings(t, producer.Bus, 1)
	waitFor(t, "1 handled", func() bool { return len(seenNow()) == 1 })
	first.stop()
	publishSettings(t, producer.Bus, 2) // while the consumer is stopped
	waitFor(t, "2 on the broker", func() bool {
		n, err := stream.Count(context.Background(), broker.URL(), events.NameSettingsChanged)
		return err == nil && n == 2
	})
	second := startTestBus(t, broker.URL(), filepath.Join(dir, "consumer.db"), "consumer", func(b *Bus) {
		b.cfg.StartAtEnd = func() bool { return true }
		consume(b)
	})
	defer second.stop()
	publishSettings(t, producer.Bus, 3)
	waitFor(t, "3 handled", func() bool { return slices.Contains(seenNow(), 3) })
	if got := seenNow(); !slices.Equal(got, []int64{1, 3}) {
		t.Fatalf("handled %v, want 1 and 3: what was published while stopped is skipped", got)
	}
}

// A message poisoned for a cause that is later fixed is handled once when
// the poison topic is replayed, and once only however often it is replayed.
func TestReplayPoisonHandlesOnceAfterTheFix(t *testing.T) {
	dir, broker := startTestBroker(t)
	var broken atomic.Bool
	broken.Store(true)
	var handled atomic.Int64
	consumer := startTestBus(t, broker.URL(), filepath.Join(dir, "consumer.db"), "consumer", onSettings(func(ctx context.Context, ev *events.SettingsChanged) error {
		if broken.Load() {
			return errors.New("disk I/O error")
		}
		handled.Add(1)
		return nil
	}))
	defer consumer.stop()
	producer := startProducer(t, dir, broker.URL())
	defer producer.stop()
	publishSettings(t, producer.Bus, 1)
	waitFor(t, "poisoned after the last delivery", func() bool {
		n, err := stream.Count(context.Background(), broker.URL(), PoisonTopic)
		return err == nil && n == 1
	})

	broken.Store(false) // the cause is fixed
	for range 2 {
		n, err := ReplayPoison(context.Background(), broker.URL())
		if err != nil || n != 1 {
			t.Fatalf("replay: %d sent again, %v", n, err)
		}
	}
	waitFor(t, "handled after the replay", func() bool { return handled.Load() == 1 })
	waitFor(t, "the replays acknowledged", func() bool {
		cs, err := stream.Consumers(context.Background(), broker.URL(), "consumer")
		return err == nil && len(cs) == 1 && cs[0].Pending == 0 && cs[0].AckPending == 0
	})
	if got := handled.Load(); got != 1 {
		t.Fatalf("handled %d times after two replays, want once", got)
	}
}
