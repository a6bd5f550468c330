// Package stream is the system's one JetStream stream as the wire sees it:
// its name and subjects, the durable consumers the services read it with,
// how a message is encoded, and the tools that read or write it from
// outside a service (the watcher's rebuild, the load driver, the tests).
//
// NATS stream names cannot contain dots, subjects can: every topic (an
// event name such as "settings.changed", or "poison") is a subject of the
// one stream EVENTUALLY.
package stream

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"eventually/pkg/events"
)

const (
	// Name is the stream every event of the system is stored in.
	Name = "EVENTUALLY"
	// PoisonTopic receives messages that a consumer can never process.
	PoisonTopic = "poison"
	// deliverPrefix is the push consumers' deliver subjects, outside the stream.
	deliverPrefix = "deliver."
)

// Topics are the subjects of the stream: every event of the catalogue and
// the poison topic.
func Topics() []string {
	topics := []string{}
	for _, c := range events.Catalog() {
		topics = append(topics, c.Name)
	}
	return append(topics, PoisonTopic)
}

// Consumer settings. The server redelivers after AckWait a message that
// was not acknowledged; MaxAckPending bounds how many are in flight to one
// consumer, which handles up to its subscriber's inFlight of them at once
// (NewSubscriber). How often a message may be delivered is the caller's
// (EnsureConsumer).
const (
	AckWait       = 30 * time.Second
	maxAckPending = 64
)

// Connect dials the broker. It keeps trying forever, also when the broker
// is down at start: services accept work while the broker is away (the
// outbox keeps it) and catch up when it is back.
func Connect(url, name string) (*nats.Conn, error) {
	nc, err := nats.Connect(url,
		nats.Name(name),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		nats.ReconnectJitter(100*time.Millisecond, 100*time.Millisecond),
	)
	if err != nil {
		return nil, fmt.Errorf("connect to broker %s: %w", url, err)
	}
	return nc, nil
}

// Limits are the stream's size, age and replicas.
type Limits struct {
	// Replicas is how many servers of a cluster keep the stream: 3 lets
	// it survive the loss of one. Default 1.
	Replicas int
	// MaxAge drops messages older than this. Default 30 days: enough to
	// rebuild a view from, bounded on disk.
	MaxAge time.Duration
	// MaxBytes drops the oldest messages beyond this size. Default 1 GiB.
	MaxBytes int64
}

func (l Limits) withDefaults() Limits {
	l.Replicas = cmp.Or(l.Replicas, 1)
	l.MaxAge = cmp.Or(l.MaxAge, 30*24*time.Hour)
	l.MaxBytes = cmp.Or(l.MaxBytes, 1<<30)
	return l
}

