package messaging

import (
	"context"
	"fmt"
	"slices"

	"github.com/ThreeDotsLabs/watermill"
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

// handleOnce runs fn in a transaction that first records the message in
// the inbox; a message already recorded changes nothing.
func (b *Bus) handleOnce(ctx context.Context, consumer string, fn func(tx *Tx) error) error {
	msg := cqrs.OriginalMessageFromCtx(ctx)
	duplicate := false
	err := b.Transaction(ctx, func(tx *Tx) error {
		first, err := b.cfg.Store.FirstDelivery(tx.DB, consumer, msg.UUID)
		if err != nil || !first {
			duplicate = !first
			return err
		}
		return fn(tx)
	})
	if err != nil {
		return fmt.Errorf("%s: message %s: %w", consumer, msg.UUID, err)
	}
	if duplicate {
		b.cfg.Logger.InfoContext(ctx, "message already processed, acknowledged again",
			"consumer", consumer, "message_uuid", msg.UUID)
	}
	return nil
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

// checkCatalogue compares what the service registered with what the
// catalogue says it consumes: a handler the catalogue does not list, or a
// listed event without a handler, is a mistake to catch at start-up.
func (b *Bus) checkCatalogue() error {
	var registered []string
	for _, c := range b.consumes {
		registered = append(registered, c.topic)
		if c.topic == stream.PoisonTopic {
			continue // not an event: anyone may watch it
		}
		contract, ok := b.contract(c.topic)
		if !ok || !slices.Contains(contract.Consumers, b.cfg.Service) {
			return fmt.Errorf("%s handles %s, but the event catalogue does not list it as a consumer", b.cfg.Service, c.topic)
		}
	}
	for _, contract := range b.cfg.Catalogue {
		if slices.Contains(contract.Consumers, b.cfg.Service) && !slices.Contains(registered, contract.Name) {
			return fmt.Errorf("the event catalogue lists %s as a consumer of %s, but it has no handler", b.cfg.Service, contract.Name)
		}
	}
	return nil
}

// contract is the catalogue's contract of an event.
func (b *Bus) contract(name string) (events.Contract, bool) {
	i := slices.IndexFunc(b.cfg.Catalogue, func(c events.Contract) bool { return c.Name == name })
	if i < 0 {
		return events.Contract{}, false
	}
	return b.cfg.Catalogue[i], true
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

// poisonPublisher sends a message that can never be processed to the
// poison topic under a new ID (the broker would drop a republished ID as a
// duplicate), and logs it with its request ID.
type poisonPublisher struct {
	bus *Bus
}

func (p poisonPublisher) Publish(topic string, msgs ...*message.Message) error {
	for _, msg := range msgs {
		poisoned := msg.Copy()
		poisoned.UUID = watermill.NewUUID()
		poisoned.Metadata.Set(PoisonOriginalUUIDKey, msg.UUID)
		p.bus.cfg.Logger.ErrorContext(msg.Context(), "message sent to poison topic",
			"message_uuid", msg.UUID,
			"event_name", msg.Metadata.Get(EventNameKey),
			"consumer", msg.Metadata.Get(PoisonConsumerKey),
			"reason", msg.Metadata.Get(PoisonReasonKey))
		if err := p.bus.poison.Publish(topic, poisoned); err != nil {
			return err
		}
	}
	return nil
}

func (poisonPublisher) Close() error { return nil }
