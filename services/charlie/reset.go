package charlie

import (
	"gorm.io/gorm"

	"eventually/pkg/seed"
	"eventually/pkg/service"
)

// reseed returns charlie's tables to the seed, for a reset: its copy of
// the seed's fee setting, the only version it has seen, and no charges,
// so an empty ledger. Events from before the reset are dropped when they
// arrive (service.ResetFence).
func reseed(db *gorm.DB) error {
	if err := service.DeleteAll(db, &Charge{}, &FeeVersion{}); err != nil {
		return err
	}
	if err := saveFee(db, feeSettingFromEvent(seed.Settings)); err != nil {
		return err
	}
	return seedStore(db)
}
