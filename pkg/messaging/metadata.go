package messaging

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/google/uuid"

	"eventually/pkg/events"
	"eventually/pkg/stream"
)

// Metadata keys every message carries. The message UUID is the event ID.
const (
	// CorrelationIDKey is Watermill's own key, so its middleware and ours agree.
	CorrelationIDKey = middleware.CorrelationIDMetadataKey // "correlation_id"
	CausationIDKey   = "causation_id"
	EventNameKey     = "event_name"
	EventVersionKey  = "event_version"
	ProducerKey      = "producer"
	OccurredAtKey    = "occurred_at"
	// InstanceKey names the instance of the producer that wrote it.
	InstanceKey = "instance"

	// Set on messages in the poison topic.
	PoisonReasonKey       = middleware.ReasonForPoisonedKey
	PoisonConsumerKey     = middleware.PoisonedHandlerKey
	PoisonOriginalUUIDKey = "poison_original_uuid"
	poisonedTopicKey      = middleware.PoisonedTopicKey
)

// poisonKeys are the metadata the poison queue adds to a message, and a
// replay takes away again.
var poisonKeys = []string{PoisonReasonKey, PoisonConsumerKey, PoisonOriginalUUIDKey, poisonedTopicKey,
	middleware.PoisonedSubscriberKey, stream.DeliveryCountKey}

// PoisonTopic receives messages that a consumer can never process.
const PoisonTopic = stream.PoisonTopic

// eventMarshaler is Watermill's CQRS marshaler for our contracts: JSON
// payload, the event name and version in metadata, and decoding that
// checks the version and validates (Watermill's JSONMarshaler does neither).
type eventMarshaler struct{}

func (eventMarshaler) Marshal(v any) (*message.Message, error) {
	ev, ok := v.(events.Event)
	if !ok {
		return nil, fmt.Errorf("marshal %T: not an events.Event", v)
	}
	if err := ev.Validate(); err != nil {
		return nil, fmt.Errorf("marshal %s: %w", ev.EventName(), err)
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("marshal %s: %w", ev.EventName(), err)
	}
	// Time-ordered IDs (UUID version 7): every index keyed by a message
	// ID (the inbox, the outbox, overlord's store) grows at its end, so a
	// commit writes one leaf of it rather than a random one
	// (docs/performance.md). They are as unique as random ones.
	msg := message.NewMessage(uuid.Must(uuid.NewV7()).String(), payload)
	msg.Metadata.Set(EventNameKey, ev.EventName())
	msg.Metadata.Set(EventVersionKey, strconv.Itoa(events.VersionOf(ev)))
	return msg, nil
}

func (eventMarshaler) Unmarshal(msg *message.Message, v any) error {
	ev, ok := v.(events.Event)
	if !ok {
		return fmt.Errorf("unmarshal into %T: not an events.Event", v)
	}
	version, err := strconv.Atoi(msg.Metadata.Get(EventVersionKey))
	if err != nil {
		return fmt.Errorf("%w: %s: event_version %q is not a number", events.ErrInvalid, ev.EventName(), msg.Metadata.Get(EventVersionKey))
	}
	return events.DecodeInto(ev, version, msg.Payload)
}

func (eventMarshaler) Name(v any) string {
	if ev, ok := v.(events.Event); ok {
		return ev.EventName()
	}
	return fmt.Sprintf("%T", v)
}

func (eventMarshaler) NameFromMessage(msg *message.Message) string {
	return msg.Metadata.Get(EventNameKey)
}

// checkMetadata rejects a message that lacks the metadata every message
// must carry, or that comes from a producer other than its contract's;
// such a message can never be processed.
func checkMetadata(msg *message.Message, contract events.Contract) error {
	topic := contract.Name
	for _, key := range []string{EventNameKey, EventVersionKey, ProducerKey, OccurredAtKey, CorrelationIDKey} {
		if msg.Metadata.Get(key) == "" {
			return fmt.Errorf("%w: message %s has no %s metadata", events.ErrInvalid, msg.UUID, key)
		}
	}
	if name := msg.Metadata.Get(EventNameKey); name != topic {
		return fmt.Errorf("%w: message %s is a %q on topic %q", events.ErrInvalid, msg.UUID, name, topic)
	}
	if producer := msg.Metadata.Get(ProducerKey); producer != contract.Producer {
		return fmt.Errorf("%w: message %s: %s is produced by %s, not %q", events.ErrInvalid, msg.UUID, topic, contract.Producer, producer)
	}
	if _, err := time.Parse(time.RFC3339Nano, msg.Metadata.Get(OccurredAtKey)); err != nil {
		return fmt.Errorf("%w: message %s: occurred_at %q is not RFC 3339", events.ErrInvalid, msg.UUID, msg.Metadata.Get(OccurredAtKey))
	}
	return nil
}
