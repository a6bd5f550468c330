package messaging

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/ThreeDotsLabs/watermill/message"
	"gorm.io/gorm"

	"eventually/pkg/events"
	"eventually/pkg/requestid"
)

// Tx is an open transaction of a service: its database, and the events
// that commit with it. Like gorm's, it carries the context it was opened
// with: the request ID and the message being handled, if any.
type Tx struct {
	DB  *gorm.DB
	ctx context.Context
	bus *Bus
}

// Context is the context the transaction was opened with.
func (tx *Tx) Context() context.Context { return tx.ctx }

// Publish writes ev to the outbox of this transaction. It reaches the
// broker after the commit, or never if the transaction rolls back.
func (tx *Tx) Publish(ev events.Event) error {
	if err := tx.bus.events.Publish(context.WithValue(tx.ctx, txKey{}, tx), ev); err != nil {
		return fmt.Errorf("publish %s: %w", ev.EventName(), err)
	}
	return nil
}

// Transaction runs fn in one database transaction; the events fn publishes
// are committed with it and relayed afterwards.
func (b *Bus) Transaction(ctx context.Context, fn func(tx *Tx) error) error {
	// Issue 5: everything one transaction causes carries one request ID:
	// the caller's, or one made up here, at the edge, when it has none.
	ctx, _ = requestid.Ensure(ctx)
	err := b.cfg.Store.Transaction(ctx, func(db *gorm.DB) error {
		return fn(&Tx{DB: db, ctx: ctx, bus: b})
	})
	if err != nil {
		return err
	}
	b.relay.Wake()
	if b.cfg.OnCommit != nil {
		b.cfg.OnCommit()
	}
	return nil
}

// txKey carries the open Tx from Tx.Publish, through Watermill's event
// bus, to the outbox publisher.
type txKey struct{}

// outboxPublisher is the event bus's Watermill publisher: it writes each
// message into the outbox of the transaction that publishes it.
type outboxPublisher struct {
	store Store
}

func (p outboxPublisher) Publish(topic string, msgs ...*message.Message) error {
	for _, msg := range msgs {
		tx, ok := msg.Context().Value(txKey{}).(*Tx)
		if !ok {
			return errors.New("outbox: publish outside a transaction")
		}
		meta, err := json.Marshal(msg.Metadata)
		if err != nil {
			return fmt.Errorf("outbox %s: %w", topic, err)
		}
		err = p.store.AddToOutbox(tx.DB, OutboxMessage{
			UUID: msg.UUID, Topic: topic, Payload: msg.Payload, Metadata: string(meta), CreatedAt: time.Now().UTC(),
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (outboxPublisher) Close() error { return nil }

// stampMetadata sets the metadata every message carries.
func (b *Bus) stampMetadata(p cqrs.OnEventSendParams) error {
	if c, ok := b.contract(p.EventName); !ok || c.Producer != b.cfg.Service {
		return fmt.Errorf("%s may not publish %s: the catalogue names its producer %q", b.cfg.Service, p.EventName, c.Producer)
	}
	ctx := p.Message.Context()
	md := p.Message.Metadata
	md.Set(ProducerKey, b.cfg.Service)
	if b.cfg.Instance != "" {
		md.Set(InstanceKey, b.cfg.Instance)
	}
	md.Set(OccurredAtKey, time.Now().UTC().Format(time.RFC3339Nano))
	// Issue 5: the request ID of the context becomes the message's
	// correlation_id; the message being handled, if any, its causation_id.
	// Watermill's correlation middleware only tags messages a handler
	// returns, and ours go through the outbox, so it is set here.
	md.Set(CorrelationIDKey, requestid.From(ctx))
	md.Set(CausationIDKey, "")
	if parent := cqrs.OriginalMessageFromCtx(ctx); parent != nil {
		md.Set(CausationIDKey, parent.UUID)
	}
	// The trace context of the request or handler writing the event is
	// stored with the outbox row, so the trace survives until the relay
	// publishes it, even across a restart (tracing.go).
	b.tracing.inject(ctx, md)
	return nil
}
