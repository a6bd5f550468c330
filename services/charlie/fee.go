package charlie

import (
	"fmt"
	"time"

	"gorm.io/gorm"

	"eventually/pkg/events"
)

// FeeSetting is charlie's own copy of the fee part of alpha's settings,
// one row: charlie keeps only what it uses, so a contract change to the
// rest of the settings migrates nothing here.
type FeeSetting struct {
	ID         uint      `gorm:"primaryKey" json:"-"`
	GUID       string    `json:"guid"`
	Version    int64     `json:"version"`
	FeeEnabled bool      `json:"fee_enabled"`
	FeeCents   int64     `json:"fee_cents"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// feeRowID is the one row of the fee_settings table.
const feeRowID = 1

// feeSettingFromEvent is the fee part of settings in a contract: the
// seed, or what settings.changed carries.
func feeSettingFromEvent(e events.Settings) FeeSetting {
	return FeeSetting{GUID: e.GUID, Version: e.Version, FeeEnabled: e.FeeEnabled, FeeCents: e.FeeCents}
}

func loadFee(db *gorm.DB) (FeeSetting, error) {
	var f FeeSetting
	if err := db.First(&f, feeRowID).Error; err != nil {
		return f, fmt.Errorf("load fee setting: %w", err)
	}
	return f, nil
}

func saveFee(db *gorm.DB, f FeeSetting) error {
	f.ID = feeRowID
	if err := db.Save(&f).Error; err != nil {
		return fmt.Errorf("save fee setting: %w", err)
	}
	return nil
}
