package stream

import (
	"cmp"
	"context"
	"errors"
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

// Write publishes msgs (each to its Topic) and returns, for each, nil if
// the broker stored it or why not. It gives up waiting when ctx is done.
// A message that can never be stored (see Unpublishable) fails alone; after
// any other failure the rest of the batch is not sent.
func (w *Writer) Write(ctx context.Context, msgs []Message) []error {
	errs := make([]error, len(msgs))
	futures := make([]nats.PubAckFuture, len(msgs))
	var stop error
	for i, m := range msgs {
		if stop != nil {
			errs[i] = stop
			continue
		}
		natsMsg, err := w.marshaler.Marshal(m.Topic, m.toWatermill())
		if err != nil {
			errs[i] = fmt.Errorf("%w: encode %s %s: %v", ErrUnpublishable, m.Topic, m.UUID, err)
			continue
		}
		futures[i], err = w.js.PublishMsgAsync(natsMsg, nats.MsgId(cmp.Or(m.DedupID, m.UUID)))
		switch {
		case errors.Is(err, nats.ErrMaxPayload):
			errs[i] = fmt.Errorf("%w: %s %s: %v", ErrUnpublishable, m.Topic, m.UUID, err)
		case err != nil:
			// The connection is gone or too much is pending: send the
			// rest later, in order.
			stop = fmt.Errorf("publish %s %s: %w", m.Topic, m.UUID, err)
			errs[i] = stop
		}
	}
	for i, f := range futures {
		if f == nil {
			continue
		}
		select {
		case <-f.Ok():
		case err := <-f.Err():
			errs[i] = fmt.Errorf("publish %s %s: %w", msgs[i].Topic, msgs[i].UUID, err)
		case <-ctx.Done():
			errs[i] = fmt.Errorf("publish %s %s: %w", msgs[i].Topic, msgs[i].UUID, ctx.Err())
		}
	}
	return errs
}

// ErrUnpublishable marks a message the broker will never store, such as
// one larger than its payload limit: sending it again cannot help.
var ErrUnpublishable = errors.New("message cannot be published")
