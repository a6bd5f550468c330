package alpha

import (
	"fmt"
	"time"

	"gorm.io/gorm"

	"eventually/pkg/domain"
	"eventually/pkg/events"
)

// Settings is alpha's canonical settings (fee and discount): the only
// writable copy, one row. It is alpha's own table, mapped to the contract
// (events.Settings) by toEvent, so a contract change migrates no table
// unless alpha chooses to keep the new field.
type Settings struct {
	ID              uint      `gorm:"primaryKey" json:"-"`
	GUID            string    `json:"guid"`
	Version         int64     `json:"version"`
	FeeEnabled      bool      `json:"fee_enabled"`
	FeeCents        int64     `json:"fee_cents"`
	DiscountEnabled bool      `json:"discount_enabled"`
	DiscountCents   int64     `json:"discount_cents"`
	UpdatedAt       time.Time `json:"-"`
}

func (Settings) TableName() string { return "settings" }

// settingsFromEvent is alpha's form of settings in a contract: the seed,
// or the snapshot an order.captured carries.
func settingsFromEvent(e events.Settings) Settings {
	return Settings{
		GUID: e.GUID, Version: e.Version,
		FeeEnabled: e.FeeEnabled, FeeCents: e.FeeCents,
		DiscountEnabled: e.DiscountEnabled, DiscountCents: e.DiscountCents,
	}
}

// toEvent is the contract form of the settings, as settings.changed carries them.
func (s Settings) toEvent() events.Settings {
	return events.Settings{
		GUID: s.GUID, Version: s.Version,
		FeeEnabled: s.FeeEnabled, FeeCents: s.FeeCents,
		DiscountEnabled: s.DiscountEnabled, DiscountCents: s.DiscountCents,
	}
}

// settingsRowID is the one row of the settings table.
const settingsRowID = 1

func loadSettings(db *gorm.DB) (Settings, error) {
	var s Settings
	if err := db.First(&s, settingsRowID).Error; err != nil {
		return Settings{}, fmt.Errorf("load settings: %w", err)
	}
	return s, nil
}

func saveSettings(db *gorm.DB, s Settings) error {
	s.ID = settingsRowID
	if err := db.Save(&s).Error; err != nil {
		return fmt.Errorf("save settings: %w", err)
	}
	return nil
}

// SettingsChange is a partial update of the settings: the fields given
// change, the others stay.
type SettingsChange struct {
	FeeEnabled      *bool  `json:"fee_enabled"`
	DiscountEnabled *bool  `json:"discount_enabled"`
	FeeCents        *int64 `json:"fee_cents"`
	DiscountCents   *int64 `json:"discount_cents"`
}

// Validate says what is wrong with a change.
func (c SettingsChange) Validate() error {
	if c == (SettingsChange{}) {
		return fmt.Errorf("%w: give at least one of fee_enabled, discount_enabled, fee_cents, discount_cents", domain.ErrInvalid)
	}
	for field, v := range map[string]*int64{"fee_cents": c.FeeCents, "discount_cents": c.DiscountCents} {
		switch {
		case v != nil && *v < 0:
			return fmt.Errorf("%w: %s must not be negative", domain.ErrInvalid, field)
		case v != nil && *v > events.MaxCents:
			// Every amount is bounded, so no sum of them can overflow.
			return fmt.Errorf("%w: %s must be at most %d", domain.ErrInvalid, field, events.MaxCents)
		}
	}
	return nil
}

// applyTo changes s by c; the version is the caller's to bump.
func (c SettingsChange) applyTo(s *Settings) {
	if c.FeeEnabled != nil {
		s.FeeEnabled = *c.FeeEnabled
	}
	if c.DiscountEnabled != nil {
		s.DiscountEnabled = *c.DiscountEnabled
	}
	if c.FeeCents != nil {
		s.FeeCents = *c.FeeCents
	}
	if c.DiscountCents != nil {
		s.DiscountCents = *c.DiscountCents
	}
}
