// Package service holds the parts every service is made of: its own
// database (a SQLite file, or a schema on Postgres), its stage, its
// connection to the broker, its HTTP server. A service package builds on
// it and adds its domain.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/trace"
	"gorm.io/gorm"

	"eventually/pkg/events"
	"eventually/pkg/messaging"
	"eventually/pkg/requestid"
	"eventually/pkg/server"
	"eventually/pkg/stage"
	"eventually/pkg/stream"
)

// Config is what every service is started with.
type Config struct {
	Addr      string // HTTP address; "127.0.0.1:0" picks a free port
	DataDir   string // the service's database is <DataDir>/<name>.db
	BrokerURL string // nats://...
	Stage     int    // 0..stage.Max: problems 1..Stage are solved
	Logger    *slog.Logger
	Browser   server.Browser // which web pages may call it
	// Instance names this process among the service's instances: on every
	// log line, in /readyz, and on every message it produces. Optional.
	Instance string
	// Stream is the stream's replicas and limits (zero: the defaults).
	Stream stream.Limits
	// DatabaseURL, a postgres:// URL, keeps the service's tables in the
	// schema <name> on that server instead of DataDir, shared by its
	// instances (store.go).
	DatabaseURL string
	// TracerProvider makes the service's spans (pkg/telemetry); nil: none.
	TracerProvider trace.TracerProvider
}

// InFlight is how many messages each consumer of a service handles at
// once. Every handler takes messages in any order: settings changes carry
// a version and older ones are ignored, and an order's events follow one
// another (each is caused by the one before). Under load the SQLite
// store commits the transactions of messages in flight together
// (sqlite.Group); docs/performance.md gives the measured gain.
const InFlight = 16

// Parts are a running service's shared pieces.
type Parts struct {
	Name     string
	DB       *gorm.DB
	Stage    *stage.Stage
	Live     *server.Live
	Bus      *messaging.Bus
	HTTP     *echo.Echo
	Logger   *slog.Logger
	listener net.Listener
}

// New opens the database (migrating models and the bus's own tables),
// connects to the broker and listens on the HTTP address.
func New(name string, cfg Config, models ...any) (*Parts, error) {
	if cfg.Logger == nil {
		return nil, errors.New(name + ": a logger is required")
	}
	if cfg.Instance != "" {
		cfg.Logger = cfg.Logger.With("instance", cfg.Instance)
	}
	st, err := stage.New(cfg.Stage)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	db, store, err := openStore(name, cfg, append(models, messaging.Models()...))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p := &Parts{Name: name, DB: db, Stage: st, Live: server.NewLive(), Logger: cfg.Logger}
	metrics := server.NewRegistry() // GET /metrics
	p.Bus, err = messaging.New(messaging.Config{
		Service: name, Instance: cfg.Instance, BrokerURL: cfg.BrokerURL, Logger: cfg.Logger, Stream: cfg.Stream,
		TracerProvider: cfg.TracerProvider, Metrics: metrics, InFlight: InFlight,
		Store:        withFaults(store, cfg.Logger),
		BeforeHandle: ownRequestIDs(st),
		StartAtEnd:   missesWhatWasSentWhileDown(st, cfg.DatabaseURL != ""),
		OnCommit:     p.Live.Changed,
	})
	if err != nil {
		closeDB(db)
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p.HTTP = server.New(server.Config{Service: name, Instance: cfg.Instance, Logger: cfg.Logger, Stage: st, Live: p.Live,
		Ready: p.Bus.Health, Browser: cfg.Browser, TracerProvider: cfg.TracerProvider, Metrics: metrics})
	// The events this service produces and consumes, with their schemas.
	contracts := events.ContractsOf(name)
	p.HTTP.GET("/api/contracts", func(c echo.Context) error { return c.JSON(http.StatusOK, contracts) })
	p.listener, err = server.Listen(cfg.Addr)
	if err != nil {
		closeDB(db)
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return p, nil
}

// ownRequestIDs is how services treat the request ID of a message they
// handle.
//
// Issue 5: before the fix every service makes up an ID of its own for
// each message, so one customer action cannot be followed across them;
// solved, the handler works under the message's request ID and passes it on.
func ownRequestIDs(st *stage.Stage) func(context.Context) context.Context {
	return func(ctx context.Context) context.Context {
		if st.Solved(5) {
			return ctx
		}
		return requestid.With(ctx, requestid.New())
	}
}

// missesWhatWasSentWhileDown says where the service's consumers start
// when it starts.
//
// Issue 6: before the fix they start at the end of the stream, as
// subscribers of a pub/sub broker that keeps nothing (the original's
// Redis): what was published while the service was down never reaches
// it. Solved, durable consumers resume where they left off and the
// service catches up. The stage is read when the service starts.
//
// Never on a database that several instances share: the consumers are
// the service's, and a starting instance would move them under the feet
// of those running.
func missesWhatWasSentWhileDown(st *stage.Stage, shared bool) func() bool {
	return func() bool { return !shared && !st.Solved(6) }
}

// Addr is the address the HTTP server listens on.
func (p *Parts) Addr() string { return p.listener.Addr().String() }

// DBFor is the service's database bound to an HTTP request's context.
func (p *Parts) DBFor(c echo.Context) *gorm.DB { return p.DB.WithContext(c.Request().Context()) }

// URL is the service's base URL.
func (p *Parts) URL() string { return "http://" + p.Addr() }

// Page is the shared layout's data for a page of this service.
func (p *Parts) Page(title string) server.Page {
	return server.Page{Service: p.Name, Title: title, Stage: p.Stage.Get()}
}

// Run serves HTTP and runs the consumers and outbox relay until ctx is
// done, then closes the database.
func (p *Parts) Run(ctx context.Context) error {
	p.Logger.Info("service started", "addr", p.Addr(), "stage", p.Stage.Get())
	err := server.Run(ctx, p.HTTP, p.listener, p.Bus.Run)
	if cerr := closeDB(p.DB); cerr != nil && err == nil {
		err = cerr
	}
	p.Logger.Info("service stopped")
	return err
}
