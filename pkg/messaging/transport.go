package messaging

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"eventually/pkg/events"

	"github.com/ThreeDotsLabs/watermill"
	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
)

// Topology. NATS stream names cannot contain dots, subjects can: every
// topic (an event name such as "settings.changed", or "poison") is a
// subject of the one stream EVENTUALLY. Watermill's NATS publisher uses
// the topic as the subject as it is.
const (
	StreamName    = "EVENTUALLY"
	deliverPrefix = "deliver." // push consumers' deliver subjects, outside the stream
)

// Topics are the subjects of the stream: every event of the catalog and
// the poison topic.
func Topics() []string {
	topics := []string{}
	for _, c := range events.Catalog() {
		topics = append(topics, c.Name)
	}
	return append(topics, PoisonTopic)
}

// Consumer settings. The server redelivers after AckWait; MaxDeliver
// bounds how often a message comes back; MaxAckPending bounds how many
// are in flight to one consumer, which handles one at a time.
const (
	ackWait       = 30 * time.Second
	maxDeliver    = 20
	maxAckPending = 64
	nakDelay      = time.Second
)

// EnsureStream creates the stream once, at start-up (provisioning on every
// publish costs a round trip each time).
func EnsureStream(js nats.JetStreamContext) error {
	want := &nats.StreamConfig{
		Name:       StreamName,
		Subjects:   Topics(),
		Storage:    nats.FileStorage,
		Duplicates: 2 * time.Minute, // the window in which a republished event ID is dropped
	}
	info, err := js.StreamInfo(StreamName)
	switch {
	case errors.Is(err, nats.ErrStreamNotFound):
		_, err = js.AddStream(want)
		if err != nil && !errors.Is(err, nats.ErrStreamNameAlreadyInUse) {
			return fmt.Errorf("create stream %s: %w", StreamName, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("look up stream %s: %w", StreamName, err)
	case !slices.Equal(info.Config.Subjects, want.Subjects):
		// A new event joined the catalog: add its subject, keep the data.
		cfg := info.Config
		cfg.Subjects = want.Subjects
		if _, err := js.UpdateStream(&cfg); err != nil {
			return fmt.Errorf("update stream %s: %w", StreamName, err)
		}
	}
	return nil
}

// DurableName is the name of one service's consumer of one topic.
func DurableName(service, topic string) string {
	return service + "_" + strings.NewReplacer(".", "_", ">", "all", "*", "any").Replace(topic)
}

// ensureDurable creates the durable consumer explicitly. A consumer that
// nats.go creates for a subscription is deleted when the subscription
// closes, and the whole stream would be delivered again after a restart;
// one we create and bind to survives.
func ensureDurable(js nats.JetStreamContext, stream, durable, topic string) error {
	if _, err := js.ConsumerInfo(stream, durable); err == nil {
		return nil
	} else if !errors.Is(err, nats.ErrConsumerNotFound) {
		return fmt.Errorf("look up consumer %s: %w", durable, err)
	}
	_, err := js.AddConsumer(stream, &nats.ConsumerConfig{
		Durable:        durable,
		DeliverSubject: deliverPrefix + durable,
		DeliverGroup:   durable,
		FilterSubject:  topic,
		DeliverPolicy:  nats.DeliverAllPolicy,
		AckPolicy:      nats.AckExplicitPolicy,
		AckWait:        ackWait,
		MaxDeliver:     maxDeliver,
		MaxAckPending:  maxAckPending,
	})
	if err != nil {
		return fmt.Errorf("create consumer %s: %w", durable, err)
	}
	return nil
}

// newPublisher is Watermill's NATS publisher. TrackMsgId makes the broker
// drop a republished event ID (the outbox relay may publish one twice
// after a crash).
func newPublisher(nc *nats.Conn, logger watermill.LoggerAdapter) (*wmnats.Publisher, error) {
	return wmnats.NewPublisherWithNatsConn(nc, wmnats.PublisherPublishConfig{
		Marshaler:         &wmnats.NATSMarshaler{},
		SubjectCalculator: wmnats.DefaultSubjectCalculator,
		JetStream:         wmnats.JetStreamConfig{TrackMsgId: true},
	}, logger)
}

// newSubscriber is Watermill's NATS subscriber bound to one durable
// consumer of stream.
func newSubscriber(nc *nats.Conn, stream, durable string, logger watermill.LoggerAdapter) (*wmnats.Subscriber, error) {
	return wmnats.NewSubscriberWithNatsConn(nc, wmnats.SubscriberSubscriptionConfig{
		Unmarshaler:       tolerantUnmarshaler{},
		QueueGroupPrefix:  durable,
		SubjectCalculator: wmnats.DefaultSubjectCalculator,
		AckWaitTimeout:    ackWait,
		CloseTimeout:      5 * time.Second,
		NakDelay:          wmnats.NewStaticDelay(nakDelay),
		JetStream: wmnats.JetStreamConfig{
			// An ack that goes missing means a redelivery, which the inbox
			// turns into nothing: no need to wait a round trip per message.
			AckAsync:         true,
			DurablePrefix:    durable,
			SubscribeOptions: []nats.SubOpt{nats.Bind(stream, durable), nats.ManualAck()},
		},
	}, logger)
}

// tolerantUnmarshaler accepts a message that has no Watermill UUID (one
// published by a foreign client), so it reaches the handler and is sent to
// the poison topic instead of being redelivered until MaxDeliver. Its ID
// is derived from its stream position, the same on every redelivery.
type tolerantUnmarshaler struct{ wmnats.NATSMarshaler }

func (u tolerantUnmarshaler) Unmarshal(m *nats.Msg) (*message.Message, error) {
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
