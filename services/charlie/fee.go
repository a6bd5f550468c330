package charlie

import (
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

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

// charged is the fee an order priced under this setting carries: the
// fee amount when the fee is on, nothing when it is off.
func (f FeeSetting) charged() int64 {
	if f.FeeEnabled {
		return f.FeeCents
	}
	return 0
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

// FeeVersion is the fee setting of one settings version, as charlie saw
// it in settings.changed. Charlie keeps every version it has seen, not
// only the latest: an order is priced under the version the customer was
// shown, which may be older than the current one by the time it is
// charged, and the ledger reconciles each charge against its own version.
type FeeVersion struct {
	Version    int64     `gorm:"primaryKey;autoIncrement:false" json:"version"`
	FeeEnabled bool      `json:"fee_enabled"`
	FeeCents   int64     `json:"fee_cents"`
	SeenAt     time.Time `json:"seen_at"`
}

// rememberVersion keeps the fee setting of f's version; a version seen
// before keeps what it said then (a version never changes).
func rememberVersion(db *gorm.DB, f FeeSetting) error {
	row := FeeVersion{Version: f.Version, FeeEnabled: f.FeeEnabled, FeeCents: f.FeeCents, SeenAt: time.Now().UTC()}
	if err := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
		return fmt.Errorf("remember fee setting of version %d: %w", f.Version, err)
	}
	return nil
}

// seenVersions are the fee settings of the given versions that charlie
// has seen, by version.
func seenVersions(db *gorm.DB, versions []int64) (map[int64]FeeSetting, error) {
	var rows []FeeVersion
	if err := db.Where("version IN ?", versions).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("load fee settings by version: %w", err)
	}
	seen := make(map[int64]FeeSetting, len(rows))
	for _, r := range rows {
		seen[r.Version] = FeeSetting{Version: r.Version, FeeEnabled: r.FeeEnabled, FeeCents: r.FeeCents}
	}
	return seen, nil
}
