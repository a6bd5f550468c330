package stream

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Replay reads every message of the given topics from the start of the
// stream up to its last message when Replay began, oldest first, decoded
// as the services' consumers decode them, and calls fn with each, one at
// a time. It uses an ordered consumer: ephemeral, unacknowledged, gone
// when Replay returns, so it leaves the durable consumers alone. It
// returns how many messages fn got.
//
// The consumer is a push consumer: the broker streams the messages with
// flow control instead of answering pull requests, which read a million
// messages about twice as fast. A message lost on the way (the client too
// slow) is a gap the ordered consumer notices; it then restarts after the
// last message delivered, so fn still sees each message once, in order.
func Replay(ctx context.Context, brokerURL string, topics []string, fn func(Message) error) (int, error) {
	return ReplayEach(ctx, brokerURL, topics, func(r *Replayed) error {
		msg, err := decode(r.msg)
		if err != nil {
			return fmt.Errorf("replay: message %d: %w", r.Sequence, err)
		}
		return fn(msg)
	})
}

// Replayed is a message as ReplayEach reads it. Its metadata stays in the
// broker's headers and is read by key (Get): a rebuild reads a million
// messages and keeps a few fields of each, so it builds no map per
// message. Valid only during the call it is given to.
type Replayed struct {
	UUID     string // Watermill's, or derived from the stream position as the consumers do
	Topic    string
	Payload  []byte
	Sequence uint64
	StoredAt time.Time
	msg      *nats.Msg
}

// Get is the metadata value of key, "" when the message has none.
func (r *Replayed) Get(key string) string { return r.msg.Header.Get(key) }

// ReplayEach is Replay without decoding each message into a Message: fn
// gets it as the broker sent it (Replayed). A message the consumers could
// not decode (a header with several values) ends it with an error, as it
// ends Replay.
func ReplayEach(ctx context.Context, brokerURL string, topics []string, fn func(*Replayed) error) (int, error) {
	r := &replay{fn: fn, done: make(chan struct{})}
	nc, err := nats.Connect(brokerURL, nats.Name("replay"), nats.NoReconnect(),
		nats.ClosedHandler(func(*nats.Conn) { r.finish(errors.New("connection to the broker closed")) }))
	if err != nil {
		return 0, fmt.Errorf("replay: connect to %s: %w", brokerURL, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return 0, fmt.Errorf("replay: %w", err)
	}
	stream, err := js.Stream(ctx, Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return 0, nil // nothing was ever published
	}
	if err != nil {
		return 0, fmt.Errorf("replay: stream %s: %w", Name, err)
	}
	// The end is fixed at the start, so replay ends while services keep
	// publishing; what comes later reaches the durable consumers.
	info := stream.CachedInfo()
	r.last = info.State.LastSeq
	if r.last == 0 {
		return 0, nil
	}
	opts := []nats.SubOpt{nats.OrderedConsumer(), nats.BindStream(Name)}
	// A filter of several subjects costs the broker a subject match per
	// message; when the topics are all the stream holds, none is needed.
	if !coversAll(topics, info.Config.Subjects) {
		opts = append(opts, nats.ConsumerFilterSubjects(topics...))
	}
	legacy, err := nc.JetStream()
	if err != nil {
		return 0, fmt.Errorf("replay: %w", err)
	}
	sub, err := legacy.Subscribe("", r.handle, opts...)
	if err != nil {
		return 0, fmt.Errorf("replay: consumer: %w", err)
	}
	// Flow control bounds what waits in the client; the pending limits
	// must not drop messages before it does.
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		return 0, fmt.Errorf("replay: %w", err)
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		r.finish(ctx.Err())
	}
	err = sub.Unsubscribe()
	// No callback runs after this, and none will start.
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	if r.err != nil {
		if ctx.Err() != nil {
			return r.n, ctx.Err()
		}
		return r.n, r.err
	}
	if err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		return r.n, fmt.Errorf("replay: stop the consumer: %w", err)
	}
	return r.n, nil
}

// replay is one Replay's state, shared with the subscription's callback.
type replay struct {
	fn   func(*Replayed) error
	last uint64 // the stream's last sequence when the replay began

	mu      sync.Mutex // held while a message is handled
	n       int
	msg     Replayed // reused: fn gets one message at a time
	stopped bool
	err     error
	once    sync.Once
	done    chan struct{}
}

// finish ends the replay, with err if it failed; the first call counts.
func (r *replay) finish(err error) {
	r.once.Do(func() {
		r.err = err
		close(r.done)
	})
}

// handle runs on the subscription's goroutine, one message at a time.
func (r *replay) handle(m *nats.Msg) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped || r.isDone() {
		return
	}
	meta, err := m.Metadata()
	if err != nil {
		r.finish(fmt.Errorf("replay: message metadata: %w", err))
		return
	}
	if meta.Sequence.Stream > r.last {
		r.finish(nil)
		return
	}
	if err := singleValued(m.Header); err != nil {
		r.finish(fmt.Errorf("replay: message %d: %w", meta.Sequence.Stream, err))
		return
	}
	r.msg = Replayed{UUID: m.Header.Get(wmnats.WatermillUUIDHdr), Topic: m.Subject, Payload: m.Data,
		Sequence: meta.Sequence.Stream, StoredAt: meta.Timestamp, msg: m}
	if r.msg.UUID == "" {
		r.msg.UUID = derivedUUID(meta)
	}
	if err := r.fn(&r.msg); err != nil {
		r.finish(err)
		return
	}
	r.n++
	if meta.Sequence.Stream == r.last || meta.NumPending == 0 {
		r.finish(nil)
	}
}

func (r *replay) isDone() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// coversAll reports whether topics include every one of subjects.
func coversAll(topics, subjects []string) bool {
	for _, s := range subjects {
		if !slices.Contains(topics, s) {
			return false
		}
	}
	return len(subjects) > 0
}

// singleValued refuses a header with several values, which Watermill's
// marshaler refuses too: the consumers never handle such a message.
func singleValued(h nats.Header) error {
	for k, v := range h {
		if len(v) > 1 {
			return fmt.Errorf("multiple values in NATS header %q", k)
		}
	}
	return nil
}
