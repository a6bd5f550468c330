// Package messaging is the one place that knows about Watermill and NATS.
// A service gets a Bus: it writes state changes and the events they cause
// in one transaction (outbox), handles events at most once per message ID
// (inbox), and every message carries the metadata of the design brief.
package messaging

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/nats-io/nats.go"
	"gorm.io/gorm"

	"eventually/pkg/events"
	"eventually/pkg/requestid"
	"eventually/pkg/sqlite"
	"eventually/pkg/stage"
)

// Config is what a Bus needs from its service.
type Config struct {
	Service   string       // the producer name and the prefix of its consumers
	BrokerURL string       // nats://...
	DB        *gorm.DB     // the service's own database: outbox and inbox live here
	Logger    *slog.Logger // JSON logs with request_id
	Stage     *stage.Stage
	// OnCommit, when set, runs after every committed transaction, e.g. to
	// refresh the service's live pages.
	OnCommit func()
	// CrashBeforePublish is fault injection for the outbox test: the
	// process kills itself (SIGKILL) after a commit, before the relay
	// publishes. Never set it outside that test.
	CrashBeforePublish bool
}

// Models are the tables the bus keeps in a service's database; migrate
// them with the service's own.
func Models() []any { return []any{&OutboxMessage{}, &ProcessedMessage{}} }

// Bus is one service's connection to the broker.
type Bus struct {
	cfg      Config
	wmLogger watermill.LoggerAdapter
	router   *message.Router
	relay    *relay
	stmts    *sqlite.Statements
	handlers []registration
	conns    []*nats.Conn
	pubConn  *nats.Conn
	ready    atomic.Bool
}

type registration struct {
	name    string // also the inbox consumer name
	topic   string
	durable string
	add     func(sub message.Subscriber) error
}

// Tx is an open transaction of a service: its database and the events
// that commit with it.
type Tx struct {
	DB     *gorm.DB
	events *cqrs.EventBus
}

// Publish writes ev to the outbox of this transaction. It reaches the
// broker after the commit, or never if the transaction rolls back.
func (tx *Tx) Publish(ctx context.Context, ev events.Event) error {
	if err := tx.events.Publish(ctx, ev); err != nil {
		return fmt.Errorf("publish %s: %w", ev.EventName(), err)
	}
	return nil
}

// New connects a service to the broker. The connection is retried in the
// background, so a service starts (and takes work) while the broker is down.
func New(cfg Config) (*Bus, error) {
	if cfg.Service == "" || cfg.DB == nil || cfg.Logger == nil || cfg.Stage == nil {
		return nil, errors.New("messaging: Service, DB, Logger and Stage are required")
	}
	b := &Bus{cfg: cfg, wmLogger: watermill.NewSlogLoggerWithLevelMapping(cfg.Logger.With("component", "watermill"), map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})}
	stmts, err := sqlite.NewStatements(cfg.DB)
	if err != nil {
		return nil, fmt.Errorf("messaging: %w", err)
	}
	// The statements every message runs, prepared before anything holds
	// the connection.
	if err := stmts.Prepare(context.Background(), insertInboxSQL, insertOutboxSQL, readOutboxSQL, markPublishedSQL); err != nil {
		return nil, fmt.Errorf("messaging: %w", err)
	}
	b.stmts = stmts
	nc, err := Connect(cfg.BrokerURL, cfg.Service+"-publisher")
	if err != nil {
		return nil, err
	}
	b.pubConn = nc
	pub, err := newPublisher(nc, b.wmLogger)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("messaging publisher: %w", err)
	}
	batches, err := newBatchPublisher(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("messaging publisher: %w", err)
	}
	b.relay = newRelay(stmts, batches, cfg.Logger.With("component", "outbox"))
	if cfg.CrashBeforePublish {
		b.relay.beforePublish = func([]OutboxMessage) {
			cfg.Logger.Warn("crashing before publish (EVENTUALLY_CRASH_BEFORE_PUBLISH)")
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
	}

	b.router, err = message.NewRouter(message.RouterConfig{CloseTimeout: 10 * time.Second}, b.wmLogger)
	if err != nil {
		return nil, fmt.Errorf("messaging router: %w", err)
	}
	poison, err := middleware.PoisonQueue(poisonPublisher{pub: pub, logger: cfg.Logger}, PoisonTopic)
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
	return b, nil
}

