package beta

import (
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"eventually/pkg/events"
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

// The seed: beta's copy starts as alpha's seed, and one open cart.
var (
	seedSettings = events.Settings{
		GUID: "guid-12345678", Version: 1000,
		FeeEnabled: true, FeeCents: 2500,
		DiscountEnabled: false, DiscountCents: 1000,
	}
	seedCart = Cart{GUID: "cart-12345678", Status: CartOpen, Product: "widget", PriceCents: 1000, Snapshot: seedSettings}
)

// SeedCartGUID is the cart a fresh data dir has.
const SeedCartGUID = "cart-12345678"

func seed(db *gorm.DB) error {
	copy := SettingsCopy{ID: 1, Settings: seedSettings}
	if err := db.Where(SettingsCopy{ID: 1}).FirstOrCreate(&copy).Error; err != nil {
		return fmt.Errorf("seed beta settings: %w", err)
	}
	cart := seedCart
	cart.LoadedAt = time.Now().UTC()
	if err := db.Where(Cart{GUID: seedCart.GUID}).FirstOrCreate(&cart).Error; err != nil {
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