// Ensure creates the stream, or brings an existing one to the catalogue's
// subjects and to limits (zero fields: the defaults), keeping its data.
// Services call it once at start-up: provisioning on every publish would
// cost a round trip each time.
func Ensure(ctx context.Context, nc *nats.Conn, limits Limits) error {
	js, err := jetStream(nc)
	if err != nil {
		return err
	}
	limits = limits.withDefaults()
	want := &nats.StreamConfig{
		Name:       Name,
		Subjects:   Topics(),
		Storage:    nats.FileStorage,
		Duplicates: 2 * time.Minute, // the window in which a republished event ID is dropped
		Replicas:   limits.Replicas,
		MaxAge:     limits.MaxAge,
		MaxBytes:   limits.MaxBytes,
	}
	info, err := js.StreamInfo(Name, nats.Context(ctx))
	switch {
	case errors.Is(err, nats.ErrStreamNotFound):
		_, err = js.AddStream(want, nats.Context(ctx))
		if err != nil && !errors.Is(err, nats.ErrStreamNameAlreadyInUse) {
			return fmt.Errorf("create stream %s: %w", Name, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("look up stream %s: %w", Name, err)
	case !slices.Equal(info.Config.Subjects, want.Subjects) || info.Config.Replicas != want.Replicas ||
		info.Config.MaxAge != want.MaxAge || info.Config.MaxBytes != want.MaxBytes:
		// A new event joined the catalogue, or the limits changed.
		cfg := info.Config
		cfg.Subjects, cfg.Replicas, cfg.MaxAge, cfg.MaxBytes = want.Subjects, want.Replicas, want.MaxAge, want.MaxBytes
		if _, err := js.UpdateStream(&cfg, nats.Context(ctx)); err != nil {
			return fmt.Errorf("update stream %s: %w", Name, err)
		}
	}
	return nil
}

// DurableName is the name of one service's consumer of one topic.
func DurableName(service, topic string) string {
	return service + "_" + strings.NewReplacer(".", "_", ">", "all", "*", "any").Replace(topic)
}

// EnsureConsumer creates a durable consumer of one topic of stream,
// unless it exists. A consumer that nats.go creates for a subscription is
// deleted when the subscription closes, and the whole stream would be
// delivered again after a restart; one created here and bound to survives.
//
// maxDeliver bounds how often the broker delivers one message; a consumer
// that exists with another bound is updated. created says it did not exist.
//
// A consumer made anew starts at the beginning of the stream: after a
// deletion, what it had acknowledged is not known, and the consumer's
// inbox drops what it already processed.
func EnsureConsumer(ctx context.Context, nc *nats.Conn, stream, durable, topic string, maxDeliver int) (created bool, err error) {
	return ensureConsumer(ctx, nc, stream, durable, topic, maxDeliver, nats.DeliverAllPolicy)
}

// StartConsumerAtEnd replaces a durable consumer with one that starts at
// the end of the stream: what was published while nobody read it is never
// delivered to it, as with a pub/sub broker that keeps nothing.
func StartConsumerAtEnd(ctx context.Context, nc *nats.Conn, stream, durable, topic string, maxDeliver int) error {
	js, err := jetStream(nc)
	if err != nil {
		return err
	}
	if err := js.DeleteConsumer(stream, durable, nats.Context(ctx)); err != nil && !errors.Is(err, nats.ErrConsumerNotFound) {
		return fmt.Errorf("delete consumer %s: %w", durable, err)
	}
	_, err = ensureConsumer(ctx, nc, stream, durable, topic, maxDeliver, nats.DeliverNewPolicy)
	return err
}

func ensureConsumer(ctx context.Context, nc *nats.Conn, stream, durable, topic string, maxDeliver int, deliverPolicy nats.DeliverPolicy) (created bool, err error) {
	js, err := jetStream(nc)
	if err != nil {
		return false, err
	}
	info, err := js.ConsumerInfo(stream, durable, nats.Context(ctx))
	switch {
	case err == nil && info.Config.MaxDeliver == maxDeliver:
		return false, nil
	case err == nil:
		cfg := info.Config
		cfg.MaxDeliver = maxDeliver
		if _, err := js.UpdateConsumer(stream, &cfg, nats.Context(ctx)); err != nil {
			return false, fmt.Errorf("update consumer %s: %w", durable, err)
		}
		return false, nil
	case !errors.Is(err, nats.ErrConsumerNotFound):
		return false, unanswered(nc, "look up consumer "+durable, err)
	}
	_, err = js.AddConsumer(stream, &nats.ConsumerConfig{
		Durable:        durable,
		DeliverSubject: deliverPrefix + durable,
		DeliverGroup:   durable,
		FilterSubject:  topic,
		DeliverPolicy:  deliverPolicy,
		AckPolicy:      nats.AckExplicitPolicy,
		AckWait:        AckWait,
		MaxDeliver:     maxDeliver,
		MaxAckPending:  maxAckPending,
	}, nats.Context(ctx))
	if err != nil {
		return false, fmt.Errorf("create consumer %s: %w", durable, err)
	}
	return true, nil
}

// Check says whether the stream is usable: JetStream is on (the broker
// turns it off when its store is out of space) and the stream exists.
func Check(ctx context.Context, nc *nats.Conn) error {
	js, err := jetStream(nc)
	if err != nil {
		return err
	}
	if _, err := js.StreamInfo(Name, nats.Context(ctx)); err != nil {
		return unanswered(nc, "stream "+Name, err)
	}
	return nil
}

// unanswered wraps the error of a request about a stream or consumer
// (what), saying what a timeout means: on a cluster only the leader of a
// stream or consumer answers for it, so while it has none (the servers
// that keep it are down, or still electing one) nothing answers at all.
func unanswered(nc *nats.Conn, what string, err error) error {
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, nats.ErrTimeout) {
		return fmt.Errorf("%s: %w", what, err)
	}
	if nc.ConnectedClusterName() != "" {
		return fmt.Errorf("%s: no leader answers (the servers of cluster %s that keep it are down, or electing one): %w",
			what, nc.ConnectedClusterName(), err)
	}
	return fmt.Errorf("%s: the broker does not answer: %w", what, err)
}

// jetStream is nc's JetStream API. Each call is given the caller's context
// (nats.Context): the JetStream-wide option is not applied to calls.
func jetStream(nc *nats.Conn) (nats.JetStreamContext, error) {
	js, err := nc.JetStream()
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	return js, nil
}
