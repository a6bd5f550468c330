package messaging

import (
	"context"
	"fmt"
	"sync"

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
	contract, _ := b.contract(topic) // checked against the catalogue by Run
	h.AddMiddleware(func(next message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			if err := checkMetadata(msg, contract); err != nil {
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
// topic. The router subscribes when it runs, after Run connected, so the
// real one is made then: a handler is registered before there is a broker.
func (b *Bus) subscriber(topic string) message.Subscriber {
	return &lazySubscriber{bus: b, durable: stream.DurableName(b.cfg.Service, topic)}
}

type lazySubscriber struct {
	bus     *Bus
	durable string
	mu      sync.Mutex
	sub     *stream.Subscriber
}

func (s *lazySubscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	sub := stream.NewSubscriber(s.bus.conn, stream.Name, s.durable, s.bus.cfg.InFlight)
	s.mu.Lock()
	s.sub = sub
	s.mu.Unlock()
	return sub.Subscribe(ctx, topic)
}

func (s *lazySubscriber) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sub == nil {
		return nil
	}
	return s.sub.Close()
}
