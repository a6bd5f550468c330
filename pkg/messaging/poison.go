package messaging

import (
	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
)

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
