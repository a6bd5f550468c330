package messaging

import (
	"context"
	"fmt"

	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/ThreeDotsLabs/watermill/message"

	"eventually/pkg/events"
	"eventually/pkg/requestid"
	"eventually/pkg/stream"
)

// Handle registers fn for one event. The service has its own durable
// consumer of the event's topic, so a service that was down gets what it
// missed. fn runs in a transaction with the inbox record: a redelivered
// message is acknowledged and changes nothing.
func Handle[T any, PT interface {
	*T
	events.Event
}](b *Bus, fn func(ctx context.Context, tx *Tx, ev *T) error) {
	topic := PT(new(T)).EventName()
	c := b.addConsumer(topic)
	h, err := b.handlers.AddHandler(cqrs.NewEventHandler(c.name, func(ctx context.Context, ev *T) error {
		return b.handleOnce(ctx, c.name, func(tx *Tx) error { return fn(ctx, tx, ev) })
	}))
	if err != nil {
		b.fail(fmt.Errorf("handle %s: %w", topic, err))
		return
	}
	// Checked before decoding: a message without the metadata every
	// message carries can never be processed, and goes to the poison topic.
	h.AddMiddleware(func(next message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			if err := checkMetadata(msg, topic); err != nil {
				return nil, err
			}
			return next(msg)
		}
	})
}

// HandleEvery registers fn for every message of a topic as it is,
// undecoded, the poison ones too: for a watcher that stores what it sees.
// There is no inbox: fn's effect must itself be once per message UUID
// (e.g. a row keyed by it, inserted if absent), and fn publishes nothing.
func (b *Bus) HandleEvery(topic string, fn func(ctx context.Context, msg stream.Message) error) {
	c := b.addConsumer(topic)
	b.router.AddConsumerHandler(c.name, topic, b.subscriber(topic), func(msg *message.Message) error {
		if err := fn(msg.Context(), stream.FromWatermill(topic, msg)); err != nil {
			return fmt.Errorf("%s: message %s: %w", c.name, msg.UUID, err)
		}
		if b.cfg.OnCommit != nil {
			b.cfg.OnCommit()
		}
		return nil
	})
}

func (b *Bus) addConsumer(topic string) consumer {
	c := consumer{name: b.cfg.Service + " on " + topic, topic: topic, durable: stream.DurableName(b.cfg.Service, topic)}
	b.consumes = append(b.consumes, c)
	return c
}

// fail keeps the first registration error for Run to return.
func (b *Bus) fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

// withRequestContext gives a handler the request ID to log with and to
// pass on: the message's correlation_id, unless it is not a sane one.
func (b *Bus) withRequestContext(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		ctx := requestid.With(msg.Context(), requestid.OrNew(msg.Metadata.Get(CorrelationIDKey)))
		if b.cfg.BeforeHandle != nil {
			ctx = b.cfg.BeforeHandle(ctx)
		}
		msg.SetContext(ctx)
		return h(msg)
	}
}

// subscriber is the subscriber of the service's durable consumer of
// topic. The router subscribes when it runs, after Run connected, so it
// is made then: a handler is registered before there is a connection.
func (b *Bus) subscriber(topic string) message.Subscriber {
	return lazySubscriber{bus: b, durable: stream.DurableName(b.cfg.Service, topic)}
}

type lazySubscriber struct {
	bus     *Bus
	durable string
}

func (s lazySubscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	sub, err := stream.NewSubscriber(s.bus.conn, stream.Name, s.durable, s.bus.wmLogger)
	if err != nil {
		return nil, fmt.Errorf("subscribe %s: %w", s.durable, err)
	}
	// The router closes subscribers it knows at shutdown; this one is
	// closed with the subscription's context instead.
	context.AfterFunc(ctx, func() { _ = sub.Close() })
	return sub.Subscribe(ctx, topic)
}

func (lazySubscriber) Close() error { return nil }
