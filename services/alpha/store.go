package alpha

import (
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"eventually/pkg/events"
	"eventually/pkg/seed"
	"eventually/pkg/server"
)

// SettingsRow is alpha's canonical settings: the only writable copy.
type SettingsRow struct {
	ID              uint `gorm:"primaryKey"`
	events.Settings `gorm:"embedded"`
	UpdatedAt       time.Time
}

func (SettingsRow) TableName() string { return "settings" }

// Order statuses.
const (
	StatusPending   = "pending"
	StatusApproved  = "approved"
	StatusFinalized = "finalized"
)

// Order is a captured cart that alpha prices and approves.
type Order struct {
	ID            uint64 `gorm:"primaryKey" json:"-"`
	GUID          string `gorm:"uniqueIndex;not null" json:"guid"`
	CartGUID      string `gorm:"index;not null" json:"cart_guid"`
	Product       string `json:"product"`
	Channel       string `json:"channel,omitempty"`
	PriceCents    int64  `json:"price_cents"`
	FeeCents      int64  `json:"fee_cents"`
	DiscountCents int64  `json:"discount_cents"`
	TotalCents    int64  `json:"total_cents"`
	// SettingsVersion and PricedFrom say which settings priced the order.
	SettingsVersion int64     `json:"settings_version"`
	PricedFrom      string    `json:"priced_from"`
	Status          string    `gorm:"index" json:"status"`
	ChargeGUID      string    `json:"charge_guid,omitempty"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

func seedStore(db *gorm.DB) error {
	row := SettingsRow{ID: 1, Settings: seed.Settings}
	if err := db.Where(SettingsRow{ID: 1}).FirstOrCreate(&row).Error; err != nil {
		return fmt.Errorf("seed alpha settings: %w", err)
	}
	return nil
}

func loadSettings(db *gorm.DB) (events.Settings, error) {
	var row SettingsRow
	if err := db.First(&row, 1).Error; err != nil {
		return events.Settings{}, fmt.Errorf("load settings: %w", err)
	}
	return row.Settings, nil
}

func saveSettings(db *gorm.DB, s events.Settings) error {
	if err := db.Save(&SettingsRow{ID: 1, Settings: s}).Error; err != nil {
		return fmt.Errorf("save settings: %w", err)
	}
	return nil
}

// errNotFound is answered with 404.
var errNotFound = server.ErrNotFound

func findOrder(db *gorm.DB, guid string) (Order, error) {
	var o Order
	err := db.Where("guid = ?", guid).First(&o).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return o, fmt.Errorf("order %s: %w", guid, errNotFound)
	}
	if err != nil {
		return o, fmt.Errorf("load order %s: %w", guid, err)
	}
	return o, nil
}
