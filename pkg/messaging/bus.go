// Package messaging is how a service takes part in the message flow. A
// service gets a Bus: it writes state changes and the events they cause
// in one transaction (outbox), handles events at most once per message ID
// (inbox), sends what it can never process to the poison topic, and every
// message carries the metadata of the design: event name and version,
// producer, time, request ID (correlation_id) and cause (causation_id).
//
// It is built on Watermill (router, CQRS event bus and processor,
// middleware) and NATS JetStream (package stream); none of their types
// appear in its API, so a service reads as its domain.
package messaging

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/errgroup"

	"eventually/pkg/events"
	"eventually/pkg/stream"
)

// Config is what a Bus needs from its service.
type Config struct {
	// Service is the producer name of its events and the prefix of its
	// durable consumers. Required.
	Service string
	// Instance names this process among the service's instances; it is on
	// every message the service produces (InstanceKey). Optional.
	Instance string
	// BrokerURL is the broker's nats:// URL. Required by Run; a Bus that
	// never runs (a unit test of domain code) writes its outbox without one.
	BrokerURL string
	// Store keeps the outbox and the inbox in the service's database. Required.
	Store Store
	// Logger gets the bus's log lines, with request_id. Required.
	Logger *slog.Logger
	// BeforeHandle, when set, runs before every handler with the context
	// that carries the message's request ID, and returns the context the
	// handler gets: the place for a service's own rules about it.
	BeforeHandle func(ctx context.Context) context.Context
	// OnCommit, when set, runs after every committed transaction, e.g. to
	// refresh the service's live pages.
	OnCommit func()
	// Catalogue is who produces and who consumes each event; the bus
	// refuses to publish or handle against it. Default: events.Catalog().
	Catalogue []events.Contract
	// StartAtEnd, when set and true when Run starts, makes each consumer
	// start at the end of the stream: what was published while the service
	// was stopped is never delivered to it, as with a pub/sub broker that
	// keeps nothing. Off (the default), durable consumers resume where they
	// left off.
	StartAtEnd func() bool
	// Stream is the stream's replicas, age and size limits, applied when a
	// service creates it and updated at start when they differ. Zero
	// fields: stream.Limits's defaults.
	Stream stream.Limits
	// MaxDeliveries bounds how often the broker delivers a message whose
	// handler keeps failing for a passing reason (a locked database, a
	// full disk), with a backoff from 1 s doubling up to 30 s between
	// deliveries; after the last the message is poisoned, saying so.
	// Default: 20, about eight minutes.
	MaxDeliveries int
	// InFlight is how many messages each consumer handles at once.
	// Default 1: one by one, in the stream's order. With more, a slow
	// message does not hold up the ones behind it, and a store that
	// commits concurrent transactions together (sqlitestore) gets work to
	// group; the order among messages in flight together is lost, so
	// every handler must take them in any order.
	InFlight int
	// TracerProvider makes the spans of handled messages and relay
	// publishes (tracing.go). Nil: no spans, at no cost; a trace context
	// that came in is still passed on.
	TracerProvider trace.TracerProvider
	// Metrics is where the bus registers its Prometheus metrics
	// (metrics.go). Nil: none are exposed.
	Metrics prometheus.Registerer
}

func (c *Config) setDefaults() {
	if c.Catalogue == nil {
		c.Catalogue = events.Catalog()
	}
	if c.MaxDeliveries == 0 {
		c.MaxDeliveries = 20
	}
	if c.InFlight == 0 {
		c.InFlight = 1
	}
}

func (c Config) validate() error {
	if c.Service == "" || c.Store == nil || c.Logger == nil {
		return errors.New("messaging: Service, Store and Logger are required")
	}
	return nil
}

