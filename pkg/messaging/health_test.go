package messaging

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"eventually/internal/poll"
	"eventually/pkg/events"
	"eventually/pkg/stream"
)

// A deleted durable consumer is noticed (not ready), created again (ready
// again), and the service goes on receiving.
func TestDeletedConsumerIsNoticedAndCreatedAgain(t *testing.T) {
	dir, broker := startTestBroker(t)
	var handled versionsSeen
	consumer := startTestBus(t, broker.URL(), filepath.Join(dir, "consumer.db"), "consumer", handled.consume)
	defer consumer.stop()
	producer := startProducer(t, dir, broker.URL())
	defer producer.stop()

	if err := stream.DeleteConsumer(context.Background(), broker.URL(), stream.DurableName("consumer", events.NameSettingsChanged)); err != nil {
		t.Fatal(err)
	}
	if !poll.Until(5*time.Second, 10*time.Millisecond, func() bool { return consumer.Health() != nil }) {
		t.Fatal("a deleted consumer went unnoticed for 5 s")
	}
	if !poll.Until(5*time.Second, 10*time.Millisecond, func() bool { return consumer.Health() == nil }) {
		t.Fatalf("not ready again within 5 s: %v", consumer.Health())
	}
	publishSettings(t, producer.Bus, 1)
	waitFor(t, "the change handled through the consumer created again", func() bool {
		return slices.Contains(handled.now(), 1)
	})
}

// With the broker gone the bus is not ready, and says why.
func TestBrokerDownIsNotReady(t *testing.T) {
	dir, broker := startTestBroker(t)
	consumer := startTestBus(t, broker.URL(), filepath.Join(dir, "consumer.db"), "consumer", func(b *Bus) {
		Handle(b, func(context.Context, *Tx, *events.SettingsChanged) error { return nil })
	})
	defer consumer.stop()
	broker.Shutdown()
	if !poll.Until(5*time.Second, 10*time.Millisecond, func() bool { return consumer.Health() != nil }) {
		t.Fatal("still ready 5 s after the broker stopped")
	}
	t.Logf("not ready: %v", consumer.Health())
}
