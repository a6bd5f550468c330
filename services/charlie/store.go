package charlie

import (
	"fmt"
	"time"

	"gorm.io/gorm"

	"eventually/pkg/seed"
)

// FeeSetting is charlie's own copy of the fee part of alpha's settings.
type FeeSetting struct {
	ID         uint      `gorm:"primaryKey" json:"-"`
	GUID       string    `json:"guid"`
	Version    int64     `json:"version"`
	FeeEnabled bool      `json:"fee_enabled"`
	FeeCents   int64     `json:"fee_cents"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Charge is one charged order. OrderGUID is unique: an order is charged
// once, whatever is redelivered.
type Charge struct {
	ID          uint64 `gorm:"primaryKey" json:"-"`
	GUID        string `gorm:"uniqueIndex;not null" json:"guid"`
	OrderGUID   string `gorm:"uniqueIndex;not null" json:"order_guid"`
	CartGUID    string `json:"cart_guid"`
	AmountCents int64  `json:"amount_cents"`
	// FeeCents and FeeEnabled are what the fee was when the order was
	// charged; nil when charlie could not know (before issue 3 is solved).
	FeeCents        *int64    `json:"fee_cents"`
	FeeEnabled      *bool     `json:"fee_enabled"`
	SettingsVersion int64     `json:"settings_version"`
	CreatedAt       time.Time `json:"created_at"`
}

// seedStore gives a fresh database charlie's copy of the seed's fee setting.
func seedStore(db *gorm.DB) error {
	row := FeeSetting{ID: 1, GUID: seed.Settings.GUID, Version: seed.Settings.Version,
		FeeEnabled: seed.Settings.FeeEnabled, FeeCents: seed.Settings.FeeCents}
	if err := db.Where(FeeSetting{ID: 1}).FirstOrCreate(&row).Error; err != nil {
		return fmt.Errorf("seed charlie fee setting: %w", err)
	}
	return nil
}

func loadFee(db *gorm.DB) (FeeSetting, error) {
	var f FeeSetting
	if err := db.First(&f, 1).Error; err != nil {
		return f, fmt.Errorf("load fee setting: %w", err)
	}
	return f, nil
}

// Ledger is the fee ledger: fees collected against the current setting.
type Ledger struct {
	FeesCollectedCents int64 `json:"fees_collected_cents"`
	OrdersCharged      int64 `json:"orders_charged"`
	OrdersWithFee      int64 `json:"orders_with_fee"`
	// ChargesWithoutFee are charges whose fee is unknown (made before
	// issue 3 was solved): they can never be reconciled.
	ChargesWithoutFee int64 `json:"charges_without_fee"`
	// Balanced: the newest charge records its fee, so the ledger balances
	// from here on (older charges without a fee are counted above).
	Balanced        bool  `json:"balanced"`
	FeeEnabled      bool  `json:"fee_enabled"`
	FeeCents        int64 `json:"fee_cents"`
	SettingsVersion int64 `json:"settings_version"`
}

func loadLedger(db *gorm.DB) (Ledger, error) {
	var l Ledger
	err := db.Model(&Charge{}).Select(
		"COALESCE(SUM(fee_cents), 0) AS fees_collected_cents, COUNT(*) AS orders_charged, " +
			"COALESCE(SUM(CASE WHEN fee_cents > 0 THEN 1 ELSE 0 END), 0) AS orders_with_fee, " +
			"COALESCE(SUM(CASE WHEN fee_cents IS NULL THEN 1 ELSE 0 END), 0) AS charges_without_fee").
		Scan(&l).Error
	if err != nil {
		return l, fmt.Errorf("ledger: %w", err)
	}
	fee, err := loadFee(db)
	if err != nil {
		return l, err
	}
	l.FeeEnabled, l.FeeCents, l.SettingsVersion = fee.FeeEnabled, fee.FeeCents, fee.Version
	var newest Charge
	err = db.Order("id DESC").Limit(1).Find(&newest).Error
	if err != nil {
		return l, fmt.Errorf("ledger: newest charge: %w", err)
	}
	l.Balanced = newest.ID == 0 || newest.FeeCents != nil
	return l, nil
}