// Bus is one service's connection to the message flow.
type Bus struct {
	cfg      Config
	wmLogger watermill.LoggerAdapter
	events   *cqrs.EventBus       // writes events into the outbox of a transaction
	router   *message.Router      // runs the handlers
	handlers *cqrs.EventProcessor // typed handlers on the router
	relay    *relay
	consumes []consumer // what the service registered, checked against the catalogue
	// conn is the service's one connection to the broker, made by Run, as
	// are the poison publisher and the subscribers on it.
	conn   *nats.Conn
	poison message.Publisher
	// subscribed is set once the consumers run; health is the last
	// readiness check's answer (see health.go).
	subscribed atomic.Bool
	health     atomic.Pointer[error]
	checkNow   chan struct{} // asks watch for a check before the next tick
	err        error         // the first registration error, returned by Run
	tracing    tracing
	metrics    *metrics
}

// consumer is one durable consumer of the service: one topic, one handler.
type consumer struct {
	name    string // also the inbox's consumer name
	topic   string
	durable string
}

// New builds a service's bus. It does not reach the broker: Run does, so
// a service starts (and takes work into its outbox) while the broker is
// away, and domain code can be tested with a bus that never runs.
func New(cfg Config) (*Bus, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	b := &Bus{cfg: cfg, checkNow: make(chan struct{}, 1), tracing: newTracing(cfg.TracerProvider), wmLogger: watermill.NewSlogLoggerWithLevelMapping(cfg.Logger.With("component", "watermill"),
		map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})}
	var err error
	b.events, err = cqrs.NewEventBusWithConfig(outboxPublisher{store: cfg.Store}, cqrs.EventBusConfig{
		GeneratePublishTopic: func(p cqrs.GenerateEventPublishTopicParams) (string, error) { return p.EventName, nil },
		OnPublish:            b.stampMetadata,
		Marshaler:            eventMarshaler{},
		Logger:               b.wmLogger,
	})
	if err != nil {
		return nil, fmt.Errorf("messaging event bus: %w", err)
	}
	b.router, err = message.NewRouter(message.RouterConfig{CloseTimeout: 10 * time.Second}, b.wmLogger)
	if err != nil {
		return nil, fmt.Errorf("messaging router: %w", err)
	}
	b.handlers, err = cqrs.NewEventProcessorWithConfig(b.router, cqrs.EventProcessorConfig{
		GenerateSubscribeTopic: func(p cqrs.EventProcessorGenerateSubscribeTopicParams) (string, error) {
			return p.EventName, nil
		},
		SubscriberConstructor: func(p cqrs.EventProcessorSubscriberConstructorParams) (message.Subscriber, error) {
			return b.subscriber(p.EventHandler.NewEvent().(events.Event).EventName()), nil
		},
		Marshaler: eventMarshaler{},
		Logger:    b.wmLogger,
	})
	if err != nil {
		return nil, fmt.Errorf("messaging event processor: %w", err)
	}
	poison, err := middleware.PoisonQueueWithFilter(poisonPublisher{bus: b}, stream.PoisonTopic, neverProcessed)
	if err != nil {
		return nil, fmt.Errorf("messaging poison queue: %w", err)
	}
	// Outermost first: the request context and the handler's span; the
	// poison queue, for what can never be processed; the bound on
	// deliveries, which turns a passing
	// failure on the last one into that; a quick retry in place for a
	// blip; recovery from a panicking handler. Any other error nacks the
	// message, and the broker delivers it again after a backoff.
	b.router.AddMiddleware(
		b.withRequestContext,
		b.withSpan,
		poison,
		b.boundDeliveries,
		middleware.Retry{
			MaxRetries:      1,
			InitialInterval: 100 * time.Millisecond,
			Logger:          b.wmLogger,
			ShouldRetry:     func(p middleware.RetryParams) bool { return !errors.Is(p.Err, events.ErrInvalid) },
		}.Middleware,
		middleware.Recoverer,
	)
	if b.metrics, err = newMetrics(cfg.Metrics, b); err != nil {
		return nil, err
	}
	b.relay = newRelay(cfg.Service, cfg.Store, cfg.Logger.With("component", "outbox"))
	b.relay.tracing, b.relay.metrics = b.tracing, b.metrics
	return b, nil
}

