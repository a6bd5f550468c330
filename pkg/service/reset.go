package service

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/labstack/echo/v4"
	"gorm.io/gorm"

	"eventually/pkg/messaging"
)

// ResetFence is what keeps a reset from being undone.
//
// The dashboard's Reset returns every service to the seed, but it cannot
// stop the messages already on their way: an event published before the
// reset (waiting in an outbox, in the stream, or delivered again) arrives
// a moment later and would undo it: a copy jumps to a settings version
// alpha no longer has, an order or a charge comes back.
//
// What we chose: every consumer drops the events that occurred before
// its service's last reset. The settings version restarts at the seed's
// (1000), so a later change is 1001 again and every copy takes it; an old
// 1001 still on its way is dropped for its age, not its version. The
// reset time is kept in the service's own database, so a restart keeps it.
//
// Its limits: it compares the producer's clock (occurred_at) with the
// consumer's (one machine, in the talk), and the services are reset one
// after the other, milliseconds apart: an event a service publishes
// after another was reset, but before its own reset, is handled. Press
// Reset again if a page disagrees.
type ResetFence struct {
	at atomic.Int64 // Unix nanoseconds of the last reset; 0: never reset
}

// resetMark is the one row that remembers the last reset.
type resetMark struct {
	ID uint `gorm:"primaryKey"`
	At time.Time
}

func (resetMark) TableName() string { return "reset_mark" }

// OpenResetFence reads when the service in db was last reset.
func OpenResetFence(db *gorm.DB) (*ResetFence, error) {
	if err := db.AutoMigrate(&resetMark{}); err != nil {
		return nil, fmt.Errorf("reset mark: %w", err)
	}
	var marks []resetMark
	if err := db.Find(&marks).Error; err != nil {
		return nil, fmt.Errorf("reset mark: %w", err)
	}
	f := &ResetFence{}
	for _, m := range marks {
		f.at.Store(m.At.UnixNano())
	}
	return f, nil
}

// Mark records a reset at now in the reset's transaction. The fence
// moves at once, before the commit, so a handler that starts meanwhile
// already drops its old event.
func (f *ResetFence) Mark(db *gorm.DB, now time.Time) error {
	f.at.Store(now.UnixNano())
	if err := db.Save(&resetMark{ID: 1, At: now.UTC()}).Error; err != nil {
		return fmt.Errorf("reset mark: %w", err)
	}
	return nil
}

// AfterReset wraps a message handler: an event that occurred before the
// service's last reset is acknowledged and changes nothing.
func AfterReset[T any](f *ResetFence, logger *slog.Logger,
	handle func(ctx context.Context, tx *messaging.Tx, ev *T) error) func(ctx context.Context, tx *messaging.Tx, ev *T) error {
	return func(ctx context.Context, tx *messaging.Tx, ev *T) error {
		if name, old := f.before(ctx); old {
			logger.InfoContext(ctx, "event from before the reset dropped", "event", name)
			return nil
		}
		return handle(ctx, tx, ev)
	}
}

// before says whether the message being handled occurred before the last
// reset, and names its event.
func (f *ResetFence) before(ctx context.Context) (string, bool) {
	at := f.at.Load()
	msg := cqrs.OriginalMessageFromCtx(ctx)
	if at == 0 || msg == nil {
		return "", false
	}
	occurred, err := time.Parse(time.RFC3339Nano, msg.Metadata.Get(messaging.OccurredAtKey))
	if err != nil {
		return "", false // checked before any handler runs; never here
	}
	return msg.Metadata.Get(messaging.EventNameKey), occurred.UnixNano() < at
}

// ResetHandler is a service's POST /api/reset: in one transaction it
// marks the reset on fence and lets reseed return the service's tables
// to the seed; then switches (if any) puts the service's run-time
// switches back to their start values.
func (p *Parts) ResetHandler(fence *ResetFence, reseed func(db *gorm.DB) error, switches func()) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		err := p.Bus.Transaction(ctx, func(tx *messaging.Tx) error {
			if err := fence.Mark(tx.DB, time.Now()); err != nil {
				return err
			}
			return reseed(tx.DB)
		})
		if err != nil {
			return fmt.Errorf("reset %s: %w", p.Name, err)
		}
		if switches != nil {
			switches()
		}
		p.Live.Changed()
		p.Logger.InfoContext(ctx, "reset to the seed")
		return c.JSON(http.StatusOK, map[string]string{"service": p.Name, "status": "reset to the seed"})
	}
}

// DeleteAll empties the tables of the given models, for a reset.
func DeleteAll(db *gorm.DB, models ...any) error {
	for _, m := range models {
		if err := db.Where("1 = 1").Delete(m).Error; err != nil {
			return fmt.Errorf("delete all %T: %w", m, err)
		}
	}
	return nil
}
