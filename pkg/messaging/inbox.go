package messaging

import (
	"context"
	"fmt"

	"github.com/ThreeDotsLabs/watermill/components/cqrs"
)

// The inbox: a handler's effect and the record that its message was
// processed commit in one transaction, so a message delivered again (the
// broker is at least once) changes nothing. The record is kept by the
// Store (FirstDelivery), keyed by consumer and message UUID.

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
		b.metrics.duplicates.WithLabelValues(consumer).Inc()
		b.cfg.Logger.InfoContext(ctx, "message already processed, acknowledged again",
			"consumer", consumer, "message_uuid", msg.UUID)
	}
	return nil
}