// Run connects to the broker and runs the consumers and the outbox relay
// until ctx is done. While the broker is unreachable it keeps trying.
func (b *Bus) Run(ctx context.Context) error {
	if b.err != nil {
		return b.err
	}
	if err := b.checkCatalogue(); err != nil {
		return err
	}
	if b.cfg.BrokerURL == "" {
		return errors.New("messaging: BrokerURL is required to run")
	}
	// One connection for everything: provisioning, the relay, the poison
	// publisher and every consumer (NATS multiplexes them).
	conn, err := stream.Connect(b.cfg.BrokerURL, b.cfg.Service)
	if err != nil {
		return err
	}
	defer conn.Close()
	b.conn = conn
	b.metrics.conn.Store(conn)
	if b.poison, err = stream.NewPublisher(conn, b.wmLogger); err != nil {
		return fmt.Errorf("messaging publisher: %w", err)
	}
	if b.poison, err = decoratePoison(b.cfg.Metrics, b.poison); err != nil {
		return fmt.Errorf("messaging publisher metrics: %w", err)
	}
	writer, err := stream.NewWriter(conn, relayBatchSize)
	if err != nil {
		return fmt.Errorf("messaging publisher: %w", err)
	}
	b.relay.publish = writer.Write

	g, ctx := errgroup.WithContext(ctx)
	if one, ok := b.cfg.Store.(OneInstance); ok && one.OneInstance() {
		lease, err := b.takeLease(ctx)
		if err != nil || lease == nil {
			return err
		}
		g.Go(func() error { return lease.Keep(ctx) })
	}
	g.Go(func() error {
		b.relay.Run(ctx)
		return nil
	})
	g.Go(func() error { return b.runConsumers(ctx) })
	g.Go(func() error {
		b.watch(ctx)
		return nil
	})
	return g.Wait()
}

// takeLease claims the service's lease on the broker, retrying while the
// broker is away; nil with no error means ctx ended first.
func (b *Bus) takeLease(ctx context.Context) (*stream.Lease, error) {
	holder := cmp.Or(b.cfg.Instance, b.cfg.Service+"-"+watermill.NewShortUUID())
	for delay := 100 * time.Millisecond; ; delay = min(delay*2, 5*time.Second) {
		lease, err := stream.TakeLease(ctx, b.conn, b.cfg.Service, holder, b.cfg.Stream.Replicas)
		switch {
		case err == nil:
			return lease, nil
		case errors.Is(err, stream.ErrLeaseHeld):
			return nil, fmt.Errorf("another instance of %s runs on this broker (%w), and this one keeps its state "+
				"in a database file of its own: two would split it. Stop the other; on SQLite a service runs "+
				"as one instance per broker", b.cfg.Service, err)
		case ctx.Err() != nil:
			return nil, nil
		}
		b.cfg.Logger.Warn("broker not ready for the instance lease, retrying", "error", err)
		if !sleep(ctx, delay) {
			return nil, nil
		}
	}
}

// runConsumers provisions the stream and the durable consumers, retrying
// while the broker is away, then runs the handlers.
func (b *Bus) runConsumers(ctx context.Context) error {
	provision := func() error {
		if err := stream.Ensure(ctx, b.conn, b.cfg.Stream); err != nil {
			return err
		}
		atEnd := b.cfg.StartAtEnd != nil && b.cfg.StartAtEnd()
		for _, c := range b.consumes {
			var err error
			if atEnd {
				err = stream.StartConsumerAtEnd(ctx, b.conn, stream.Name, c.durable, c.topic, b.cfg.MaxDeliveries)
			} else {
				_, err = stream.EnsureConsumer(ctx, b.conn, stream.Name, c.durable, c.topic, b.cfg.MaxDeliveries)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	for delay := 100 * time.Millisecond; ; delay = min(delay*2, 5*time.Second) {
		err := provision()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		b.cfg.Logger.Warn("broker not ready, retrying", "error", err)
		if !sleep(ctx, delay) {
			return nil
		}
	}
	if len(b.consumes) == 0 {
		b.setSubscribed()
		<-ctx.Done()
		return nil
	}
	go func() {
		select {
		case <-b.router.Running():
			b.setSubscribed()
		case <-ctx.Done():
		}
	}()
	if err := b.router.Run(ctx); err != nil {
		return fmt.Errorf("%s consumers: %w", b.cfg.Service, err)
	}
	return nil
}