// Transaction runs fn in one database transaction; the events fn publishes
// are committed with it and relayed afterwards.
func (b *Bus) Transaction(ctx context.Context, fn func(tx *Tx) error) error {
	err := b.cfg.DB.WithContext(ctx).Transaction(func(db *gorm.DB) error {
		b.stmts.Tx(db)
		bus, err := cqrs.NewEventBusWithConfig(outboxPublisher{tx: db, stmts: b.stmts}, cqrs.EventBusConfig{
			GeneratePublishTopic: func(p cqrs.GenerateEventPublishTopicParams) (string, error) { return p.EventName, nil },
			OnPublish:            b.stampMetadata,
			Marshaler:            eventMarshaler{},
			Logger:               b.wmLogger,
		})
		if err != nil {
			return err
		}
		return fn(&Tx{DB: db, events: bus})
	})
	if err != nil {
		return err
	}
	b.relay.Wake()
	if b.cfg.OnCommit != nil {
		b.cfg.OnCommit()
	}
	// Now that this goroutine holds no connection, prepare the statements
	// that ran unprepared more than once; a failure only costs speed.
	if err := b.stmts.Prepare(ctx); err != nil && ctx.Err() == nil {
		b.cfg.Logger.WarnContext(ctx, "prepare statements", "error", err)
	}
	return nil
}

// stampMetadata sets the metadata every message carries.
func (b *Bus) stampMetadata(p cqrs.OnEventSendParams) error {
	ctx := p.Message.Context()
	md := p.Message.Metadata
	md.Set(ProducerKey, b.cfg.Service)
	md.Set(OccurredAtKey, time.Now().UTC().Format(time.RFC3339Nano))
	// Issue 5: the request ID of the context becomes the message's
	// correlation_id; the message being handled, if any, its causation_id.
	// Watermill's correlation middleware only tags messages a handler
	// returns, and ours go through the outbox, so it is set here.
	_, id := requestid.Ensure(ctx)
	md.Set(CorrelationIDKey, id)
	if parent := cqrs.OriginalMessageFromCtx(ctx); parent != nil {
		md.Set(CausationIDKey, parent.UUID)
	} else {
		md.Set(CausationIDKey, "")
	}
	return nil
}

// withRequestContext gives a handler the request ID to log with and to
// pass on.
func (b *Bus) withRequestContext(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		id := msg.Metadata.Get(CorrelationIDKey)
		// Issue 5: before the fix every service makes up an ID of its own
		// for each message, so one customer action cannot be followed.
		if !b.cfg.Stage.Solved(5) || !requestid.Valid(id) {
			id = requestid.New()
		}
		msg.SetContext(requestid.With(msg.Context(), id))
		return h(msg)
	}
}

// poisonPublisher sends a message that can never be processed to the
// poison topic under a new ID (the broker would drop a republished ID as a
// duplicate), and logs it with its request ID.
type poisonPublisher struct {
	pub    message.Publisher
	logger *slog.Logger
}

func (p poisonPublisher) Publish(topic string, msgs ...*message.Message) error {
	for _, msg := range msgs {
		poisoned := msg.Copy()
		poisoned.UUID = watermill.NewUUID()
		poisoned.Metadata.Set(PoisonOriginalUUIDKey, msg.UUID)
		p.logger.ErrorContext(msg.Context(), "message sent to poison topic",
			"message_uuid", msg.UUID,
			"event_name", msg.Metadata.Get(EventNameKey),
			"consumer", msg.Metadata.Get(PoisonConsumerKey),
			"reason", msg.Metadata.Get(PoisonReasonKey))
		if err := p.pub.Publish(topic, poisoned); err != nil {
			return err
		}
	}
	return nil
}

func (p poisonPublisher) Close() error { return nil }
