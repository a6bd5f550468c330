package beta

import (
	"fmt"
	"time"

	"gorm.io/gorm"

	"eventually/pkg/events"
)

// Settings are alpha's settings as beta keeps them: in its copy, and in
// the snapshot each cart is stamped with. Beta's own type, mapped from
// and to the contract (events.Settings) below, so a contract change
// migrates beta's tables only if beta chooses to keep the new field.
type Settings struct {
	GUID            string `json:"guid"`
	Version         int64  `json:"version"`
	FeeEnabled      bool   `json:"fee_enabled"`
	FeeCents        int64  `json:"fee_cents"`
	DiscountEnabled bool   `json:"discount_enabled"`
	DiscountCents   int64  `json:"discount_cents"`
}

// settingsFromEvent is beta's form of settings in a contract: the seed,
// or what settings.changed carries.
func settingsFromEvent(e events.Settings) Settings {
	return Settings{
		GUID: e.GUID, Version: e.Version,
		FeeEnabled: e.FeeEnabled, FeeCents: e.FeeCents,
		DiscountEnabled: e.DiscountEnabled, DiscountCents: e.DiscountCents,
	}
}

// toEvent is the contract form of the settings, as order.captured carries
// a cart's snapshot.
func (s Settings) toEvent() events.Settings {
	return events.Settings{
		GUID: s.GUID, Version: s.Version,
		FeeEnabled: s.FeeEnabled, FeeCents: s.FeeCents,
		DiscountEnabled: s.DiscountEnabled, DiscountCents: s.DiscountCents,
	}
}

// SettingsCopy is beta's own copy of alpha's settings, one row, kept from
// settings.changed events.
type SettingsCopy struct {
	ID        uint     `gorm:"primaryKey"`
	Settings  Settings `gorm:"embedded"`
	UpdatedAt time.Time
}

func (SettingsCopy) TableName() string { return "settings_copy" }

// copyRowID is the one row of the settings_copy table.
const copyRowID = 1

func loadCopy(db *gorm.DB) (Settings, error) {
	var row SettingsCopy
	if err := db.First(&row, copyRowID).Error; err != nil {
		return Settings{}, fmt.Errorf("load settings copy: %w", err)
	}
	return row.Settings, nil
}

func saveCopy(db *gorm.DB, s Settings) error {
	if err := db.Save(&SettingsCopy{ID: copyRowID, Settings: s}).Error; err != nil {
		return fmt.Errorf("save settings copy: %w", err)
	}
	return nil
}
