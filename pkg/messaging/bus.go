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
	"golang.org/x/sync/errgroup"

	"eventually/pkg/events"
	"eventually/pkg/stream"
)

// Config is what a Bus needs from its service.
type Config struct {
	// Service is the producer name of its events and the prefix of its
	// durable consumers. Required.
	Service string
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
}

func (c *Config) setDefaults() {
	if c.Catalogue == nil {
		c.Catalogue = events.Catalog()
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
	// conn is the service's one connection to the broker, made by Run;
	// the publisher and subscribers built on it are made then too.
	conn   *nats.Conn
	poison message.Publisher
	ready  atomic.Bool
	err    error // the first registration error, returned by Run
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
	b := &Bus{cfg: cfg, wmLogger: watermill.NewSlogLoggerWithLevelMapping(cfg.Logger.With("component", "watermill"),
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
	poison, err := middleware.PoisonQueue(poisonPublisher{bus: b}, stream.PoisonTopic)
	if err != nil {
		return nil, fmt.Errorf("messaging poison queue: %w", err)
	}
	// Outermost first: the request context, then the poison queue that
	// catches what retries could not fix, then retries with backoff for
	// transient errors (an invalid message is not retried), then recovery
	// from a panicking handler.
	b.router.AddMiddleware(
		b.withRequestContext,
		poison,
		middleware.Retry{
			MaxRetries:      5,
			InitialInterval: 50 * time.Millisecond,
			MaxInterval:     2 * time.Second,
			Multiplier:      2,
			ShouldRetry:     func(p middleware.RetryParams) bool { return !errors.Is(p.Err, events.ErrInvalid) },
			Logger:          b.wmLogger,
		}.Middleware,
		middleware.Recoverer,
	)
	b.relay = newRelay(cfg.Store, cfg.Logger.With("component", "outbox"))
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
	// One connection for the relay, the poison publisher and every
	// consumer: NATS multiplexes them, and its reader goroutine was not
	// the bottleneck of any measured run.
	conn, err := stream.Connect(b.cfg.BrokerURL, b.cfg.Service)
	if err != nil {
		return err
	}
	defer conn.Close()
	b.conn = conn
	if b.poison, err = stream.NewPublisher(conn, b.wmLogger); err != nil {
		return fmt.Errorf("messaging publisher: %w", err)
	}
	writer, err := stream.NewWriter(conn, relayBatchSize)
	if err != nil {
		return fmt.Errorf("messaging publisher: %w", err)
	}
	b.relay.publish = writer.Write

	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		b.relay.Run(ctx)
		return nil
	})
	g.Go(func() error { return b.runConsumers(ctx) })
	return g.Wait()
}

// runConsumers provisions the stream and the durable consumers, retrying
// while the broker is away, then runs the handlers.
func (b *Bus) runConsumers(ctx context.Context) error {
	provision := func() error {
		if err := stream.Ensure(ctx, b.conn); err != nil {
			return err
		}
		for _, c := range b.consumes {
			if err := stream.EnsureConsumer(ctx, b.conn, stream.Name, c.durable, c.topic); err != nil {
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
		b.ready.Store(true)
		<-ctx.Done()
		return nil
	}
	go func() {
		select {
		case <-b.router.Running():
			b.ready.Store(true)
		case <-ctx.Done():
		}
	}()
	if err := b.router.Run(ctx); err != nil {
		return fmt.Errorf("%s consumers: %w", b.cfg.Service, err)
	}
	return nil
}

// Ready reports whether the consumers are subscribed: a service is
// healthy only then, so "all healthy" means nothing is missed.
func (b *Bus) Ready() bool { return b.ready.Load() }
