// Package domaintest runs a service's domain logic in a unit test, with
// neither HTTP nor a broker: a fresh SQLite database in a temp dir, and a
// bus on it that never runs. Its transactions commit as in the service,
// and the events they publish wait in the outbox, where the test reads
// them with Outbox.
package domaintest

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gorm.io/gorm"

	"eventually/pkg/events"
	"eventually/pkg/logging"
	"eventually/pkg/messaging"
	"eventually/pkg/postgres"
	"eventually/pkg/sqlite"
	"eventually/pkg/stage"
)

// Env is one service's database, bus, stage and logger in a test.
type Env struct {
	DB  *gorm.DB
	Bus *messaging.Bus
	// Stage starts at stage.Max, every problem solved; a test sets another.
	Stage  *stage.Stage
	Logger *slog.Logger
	store  messaging.GormStore
}

// New opens the database of service with its models and the bus's own
// tables, and seeds it; it is closed when the test ends.
func New(t testing.TB, service string, models []any, seed func(*gorm.DB) error) *Env {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), service+".db"), slices.Concat(models, messaging.Models())...)
	if err != nil {
		t.Fatal(err)
	}
	return newEnv(t, db, service, seed)
}

// NewShared opens the service's schema on the Postgres database at url,
// as each instance of a service does: several Envs of one url and service
// share their tables, as the instances do. It is closed when the test ends.
func NewShared(t testing.TB, url, service string, models []any, seed func(*gorm.DB) error) *Env {
	t.Helper()
	db, err := postgres.Open(context.Background(), url, service, slices.Concat(models, messaging.Models())...)
	if err != nil {
		t.Fatal(err)
	}
	return newEnv(t, db, service, seed)
}

func newEnv(t testing.TB, db *gorm.DB, service string, seed func(*gorm.DB) error) *Env {
	t.Helper()
	t.Cleanup(func() { _ = sqlite.Close(db) }) // closes any gorm database
	if err := seed(db); err != nil {
		t.Fatal(err)
	}
	env := &Env{DB: db, Logger: logging.Discard(), store: messaging.GormStore{DB: db}}
	var err error
	env.Bus, err = messaging.New(messaging.Config{Service: service, Store: env.store, Logger: env.Logger})
	if err != nil {
		t.Fatal(err)
	}
	if env.Stage, err = stage.New(stage.Max); err != nil {
		t.Fatal(err)
	}
	return env
}

// SetStage sets the stage the domain runs at: problems 1..n solved.
func (env *Env) SetStage(t testing.TB, n int) {
	t.Helper()
	if err := env.Stage.Set(n); err != nil {
		t.Fatal(err)
	}
}

// Handler is a message handler, as messaging.Handle takes it.
type Handler[T any] func(ctx context.Context, tx *messaging.Tx, ev *T) error

// Deliver runs a message handler on ev in one transaction, as the bus
// does with a message from the broker (the inbox aside: delivering the
// same event twice runs the handler twice, like two different messages).
func Deliver[T any](env *Env, handle Handler[T], ev *T) error {
	ctx := context.Background()
	return env.Bus.Transaction(ctx, func(tx *messaging.Tx) error { return handle(ctx, tx, ev) })
}

// Outbox takes the events waiting in the outbox, oldest first, as the
// relay would: the next call returns only those published after this one.
func (env *Env) Outbox(t testing.TB) []events.Event {
	t.Helper()
	ctx := context.Background()
	batch, err := env.store.Unpublished(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []events.Event
	var ids []uint64
	for _, msg := range batch {
		var meta map[string]string
		if err := json.Unmarshal([]byte(msg.Metadata), &meta); err != nil {
			t.Fatalf("outbox message %s: metadata: %v", msg.UUID, err)
		}
		version, _ := strconv.Atoi(meta[messaging.EventVersionKey])
		ev, err := events.Decode(msg.Topic, version, msg.Payload)
		if err != nil {
			t.Fatalf("outbox message %s: %v", msg.UUID, err)
		}
		out = append(out, ev)
		ids = append(ids, msg.ID)
	}
	if len(ids) > 0 {
		if err := env.store.MarkPublished(ctx, ids); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// WantOutbox takes the outbox (see Outbox) and fails the test unless it
// holds exactly want, in order.
func (env *Env) WantOutbox(t testing.TB, want ...events.Event) {
	t.Helper()
	got := env.Outbox(t)
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("outbox:\n%s\nwant:\n%s", describe(got), describe(want))
	}
}

// describe lists events one a line, as name and JSON payload.
func describe(evs []events.Event) string {
	if len(evs) == 0 {
		return "  (nothing)"
	}
	var b strings.Builder
	for _, ev := range evs {
		payload, _ := json.Marshal(ev)
		b.WriteString("  " + ev.EventName() + " " + string(payload) + "\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}
