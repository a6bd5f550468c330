package stream

import (
	"fmt"
	"time"

	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/nats-io/nats.go"
)

// publishTimeout bounds how long a Writer waits for the broker's acks.
const publishTimeout = 10 * time.Second

// Writer publishes batches of messages to JetStream without waiting for
// each message's ack before sending the next: the whole batch is sent,
// then its acks are awaited together, one round trip per batch instead of
// one per message.
//
// It writes what Watermill's publisher writes: the same NATS header
// format, and the message UUID as Nats-Msg-Id, so the broker drops a
// message published twice within its duplicate window.
type Writer struct {
	js        nats.JetStreamContext
	marshaler wmnats.NATSMarshaler
}

// NewWriter is a Writer on nc for batches of up to maxBatch messages.
func NewWriter(nc *nats.Conn, maxBatch int) (*Writer, error) {
	js, err := nc.JetStream(nats.PublishAsyncMaxPending(4*maxBatch), nats.PublishAsyncTimeout(publishTimeout))
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	return &Writer{js: js}, nil
}

// Write publishes msgs (each to its Topic) and reports, for each, whether
// the broker stored it. err says why the first that was not stored failed.
func (w *Writer) Write(msgs []Message) (stored []bool, err error) {
	stored = make([]bool, len(msgs))
	futures := make([]nats.PubAckFuture, len(msgs))
	for i, m := range msgs {
		natsMsg, merr := w.marshaler.Marshal(m.Topic, m.toWatermill())
		if merr == nil {
			futures[i], merr = w.js.PublishMsgAsync(natsMsg, nats.MsgId(m.UUID))
		}
		if merr != nil {
			err = fmt.Errorf("publish %s %s: %w", m.Topic, m.UUID, merr)
			break // the connection is gone or the batch is too big: send the rest later
		}
	}
	for i, f := range futures {
		if f == nil {
			continue
		}
		select {
		case <-f.Ok():
			stored[i] = true
		case ferr := <-f.Err():
			if err == nil {
				err = fmt.Errorf("publish %s %s: %w", msgs[i].Topic, msgs[i].UUID, ferr)
			}
		}
	}
	return stored, err
}
