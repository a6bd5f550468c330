package stream

import (
	"fmt"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
)

// Message is one message of the stream as the tools and the watcher see
// it, without any library's type.
type Message struct {
	UUID     string
	Topic    string
	Metadata map[string]string
	Payload  []byte
	// Where and when the broker stored it; zero for a message not read
	// back from the stream.
	Sequence uint64
	StoredAt time.Time
	// DedupID is what the broker deduplicates a publish by (Nats-Msg-Id)
	// when it is not the UUID: a message sent again on purpose.
	DedupID string
}

// FromWatermill is the view of a Watermill message of topic.
func FromWatermill(topic string, msg *message.Message) Message {
	return Message{UUID: msg.UUID, Topic: topic, Metadata: msg.Metadata, Payload: msg.Payload}
}

// toWatermill is m as a Watermill message, for the NATS marshaler.
func (m Message) toWatermill() *message.Message {
	msg := message.NewMessage(m.UUID, m.Payload)
	for k, v := range m.Metadata {
		msg.Metadata.Set(k, v)
	}
	return msg
}

// DeliveryCountKey is set on a message a durable consumer received: how
// many times the broker has delivered it, this time included.
const DeliveryCountKey = "delivery_count"

// unmarshal decodes a stream message as every consumer does: Watermill's
// NATS header format, and a stable ID for a message published by a foreign
// client without a Watermill UUID, so it reaches a handler (and the poison
// topic) instead of being redelivered until MaxDeliver. The ID is derived
// from the stream position, the same on every redelivery. countDeliveries
// sets DeliveryCountKey.
func unmarshal(m *nats.Msg, countDeliveries bool) (*message.Message, error) {
	msg, err := (&wmnats.NATSMarshaler{}).Unmarshal(m)
	if err != nil {
		return nil, err
	}
	meta, metaErr := m.Metadata()
	if msg.UUID == "" {
		msg.UUID = derivedUUID(meta)
	}
	if countDeliveries && metaErr == nil {
		msg.Metadata.Set(DeliveryCountKey, strconv.FormatUint(meta.NumDelivered, 10))
	}
	return msg, nil
}

// derivedUUID is the ID of a message without a Watermill UUID, from its
// stream position (meta; nil when unknown): the same on every delivery.
func derivedUUID(meta *nats.MsgMetadata) string {
	id := "no-uuid"
	if meta != nil {
		id = fmt.Sprintf("%s-%d", meta.Stream, meta.Sequence.Stream)
	}
	return uuid.NewSHA1(uuid.NameSpaceOID, []byte(id)).String()
}

// backoff is how long the broker waits before it delivers a message again
// after a handler failed on it: doubling from a second, up to 30 s.
type backoff struct{}

func (backoff) WaitTime(delivered uint64) time.Duration {
	d := time.Second
	for i := uint64(1); i < delivered && d < 30*time.Second; i++ {
		d *= 2
	}
	return min(d, 30*time.Second)
}

// decode is a message read from the stream as a Message.
func decode(m *nats.Msg) (Message, error) {
	msg, err := unmarshal(m, false)
	if err != nil {
		return Message{}, err
	}
	out := FromWatermill(m.Subject, msg)
	if meta, err := m.Metadata(); err == nil {
		out.Sequence, out.StoredAt = meta.Sequence.Stream, meta.Timestamp
	}
	return out, nil
}

// NewPublisher is Watermill's NATS publisher on nc. TrackMsgId makes the
// broker drop a republished event ID (an outbox relay may publish one
// twice after a crash).
func NewPublisher(nc *nats.Conn, logger watermill.LoggerAdapter) (*wmnats.Publisher, error) {
	return wmnats.NewPublisherWithNatsConn(nc, wmnats.PublisherPublishConfig{
		Marshaler:         &wmnats.NATSMarshaler{},
		SubjectCalculator: wmnats.DefaultSubjectCalculator,
		JetStream:         wmnats.JetStreamConfig{TrackMsgId: true},
	}, logger)
}
