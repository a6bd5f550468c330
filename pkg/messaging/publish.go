package messaging

import (
	"context"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
)

// publishTimeout bounds how long the relay waits for the broker's acks.
const publishTimeout = 10 * time.Second

// batchPublisher publishes a relay batch to JetStream without waiting for
// each message's ack before sending the next: the whole batch is sent,
// then its acks are awaited together. With one ack round trip per batch
// instead of one per message, the relay keeps up with the services.
//
// It keeps every guarantee of publishing one at a time:
//   - the same wire format and dedup as Watermill's publisher (its NATS
//     marshaler, the message UUID as Nats-Msg-Id);
//   - order: one connection, and the server stores a connection's
//     messages in the order they arrive; if the connection drops mid-batch
//     what is lost is a suffix, which the relay sends again, in order;
//   - at least once: a message counts as published only when acked, and
//     only the acked prefix of a batch is marked published.
type batchPublisher struct {
	js        nats.JetStreamContext
	marshaler wmnats.NATSMarshaler
}

func newBatchPublisher(nc *nats.Conn) (*batchPublisher, error) {
	js, err := nc.JetStream(nats.PublishAsyncMaxPending(4*relayBatchSize), nats.PublishAsyncTimeout(publishTimeout))
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	return &batchPublisher{js: js}, nil
}

// publish sends msgs (msgs[i] to topics[i]) and returns how many of them,
// counted from the first, the broker has stored.
func (p *batchPublisher) publish(topics []string, msgs []*message.Message) (int, error) {
	futures := make([]nats.PubAckFuture, 0, len(msgs))
	var sendErr error
	for i, msg := range msgs {
		natsMsg, err := p.marshaler.Marshal(topics[i], msg)
		if err != nil {
			sendErr = fmt.Errorf("marshal %s: %w", msg.UUID, err)
			break
		}
		f, err := p.js.PublishMsgAsync(natsMsg, nats.MsgId(msg.UUID))
		if err != nil {
			sendErr = fmt.Errorf("publish %s %s: %w", topics[i], msg.UUID, err)
			break
		}
		futures = append(futures, f)
	}
	for i, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return i, fmt.Errorf("publish %s %s: %w", topics[i], msgs[i].UUID, err)
		}
	}
	return len(futures), sendErr
}

// PublishCopies publishes n copies of samples (round robin, each copy
// with a new UUID) to the system's stream, in batches as the outbox relay
// does. It makes a stream of a given size to time a replay against.
func PublishCopies(ctx context.Context, brokerURL string, samples []Replayed, n int) error {
	if len(samples) == 0 {
		return fmt.Errorf("publish copies: no samples")
	}
	nc, err := Connect(brokerURL, "copies")
	if err != nil {
		return err
	}
	defer nc.Close()
	p, err := newBatchPublisher(nc)
	if err != nil {
		return err
	}
	if err := EnsureStream(p.js); err != nil {
		return err
	}
	for sent := 0; sent < n; {
		size := min(relayBatchSize, n-sent)
		topics, msgs := make([]string, size), make([]*message.Message, size)
		for i := range size {
			s := samples[(sent+i)%len(samples)]
			topics[i], msgs[i] = s.Topic, s.Message.Copy()
			msgs[i].UUID = watermill.NewUUID()
		}
		stored, err := p.publish(topics, msgs)
		if err != nil {
			return fmt.Errorf("publish copies after %d: %w", sent+stored, err)
		}
		sent += size
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}
