package messaging

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Replayed is one message read back from the stream, with where and when
// the broker stored it.
type Replayed struct {
	*message.Message
	Topic    string
	Sequence uint64    // stream sequence
	StoredAt time.Time // when the broker stored it
}

// replayBuffer is how many messages the client asks the broker for ahead
// of the one being processed: replay is throughput, not latency.
const replayBuffer = 4096

// Replay reads every message of the given topics from the start of the
// stream up to its last message when Replay began, oldest first, decoded
// as the services' consumers decode them, and calls fn with each. It uses
// an ordered consumer: ephemeral, unacknowledged, gone when Replay
// returns, so it leaves the durable consumers alone. It returns how many
// messages fn got.
func Replay(ctx context.Context, brokerURL string, topics []string, fn func(Replayed) error) (int, error) {
	nc, err := nats.Connect(brokerURL, nats.Name("replay"))
	if err != nil {
		return 0, fmt.Errorf("replay: connect to %s: %w", brokerURL, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return 0, fmt.Errorf("replay: %w", err)
	}
	stream, err := js.Stream(ctx, StreamName)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return 0, nil // nothing was ever published
	}
	if err != nil {
		return 0, fmt.Errorf("replay: stream %s: %w", StreamName, err)
	}
	// The end is fixed at the start, so replay ends while services keep
	// publishing; what comes later reaches the durable consumers.
	last := stream.CachedInfo().State.LastSeq
	if last == 0 {
		return 0, nil
	}
	consumer, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: topics})
	if err != nil {
		return 0, fmt.Errorf("replay: consumer: %w", err)
	}
	iter, err := consumer.Messages(jetstream.PullMaxMessages(replayBuffer))
	if err != nil {
		return 0, fmt.Errorf("replay: consume: %w", err)
	}
	defer iter.Stop()
	stop := context.AfterFunc(ctx, iter.Stop)
	defer stop()

	n := 0
	for {
		m, err := iter.Next()
		if err != nil {
			if ctx.Err() != nil {
				return n, ctx.Err()
			}
			return n, fmt.Errorf("replay: after %d messages: %w", n, err)
		}
		meta, err := m.Metadata()
		if err != nil {
			return n, fmt.Errorf("replay: message metadata: %w", err)
		}
		if meta.Sequence.Stream > last {
			return n, nil
		}
		msg, err := decodeStored(m)
		if err != nil {
			return n, fmt.Errorf("replay: message %d: %w", meta.Sequence.Stream, err)
		}
		err = fn(Replayed{Message: msg, Topic: m.Subject(), Sequence: meta.Sequence.Stream, StoredAt: meta.Timestamp})
		if err != nil {
			return n, err
		}
		n++
		if meta.Sequence.Stream == last || meta.NumPending == 0 {
			return n, nil
		}
	}
}

// decodeStored decodes a stream message exactly as the durable consumers
// do (Watermill's NATS header marshaler, with a stable ID for a message
// that has none).
func decodeStored(m jetstream.Msg) (*message.Message, error) {
	return tolerantUnmarshaler{}.Unmarshal(&nats.Msg{
		Subject: m.Subject(), Reply: m.Reply(), Header: m.Headers(), Data: m.Data(),
	})
}
