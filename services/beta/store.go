package beta

import (
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"eventually/pkg/events"
	"eventually/pkg/seed"
	"eventually/pkg/server"
)

// SettingsCopy is beta's own copy of alpha's settings, kept from
// settings.changed events.
type SettingsCopy struct {
	ID              uint `gorm:"primaryKey"`
	events.Settings `gorm:"embedded"`
	UpdatedAt       time.Time
}

func (SettingsCopy) TableName() string { return "settings_copy" }

// Cart statuses.
const (
	CartOpen   = "open"
	CartLocked = "locked" // an order is in flight
)

// Cart is a customer's cart form.
type Cart struct {
	GUID       string `gorm:"primaryKey"`
	Status     string `gorm:"not null"`
	Product    string
	PriceCents int64
	// Snapshot is the settings the form showed when it was loaded.
	Snapshot  events.Settings `gorm:"embedded;embeddedPrefix:snapshot_"`
	LoadedAt  time.Time
	UpdatedAt time.Time
}

// seedStore gives a fresh database beta's copy of the seed settings and
// the seed's open cart, stamped with them.
func seedStore(db *gorm.DB) error {
	copy := SettingsCopy{ID: 1, Settings: seed.Settings}
	if err := db.Where(SettingsCopy{ID: 1}).FirstOrCreate(&copy).Error; err != nil {
		return fmt.Errorf("seed beta settings: %w", err)
	}
	cart := Cart{GUID: seed.CartGUID, Status: CartOpen, Product: seed.CartProduct, PriceCents: seed.CartPriceCents,
		Snapshot: seed.Settings, LoadedAt: time.Now().UTC()}
	if err := db.Where(Cart{GUID: seed.CartGUID}).FirstOrCreate(&cart).Error; err != nil {
		return fmt.Errorf("seed cart: %w", err)
	}
	return nil
}

func loadCopy(db *gorm.DB) (events.Settings, error) {
	var row SettingsCopy
	if err := db.First(&row, 1).Error; err != nil {
		return events.Settings{}, fmt.Errorf("load settings copy: %w", err)
	}
	return row.Settings, nil
}

func findCart(db *gorm.DB, guid string) (Cart, error) {
	var c Cart
	err := db.Where("guid = ?", guid).First(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return c, fmt.Errorf("cart %s: %w", guid, server.ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("load cart %s: %w", guid, err)
	}
	return c, nil
}
