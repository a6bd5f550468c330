package stream

import (
	"fmt"
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

// Unmarshaler decodes a stream message as every consumer does: Watermill's
// NATS header format, and a stable ID for a message published by a foreign
// client without a Watermill UUID, so it reaches a handler (and the poison
// topic) instead of being redelivered until MaxDeliver. The ID is derived
// from the stream position, the same on every redelivery.
type Unmarshaler struct{ wmnats.NATSMarshaler }

// Unmarshal implements wmnats.Unmarshaler.
func (u Unmarshaler) Unmarshal(m *nats.Msg) (*message.Message, error) {
	msg, err := u.NATSMarshaler.Unmarshal(m)
	if err != nil {
		return nil, err
	}
	if msg.UUID == "" {
		id := "no-uuid"
		if meta, err := m.Metadata(); err == nil {
			id = fmt.Sprintf("%s-%d", meta.Stream, meta.Sequence.Stream)
		}
		msg.UUID = uuid.NewSHA1(uuid.NameSpaceOID, []byte(id)).String()
	}
	return msg, nil
}

// decode is a message read from the stream as a Message.
func decode(m *nats.Msg) (Message, error) {
	msg, err := Unmarshaler{}.Unmarshal(m)
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

// NewSubscriber is Watermill's NATS subscriber bound to the durable
// consumer durable of stream (see EnsureConsumer).
func NewSubscriber(nc *nats.Conn, stream, durable string, logger watermill.LoggerAdapter) (*wmnats.Subscriber, error) {
	return wmnats.NewSubscriberWithNatsConn(nc, wmnats.SubscriberSubscriptionConfig{
		Unmarshaler:       Unmarshaler{},
		QueueGroupPrefix:  durable,
		SubjectCalculator: wmnats.DefaultSubjectCalculator,
		AckWaitTimeout:    AckWait,
		CloseTimeout:      5 * time.Second,
		NakDelay:          wmnats.NewStaticDelay(NakDelay),
		JetStream: wmnats.JetStreamConfig{
			// An ack that goes missing means a redelivery, which the inbox
			// turns into nothing: no need to wait a round trip per message.
			AckAsync:         true,
			DurablePrefix:    durable,
			SubscribeOptions: []nats.SubOpt{nats.Bind(stream, durable), nats.ManualAck()},
		},
	}, logger)
}
