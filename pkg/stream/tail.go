package stream

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Tail calls fn with every message published to the given topics from now
// on, in stream order, each once, until ctx is done or the returned stop
// is called. It is for tools that watch the system from outside (the load
// driver): an ephemeral, unacknowledged consumer, so the services'
// durable consumers are left alone. Tail returns once the consumer
// exists, so nothing published after it returns is missed.
//
// On a cluster the consumer lives on one server. When that server dies,
// Tail makes a new one that starts after the last message it passed on.
// nats.go's ordered consumer does the same, but can stall for good when
// the new consumer is made while the cluster is still electing leaders.
func Tail(ctx context.Context, brokerURL string, topics []string, fn func(Message)) (stop func(), err error) {
	nc, err := nats.Connect(brokerURL, nats.Name("tail"), nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond))
	if err != nil {
		return nil, fmt.Errorf("tail: connect to %s: %w", brokerURL, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("tail: %w", err)
	}
	stream, err := js.Stream(ctx, Name)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("tail: stream %s: %w", Name, err)
	}
	t := &tail{js: js, topics: topics, fn: fn, next: stream.CachedInfo().State.LastSeq + 1, lost: make(chan struct{}, 1)}
	if err := t.follow(ctx); err != nil {
		nc.Close()
		return nil, fmt.Errorf("tail: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t.supervise(ctx)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			<-done
			nc.Close()
		})
	}
	context.AfterFunc(ctx, stop)
	return stop, nil
}

// tailHeartbeat is how often the server tells the tail's consumer it is
// alive: two missed, and the tail makes a new consumer.
const tailHeartbeat = time.Second

// tail is one Tail's state: the next stream sequence it passes on, and
// the consumer it reads it from.
type tail struct {
	js     jetstream.JetStream
	topics []string
	fn     func(Message)
	lost   chan struct{} // the consumer is gone or skipped a message

	// passing makes fn's calls one at a time, in order, also while a
	// replaced consumer's last callback still runs.
	passing sync.Mutex

	mu        sync.Mutex
	next      uint64 // stream sequence of the next message to pass on
	serial    int    // which consumer is current; messages of an older one are dropped
	delivered uint64 // the current consumer's deliveries so far
	consuming jetstream.ConsumeContext
	consumer  string // the current consumer's name
}

// follow makes a consumer that starts at t.next and reads it.
func (t *tail) follow(ctx context.Context) error {
	t.mu.Lock()
	start := t.next
	t.serial++
	serial := t.serial
	t.delivered = 0
	if t.consuming != nil {
		t.consuming.Stop()
	}
	t.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	consumer, err := t.js.CreateConsumer(ctx, Name, jetstream.ConsumerConfig{
		FilterSubjects:    t.topics,
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       start,
		AckPolicy:         jetstream.AckNonePolicy,
		InactiveThreshold: time.Minute, // the server drops it after a crash of this tool
		MemoryStorage:     true,
		Replicas:          1,
	})
	if err != nil {
		return fmt.Errorf("consumer: %w", err)
	}
	consuming, err := consumer.Consume(func(m jetstream.Msg) { t.take(serial, m) },
		jetstream.PullHeartbeat(tailHeartbeat),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			if errors.Is(err, jetstream.ErrNoHeartbeat) || errors.Is(err, jetstream.ErrConsumerDeleted) ||
				errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, nats.ErrNoResponders) {
				t.signalLost()
			}
		}))
	if err != nil {
		return fmt.Errorf("consume: %w", err)
	}
	t.mu.Lock()
	t.consuming, t.consumer = consuming, consumer.CachedInfo().Name
	t.mu.Unlock()
	return nil
}

// take passes one message on, in order: a delivery that skipped one (lost
// in flight as a server died) makes a new consumer from the gap instead.
func (t *tail) take(serial int, m jetstream.Msg) {
	meta, err := m.Metadata()
	if err != nil {
		return
	}
	t.passing.Lock()
	defer t.passing.Unlock()
	t.mu.Lock()
	if serial != t.serial || meta.Sequence.Stream < t.next {
		t.mu.Unlock()
		return // from a consumer replaced since, or already passed on
	}
	t.delivered++
	if meta.Sequence.Consumer != t.delivered {
		t.mu.Unlock()
		t.signalLost()
		return
	}
	t.next = meta.Sequence.Stream + 1
	t.mu.Unlock()
	msg, err := decode(&nats.Msg{Subject: m.Subject(), Reply: m.Reply(), Header: m.Headers(), Data: m.Data()})
	if err != nil {
		return // not a message of this system: nothing to watch
	}
	t.fn(msg)
}

// end stops reading and deletes the consumer rather than leave it to
// the server's inactivity timeout; one replaced before is left to it.
func (t *tail) end() {
	t.mu.Lock()
	t.consuming.Stop()
	name := t.consumer
	t.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = t.js.DeleteConsumer(ctx, Name, name)
}

func (t *tail) signalLost() {
	select {
	case t.lost <- struct{}{}:
	default:
	}
}

// supervise makes a new consumer whenever the current one is lost,
// retrying while the cluster has no leader to make it, until ctx is done.
func (t *tail) supervise(ctx context.Context) {
	defer t.end()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.lost:
		}
		for t.follow(ctx) != nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(250 * time.Millisecond):
			}
		}
	}
}
