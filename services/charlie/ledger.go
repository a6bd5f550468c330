package charlie

import (
	"fmt"

	"gorm.io/gorm"
)

// Ledger is the fee ledger, reconciled: the fee each charge carries
// against what the fee setting said in the settings version its order
// was priced under. It is computed from the charges and the fee settings
// charlie has seen, not stored.
//
// Issue 3: a charge reconciles only when charlie knows both sides: the
// fee amount (order.approved carries it once the issue is solved) and
// the fee setting of the order's version (charlie keeps every version it
// saw in settings.changed). A charge missing either can never be
// reconciled, and the ledger cannot balance while one is in it.
type Ledger struct {
	FeesCollectedCents int64 `json:"fees_collected_cents"`
	OrdersCharged      int64 `json:"orders_charged"`
	OrdersWithFee      int64 `json:"orders_with_fee"`
	// Versions are the totals per settings version charlie saw, oldest
	// first: only charges with a fee amount are in them.
	Versions []VersionTotals `json:"versions"`
	// ChargesMismatched carry a fee other than the setting of their version.
	ChargesMismatched int64 `json:"charges_mismatched"`
	// ChargesWithoutFee carry no fee amount: order.approved had none
	// (before issue 3 was solved). They can never be reconciled.
	ChargesWithoutFee int64 `json:"charges_without_fee"`
	// ChargesUnknownVersion were priced under a settings version charlie
	// never saw (it ignored settings then). They can never be reconciled.
	ChargesUnknownVersion int64   `json:"charges_unknown_version"`
	UnknownVersions       []int64 `json:"unknown_versions"`
	// Balanced: every charge reconciles with the setting of its version.
	Balanced bool `json:"balanced"`
	// The fee setting now, charlie's copy.
	FeeEnabled      bool  `json:"fee_enabled"`
	FeeCents        int64 `json:"fee_cents"`
	SettingsVersion int64 `json:"settings_version"`
}

// VersionTotals reconcile the charges priced under one settings version.
type VersionTotals struct {
	Version    int64 `json:"version"`
	FeeEnabled bool  `json:"fee_enabled"` // what the setting said
	FeeCents   int64 `json:"fee_cents"`
	Charges    int64 `json:"charges"`
	// FeesCollectedCents is what the charges carried; FeesExpectedCents
	// what the setting says they should have.
	FeesCollectedCents int64 `json:"fees_collected_cents"`
	FeesExpectedCents  int64 `json:"fees_expected_cents"`
	Mismatched         int64 `json:"mismatched"`
	Balanced           bool  `json:"balanced"`
}

// Unreconciled counts the charges that can never be reconciled.
func (l Ledger) Unreconciled() int64 { return l.ChargesWithoutFee + l.ChargesUnknownVersion }

// chargeGroup is the charges of one settings version with one fee amount.
type chargeGroup struct {
	SettingsVersion int64
	FeeCents        *int64
	Charges         int64
}

func loadLedger(db *gorm.DB) (Ledger, error) {
	var groups []chargeGroup
	err := db.Model(&Charge{}).Select("settings_version, fee_cents, COUNT(*) AS charges").
		Group("settings_version, fee_cents").Order("settings_version").Scan(&groups).Error
	if err != nil {
		return Ledger{}, fmt.Errorf("ledger: %w", err)
	}
	versions := make([]int64, 0, len(groups))
	for _, g := range groups {
		versions = append(versions, g.SettingsVersion)
	}
	seen, err := seenVersions(db, versions)
	if err != nil {
		return Ledger{}, fmt.Errorf("ledger: %w", err)
	}
	l := reconcile(groups, seen)
	fee, err := loadFee(db)
	if err != nil {
		return l, fmt.Errorf("ledger: %w", err)
	}
	l.FeeEnabled, l.FeeCents, l.SettingsVersion = fee.FeeEnabled, fee.FeeCents, fee.Version
	return l, nil
}

// reconcile adds up the charge groups, oldest version first, against the
// fee settings seen by version.
func reconcile(groups []chargeGroup, seen map[int64]FeeSetting) Ledger {
	l := Ledger{Versions: []VersionTotals{}, UnknownVersions: []int64{}}
	for _, g := range groups {
		l.OrdersCharged += g.Charges
		if g.FeeCents == nil {
			l.ChargesWithoutFee += g.Charges
			continue
		}
		fee := *g.FeeCents
		l.FeesCollectedCents += fee * g.Charges
		if fee > 0 {
			l.OrdersWithFee += g.Charges
		}
		setting, ok := seen[g.SettingsVersion]
		if !ok {
			l.ChargesUnknownVersion += g.Charges
			if n := len(l.UnknownVersions); n == 0 || l.UnknownVersions[n-1] != g.SettingsVersion {
				l.UnknownVersions = append(l.UnknownVersions, g.SettingsVersion)
			}
			continue
		}
		if n := len(l.Versions); n == 0 || l.Versions[n-1].Version != g.SettingsVersion {
			l.Versions = append(l.Versions, VersionTotals{Version: setting.Version,
				FeeEnabled: setting.FeeEnabled, FeeCents: setting.FeeCents})
		}
		row := &l.Versions[len(l.Versions)-1]
		row.Charges += g.Charges
		row.FeesCollectedCents += fee * g.Charges
		row.FeesExpectedCents += setting.charged() * g.Charges
		if fee != setting.charged() {
			row.Mismatched += g.Charges
			l.ChargesMismatched += g.Charges
		}
	}
	for i := range l.Versions {
		l.Versions[i].Balanced = l.Versions[i].Mismatched == 0
	}
	l.Balanced = l.ChargesMismatched == 0 && l.Unreconciled() == 0
	return l
}
