package overlord

import (
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/labstack/echo/v4"
	"gorm.io/gorm"

	"eventually/pkg/sqlite"
)

// reset forgets every message: the watcher's view starts empty, as on a
// fresh data dir. The stream keeps them.
//
// Messages from before the reset still arrive a moment later (a consumer
// behind, an outbox relaying late), and a rebuild replays them all. They
// must not fill the view again, so the reset time is kept (resetFence)
// and a trigger on the messages table skips every insert of a message
// that occurred before it: the one place every insert passes, live or
// rebuilt. A rebuild that replaces the table puts the trigger back
// (applyFence). Our choice, as in the services (service.ResetFence): what
// occurred before the reset is dropped on arrival.
func (o *Overlord) reset(c echo.Context) error {
	ctx := c.Request().Context()
	fence := resetFence{ID: 1, OccurredBefore: time.Now().UTC().Format(timeFormat)} // as occurred_at is stored
	err := o.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Save(&fence).Error; err != nil {
			return err
		}
		if err := applyFence(tx); err != nil {
			return err
		}
		return tx.Exec("DELETE FROM " + messagesTable).Error
	})
	if err != nil {
		return fmt.Errorf("reset overlord: %w", err)
	}
	o.Live.Changed()
	o.Logger.InfoContext(ctx, "reset: every message forgotten", "dropping_before", fence.OccurredBefore)
	return c.JSON(http.StatusOK, map[string]string{"service": Name, "status": "reset to the seed"})
}

// resetFence is the one row that says when the view was last reset.
type resetFence struct {
	ID             int    `gorm:"primaryKey"`
	OccurredBefore string `gorm:"not null"`
}

// applyFence makes db's messages table keep the fence, if there is one:
// rows from before it go, and a trigger skips inserts from before it.
func applyFence(db *gorm.DB) error {
	if !db.Migrator().HasTable(&resetFence{}) {
		return nil
	}
	var fences []resetFence
	if err := db.Find(&fences).Error; err != nil || len(fences) == 0 {
		return err
	}
	stmts := []string{
		"DROP TRIGGER IF EXISTS messages_since_reset",
		`CREATE TRIGGER messages_since_reset BEFORE INSERT ON messages
			WHEN NEW.occurred_at < (SELECT occurred_before FROM reset_fences WHERE id = 1)
			BEGIN SELECT RAISE(IGNORE); END`,
		"DELETE FROM messages WHERE occurred_at < (SELECT occurred_before FROM reset_fences WHERE id = 1)",
	}
	for _, stmt := range stmts {
		if err := db.Exec(stmt).Error; err != nil {
			return fmt.Errorf("reset fence: %w", err)
		}
	}
	return nil
}

// carryFence copies the fence of the store file from, if it has one,
// into db (a store rebuilt in a new file).
func carryFence(from string, db *gorm.DB) error {
	if _, err := os.Stat(from); err != nil {
		return nil // no store yet: no fence
	}
	old, err := sqlite.Open(from)
	if err != nil {
		return err
	}
	defer sqlite.Close(old)
	if !old.Migrator().HasTable(&resetFence{}) {
		return nil
	}
	var fences []resetFence
	if err := old.Find(&fences).Error; err != nil || len(fences) == 0 {
		return err
	}
	if err := db.AutoMigrate(&resetFence{}); err != nil {
		return err
	}
	if err := db.Save(&fences[0]).Error; err != nil {
		return err
	}
	return applyFence(db)
}
