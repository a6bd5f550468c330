package messaging

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"eventually/pkg/events"
	"eventually/pkg/stream"
)

// errDeliveriesExhausted marks a message whose handler failed on every
// delivery the bus allows.
var errDeliveriesExhausted = errors.New("failed on every delivery")

// neverProcessed says which handler errors send a message to the poison
// topic: one that can never be processed (undecodable, invalid, unknown
// version, unexpected producer), and one that failed on every delivery.
// A passing failure, or a shutdown, is not one of them: the message is
// delivered again.
func neverProcessed(err error) bool {
	return errors.Is(err, events.ErrInvalid) || errors.Is(err, errDeliveriesExhausted)
}

// boundDeliveries turns a passing failure on the last delivery the bus
// allows into errDeliveriesExhausted, saying how often it was tried.
func (b *Bus) boundDeliveries(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		out, err := h(msg)
		if err == nil || neverProcessed(err) || msg.Context().Err() != nil {
			return out, err
		}
		delivered, _ := strconv.Atoi(msg.Metadata.Get(stream.DeliveryCountKey))
		if delivered >= b.cfg.MaxDeliveries {
			return nil, fmt.Errorf("%w (%d deliveries), the last: %w", errDeliveriesExhausted, delivered, err)
		}
		return nil, err
	}
}

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
		p.bus.metrics.poisoned.WithLabelValues(msg.Metadata.Get(PoisonConsumerKey), poisonReason(msg.Metadata.Get(PoisonReasonKey))).Inc()
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
