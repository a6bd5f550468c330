package stream

import (
	"context"
	"fmt"
	"sync"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
)

// Subscriber is a Watermill subscriber bound to one durable consumer of
// the stream (see EnsureConsumer). It shares its connection: closing it
// ends its subscriptions, not the connection.
//
// Why not watermill-nats's subscriber: at shutdown it closes its output
// channel while a NATS callback may still be sending on it (a data race
// the race detector reports, v2.1.3), and its Close drains the whole
// connection, so each would need a connection of its own. Here one
// goroutine owns the output channel: it reads the broker's messages from a
// buffered channel and starts a delivery for each (up to inFlight at
// once) that hands it to the router and acks or naks it; it closes the
// output only after every delivery has ended.
type Subscriber struct {
	nc       *nats.Conn
	stream   string
	durable  string
	inFlight int

	mu      sync.Mutex
	closing chan struct{}
	done    []chan struct{}
}

// NewSubscriber is a subscriber of the durable consumer durable of stream,
// on nc, that hands up to inFlight messages to the router at once (at
// least 1, at most the consumer's MaxAckPending). With 1 they are handled
// one at a time, in the stream's order; with more, a slow message does
// not hold up those behind it, and a database that commits concurrent
// transactions together (sqlite.Group) gets work to group.
func NewSubscriber(nc *nats.Conn, stream, durable string, inFlight int) *Subscriber {
	return &Subscriber{nc: nc, stream: stream, durable: durable, inFlight: min(max(inFlight, 1), maxAckPending),
		closing: make(chan struct{})}
}

// Subscribe implements message.Subscriber: messages of topic, delivered by
// the durable consumer, until ctx is done or Close.
func (s *Subscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	js, err := jetStream(s.nc)
	if err != nil {
		return nil, err
	}
	// Room for the consumer's MaxAckPending four times over: the broker
	// has no more unacknowledged in flight, but redeliveries after AckWait
	// of messages still waiting here (a handler stuck on a locked
	// database) come on top. One dropped for want of room only comes back
	// after AckWait.
	in := make(chan *nats.Msg, 4*maxAckPending)
	// The consumer exists (EnsureConsumer) and its settings are known, so
	// binding skips nats.go's lookup: that request ignores any context and
	// would hold a shutdown for seconds with the broker frozen.
	sub, err := js.ChanQueueSubscribe(topic, s.durable, in, nats.Bind(s.stream, s.durable), nats.SkipConsumerLookup(),
		nats.DeliverSubject(deliverPrefix+s.durable), nats.MaxAckPending(maxAckPending), nats.ManualAck())
	if err != nil {
		return nil, fmt.Errorf("subscribe %s: %w", s.durable, err)
	}
	out := make(chan *message.Message)
	done := make(chan struct{})
	s.mu.Lock()
	s.done = append(s.done, done)
	s.mu.Unlock()
	go func() {
		defer close(done)
		defer close(out)
		defer giveBack(sub, in)
		s.run(ctx, in, out)
	}()
	return out, nil
}

// run hands the messages of in to the router, up to inFlight at once,
// until the subscriber stops; it returns once every delivery has ended.
func (s *Subscriber) run(ctx context.Context, in <-chan *nats.Msg, out chan<- *message.Message) {
	var deliveries sync.WaitGroup
	defer deliveries.Wait()
	slots := make(chan struct{}, s.inFlight)
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.closing:
			return
		case slots <- struct{}{}:
		}
		select {
		case <-ctx.Done():
			return
		case <-s.closing:
			return
		case m := <-in:
			deliveries.Go(func() {
				defer func() { <-slots }()
				s.deliver(ctx, m, out)
			})
		}
	}
}

// deliver hands one message to the router and acks or naks it as the
// handler says, or naks it when the subscriber stops first.
func (s *Subscriber) deliver(ctx context.Context, m *nats.Msg, out chan<- *message.Message) {
	msg, err := unmarshal(m, true)
	if err != nil {
		// Not even Watermill's format (headers with several values): it
		// can never be handled, and must not come back until MaxDeliver.
		_ = m.Term()
		return
	}
	msgCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	msg.SetContext(msgCtx)
	select {
	case out <- msg:
	case <-ctx.Done():
		_ = m.Nak()
		return
	case <-s.closing:
		_ = m.Nak()
		return
	}
	select {
	case <-msg.Acked():
		_ = m.Ack() // a lost ack is a redelivery, which the inbox absorbs
	case <-msg.Nacked():
		delivered := uint64(1)
		if meta, err := m.Metadata(); err == nil {
			delivered = meta.NumDelivered
		}
		_ = m.NakWithDelay(backoff{}.WaitTime(delivered))
	case <-ctx.Done():
		_ = m.Nak() // stopping: deliver it again at once (to another instance, or after the restart)
	case <-s.closing:
		_ = m.Nak()
	}
}

// giveBack ends a subscription and hands the messages it received but
// never delivered back to the broker, so they are delivered again at once
// rather than after AckWait.
func giveBack(sub *nats.Subscription, in chan *nats.Msg) {
	_ = sub.Unsubscribe()
	for {
		select {
		case m := <-in:
			_ = m.Nak()
		default:
			return
		}
	}
}

// Close stops every subscription.
func (s *Subscriber) Close() error {
	s.mu.Lock()
	select {
	case <-s.closing:
	default:
		close(s.closing)
	}
	done := s.done
	s.mu.Unlock()
	for _, d := range done {
		<-d
	}
	return nil
}
