package overlord

import (
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"gorm.io/gorm"
)

// reset forgets every message: the watcher's view starts empty, as on a
// fresh data dir. The stream keeps them (a rebuild would bring back only
// those from after the reset, see below).
//
// Messages from before the reset still arrive a moment later (a consumer
// behind, an outbox relaying late). They must not fill the view again, so
// a trigger on the messages table skips every insert of a message that
// occurred before the reset: the one place every insert passes, live or
// rebuilt. Our choice, as in the services (service.ResetFence): what
// occurred before the reset is dropped on arrival.
func (o *Overlord) reset(c echo.Context) error {
	ctx := c.Request().Context()
	fence := time.Now().UTC().Format(timeFormat) // as occurred_at is stored
	err := o.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("DROP TRIGGER IF EXISTS messages_since_reset").Error; err != nil {
			return err
		}
		// The fence is our own clock's text, not input: safe to inline.
		err := tx.Exec(fmt.Sprintf(`CREATE TRIGGER messages_since_reset BEFORE INSERT ON messages
			WHEN NEW.occurred_at < '%s' BEGIN SELECT RAISE(IGNORE); END`, fence)).Error
		if err != nil {
			return err
		}
		return tx.Exec("DELETE FROM messages").Error
	})
	if err != nil {
		return fmt.Errorf("reset overlord: %w", err)
	}
	o.Live.Changed()
	o.Logger.InfoContext(ctx, "reset: every message forgotten", "dropping_before", fence)
	return c.JSON(http.StatusOK, map[string]string{"service": Name, "status": "reset to the seed"})
}
