package messaging

import (
	"context"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/ThreeDotsLabs/watermill/message"

	"eventually/pkg/events"
)

// Handle registers a typed handler for one event. Each service has its
// own durable consumer per topic, so a service that was down gets what it
// missed. fn runs in a transaction with the inbox record: a redelivered
// message is acknowledged and changes nothing.
func Handle[T any, PT interface {
	*T
	events.Event
}](b *Bus, fn func(ctx context.Context, tx *Tx, ev *T) error) {
	topic := PT(new(T)).EventName()
	name := b.cfg.Service + " on " + topic
	handler := cqrs.NewEventHandler(name, func(ctx context.Context, ev *T) error {
		return b.handleOnce(ctx, name, func(tx *Tx) error { return fn(ctx, tx, ev) })
	})
	b.handlers = append(b.handlers, registration{
		name: name, topic: topic, durable: DurableName(b.cfg.Service, topic),
		add: func(sub message.Subscriber) error {
			processor, err := cqrs.NewEventProcessorWithConfig(b.router, cqrs.EventProcessorConfig{
				GenerateSubscribeTopic: func(p cqrs.EventProcessorGenerateSubscribeTopicParams) (string, error) {
					return p.EventName, nil
				},
				SubscriberConstructor: func(cqrs.EventProcessorSubscriberConstructorParams) (message.Subscriber, error) {
					return sub, nil
				},
				Marshaler: eventMarshaler{},
				Logger:    b.wmLogger,
			})
			if err != nil {
				return err
			}
			h, err := processor.AddHandler(handler)
			if err != nil {
				return err
			}
			// Checked before decoding: a message without our metadata can
			// never be processed and goes to the poison topic.
			h.AddMiddleware(func(next message.HandlerFunc) message.HandlerFunc {
				return func(msg *message.Message) ([]*message.Message, error) {
					if err := checkMetadata(msg, topic); err != nil {
						return nil, err
					}
					return next(msg)
				}
			})
			return nil
		},
	})
}

// HandleMessage registers a handler for every message of a topic as it
// is, undecoded (the watcher stores them all, the poison ones too). It has
// its own durable consumer and inbox like Handle.
func (b *Bus) HandleMessage(topic string, fn func(ctx context.Context, tx *Tx, msg *message.Message) error) {
	name := b.cfg.Service + " on " + topic
	b.handlers = append(b.handlers, registration{
		name: name, topic: topic, durable: DurableName(b.cfg.Service, topic),
		add: func(sub message.Subscriber) error {
			b.router.AddConsumerHandler(name, topic, sub, func(msg *message.Message) error {
				ctx := cqrs.CtxWithOriginalMessage(msg.Context(), msg)
				return b.handleOnce(ctx, name, func(tx *Tx) error { return fn(ctx, tx, msg) })
			})
			return nil
		},
	})
}

// HandleMessageWithoutInbox is HandleMessage for a handler whose effect
// is itself once per message UUID, e.g. a row keyed by the UUID inserted
// with ON CONFLICT DO NOTHING (overlord's store): that key is the inbox,
// and a second row per message in the inbox table would only cost. fn
// gets no transaction and so publishes nothing; a redelivered message
// must change nothing, which is fn's to keep.
func (b *Bus) HandleMessageWithoutInbox(topic string, fn func(ctx context.Context, msg *message.Message) error) {
	name := b.cfg.Service + " on " + topic
	b.handlers = append(b.handlers, registration{
		name: name, topic: topic, durable: DurableName(b.cfg.Service, topic),
		add: func(sub message.Subscriber) error {
			b.router.AddConsumerHandler(name, topic, sub, func(msg *message.Message) error {
				if err := fn(cqrs.CtxWithOriginalMessage(msg.Context(), msg), msg); err != nil {
					return fmt.Errorf("%s: message %s: %w", name, msg.UUID, err)
				}
				if b.cfg.OnCommit != nil {
					b.cfg.OnCommit()
				}
				return nil
			})
			return nil
		},
	})
}

func (b *Bus) handleOnce(ctx context.Context, consumer string, fn func(tx *Tx) error) error {
	msg := cqrs.OriginalMessageFromCtx(ctx)
	duplicate := false
	err := b.Transaction(ctx, func(tx *Tx) error {
		first, err := firstDelivery(ctx, b.stmts, tx.DB, consumer, msg.UUID)
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

// Run connects the consumers and the outbox relay and runs them until ctx
// is done. While the broker is unreachable it keeps trying.
func (b *Bus) Run(ctx context.Context) error {
	relayDone := make(chan struct{})
	go func() {
		defer close(relayDone)
		b.relay.Run(ctx)
	}()
	defer func() {
		<-relayDone
		b.pubConn.Close()
		for _, nc := range b.conns {
			nc.Close()
		}
	}()

	if err := b.connectConsumers(ctx); err != nil {
		return err
	}
	if len(b.handlers) == 0 {
		b.ready.Store(true)
		<-ctx.Done()
		return nil
	}
	go func() {
		select {
		case <-b.router.Running():
			b.ready.Store(true)
		case <-ctx.Done():
		}
	}()
	if err := b.router.Run(ctx); err != nil {
		return fmt.Errorf("%s consumers: %w", b.cfg.Service, err)
	}
	return nil
}

// Ready reports whether the consumers are subscribed: a service is
// healthy only then, so "all healthy" means nothing is missed.
func (b *Bus) Ready() bool { return b.ready.Load() }

// Running is closed when the router's handlers are running.
func (b *Bus) Running() chan struct{} { return b.router.Running() }

func (b *Bus) connectConsumers(ctx context.Context) error {
	js, err := b.pubConn.JetStream()
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	// The stream and the durable consumers must exist before subscribing;
	// while the broker is unreachable, keep trying.
	provision := func() error {
		if err := EnsureStream(js); err != nil {
			return err
		}
		for _, h := range b.handlers {
			if err := ensureDurable(js, StreamName, h.durable, h.topic); err != nil {
				return err
			}
		}
		return nil
	}
	for delay := 100 * time.Millisecond; ; delay = min(delay*2, 5*time.Second) {
		err = provision()
		if err == nil {
			break
		}
		b.cfg.Logger.Warn("broker not ready, retrying", "error", err)
		if !sleep(ctx, delay) {
			return nil
		}
	}
	for _, h := range b.handlers {
		nc, err := Connect(b.cfg.BrokerURL, b.cfg.Service+"-"+h.durable)
		if err != nil {
			return err
		}
		b.conns = append(b.conns, nc)
		sub, err := newSubscriber(nc, StreamName, h.durable, b.wmLogger)
		if err != nil {
			return fmt.Errorf("subscribe %s: %w", h.name, err)
		}
		if err := h.add(sub); err != nil {
			return fmt.Errorf("subscribe %s: %w", h.name, err)
		}
	}
	return nil
}
