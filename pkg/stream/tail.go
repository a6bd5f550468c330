package stream

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
func Tail(ctx context.Context, brokerURL string, topics []string, fn func(Message)) (stop func(), err error) {
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
	stream, err := js.Stream(ctx, Name)
	if err != nil {
		return fail(fmt.Errorf("stream %s: %w", Name, err))
	}
	consumer, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: topics,
		DeliverPolicy:  jetstream.DeliverNewPolicy,
	})
	if err != nil {
		return fail(fmt.Errorf("consumer: %w", err))
	}
	consuming, err := consumer.Consume(func(m jetstream.Msg) {
		msg, err := decode(&nats.Msg{Subject: m.Subject(), Reply: m.Reply(), Header: m.Headers(), Data: m.Data()})
		if err != nil {
			return // not a message of this system: nothing to watch
		}
		fn(msg)
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
