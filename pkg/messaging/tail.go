package messaging

import (
	"context"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Tail calls fn with every message published to the given topics from now
// on, in stream order, until ctx is done or the returned stop is called.
// It is for tools that watch the system from outside (the load driver):
// an ordered consumer, ephemeral and unacknowledged, so the services'
// durable consumers are left alone. Tail returns once the consumer is
// subscribed, so nothing published after it returns is missed.
func Tail(ctx context.Context, brokerURL string, topics []string, fn func(Replayed)) (stop func(), err error) {
	nc, err := nats.Connect(brokerURL, nats.Name("tail"))
	if err != nil {
		return nil, fmt.Errorf("tail: connect to %s: %w", brokerURL, err)
	}
	fail := func(err error) (func(), error) {
		nc.Close()
		return nil, fmt.Errorf("tail: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return fail(err)
	}
	stream, err := js.Stream(ctx, StreamName)
	if err != nil {
		return fail(fmt.Errorf("stream %s: %w", StreamName, err))
	}
	consumer, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: topics,
		DeliverPolicy:  jetstream.DeliverNewPolicy,
	})
	if err != nil {
		return fail(fmt.Errorf("consumer: %w", err))
	}
	consuming, err := consumer.Consume(func(m jetstream.Msg) {
		meta, err := m.Metadata()
		if err != nil {
			return
		}
		msg, err := decodeStored(m)
		if err != nil {
			return
		}
		fn(Replayed{Message: msg, Topic: m.Subject(), Sequence: meta.Sequence.Stream, StoredAt: meta.Timestamp})
	})
	if err != nil {
		return fail(fmt.Errorf("consume: %w", err))
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			consuming.Stop()
			nc.Close()
		})
	}
	context.AfterFunc(ctx, stop)
	return stop, nil
}
