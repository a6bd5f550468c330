package charlie

import (
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"eventually/pkg/events"
)

// Charge is one charged order: charlie's own table, also its HTTP view.
// OrderGUID is unique: an order is charged once, whatever is redelivered.
type Charge struct {
	ID          uint64 `gorm:"primaryKey" json:"-"`
	GUID        string `gorm:"uniqueIndex;not null" json:"guid"`
	OrderGUID   string `gorm:"uniqueIndex;not null" json:"order_guid"`
	CartGUID    string `json:"cart_guid"`
	AmountCents int64  `json:"amount_cents"`
	// FeeCents and FeeEnabled are what the fee was when the order was
	// charged; nil when charlie could not know (before issue 3 is solved).
	FeeCents   *int64 `json:"fee_cents"`
	FeeEnabled *bool  `json:"fee_enabled"`
	// SettingsVersion is the version of the settings the order was priced
	// under, as order.approved says: the ledger reconciles the fee against
	// the fee setting of that version.
	SettingsVersion int64     `gorm:"index" json:"settings_version"`
	CreatedAt       time.Time `json:"created_at"`
}

// chargeOf is the charge of an approved order; the fee it records is the
// caller's (see onOrderApproved).
func chargeOf(ev *events.OrderApproved) Charge {
	return Charge{
		GUID: "charge-" + uuid.NewString()[:8], OrderGUID: ev.OrderGUID, CartGUID: ev.CartGUID,
		AmountCents: ev.TotalCents, SettingsVersion: ev.SettingsVersion,
	}
}

// chargedEvent is the order.charged of the charge.
func (c Charge) chargedEvent() *events.OrderCharged {
	ev := &events.OrderCharged{OrderGUID: c.OrderGUID, ChargeGUID: c.GUID, AmountCents: c.AmountCents, CartGUID: c.CartGUID}
	if c.FeeCents != nil {
		ev.FeeCents = *c.FeeCents
	}
	return ev
}

// chargeOnce inserts the charge unless its order has one, and reports
// whether it did.
func chargeOnce(db *gorm.DB, c *Charge) (bool, error) {
	res := db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "order_guid"}}, DoNothing: true}).Create(c)
	if res.Error != nil {
		return false, fmt.Errorf("charge order %s: %w", c.OrderGUID, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// recentCharges are the newest charges, newest first.
func recentCharges(db *gorm.DB, limit int) ([]Charge, error) {
	charges := []Charge{}
	if err := db.Order("id DESC").Limit(limit).Find(&charges).Error; err != nil {
		return nil, fmt.Errorf("list charges: %w", err)
	}
	return charges, nil
}
