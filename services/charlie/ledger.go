package charlie

import (
	"fmt"

	"gorm.io/gorm"
)

// Ledger is the fee ledger: fees collected against the current setting.
// It is computed from the charges, not stored.
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
	newest, err := recentCharges(db, 1)
	if err != nil {
		return l, fmt.Errorf("ledger: %w", err)
	}
	l.Balanced = len(newest) == 0 || newest[0].FeeCents != nil
	return l, nil
}
