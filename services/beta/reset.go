package beta

import (
	"gorm.io/gorm"

	"eventually/pkg/seed"
	"eventually/pkg/service"
)

// reseed returns beta's tables to the seed, for a reset: its copy of the
// seed's settings and the seed's one open cart. Events from before the
// reset are dropped when they arrive (service.ResetFence).
func reseed(db *gorm.DB) error {
	if err := service.DeleteAll(db, &Cart{}); err != nil {
		return err
	}
	if err := saveCopy(db, settingsFromEvent(seed.Settings)); err != nil {
		return err
	}
	return seedStore(db)
}
