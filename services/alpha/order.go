package alpha

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"eventually/pkg/domain"
	"eventually/pkg/events"
)

// Order statuses.
const (
	StatusPending   = "pending"
	StatusApproved  = "approved"
	StatusInReview  = "in review" // charged, held for review before it is done
	StatusFinalized = "finalized"
)

// Order is a captured cart that alpha prices and approves: alpha's own
// table, also its HTTP view.
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

// orderFromCaptured is the pending, not yet priced, order of a captured cart.
func orderFromCaptured(ev *events.OrderCaptured) Order {
	return Order{
		GUID: "order-" + uuid.NewString()[:8], CartGUID: ev.CartGUID, Product: ev.Product,
		Channel: ev.Channel, PriceCents: ev.PriceCents, Status: StatusPending,
	}
}

// approvedEvent is the order.approved of the order, without the fee and
// discount amounts (see approve).
func (o Order) approvedEvent() *events.OrderApproved {
	return &events.OrderApproved{
		OrderGUID: o.GUID, CartGUID: o.CartGUID, Product: o.Product,
		PriceCents: o.PriceCents, TotalCents: o.TotalCents, SettingsVersion: o.SettingsVersion,
	}
}

// finalizedEvent is the order.finalized of the order.
func (o Order) finalizedEvent() *events.OrderFinalized {
	return &events.OrderFinalized{OrderGUID: o.GUID, CartGUID: o.CartGUID}
}

func findOrder(db *gorm.DB, guid string) (Order, error) {
	var o Order
	err := db.Where("guid = ?", guid).First(&o).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return o, fmt.Errorf("order %s: %w", guid, domain.ErrNotFound)
	}
	if err != nil {
		return o, fmt.Errorf("load order %s: %w", guid, err)
	}
	return o, nil
}

// recentOrders are the newest orders, newest first.
func recentOrders(db *gorm.DB, limit int) ([]Order, error) {
	orders := []Order{}
	if err := db.Order("id DESC").Limit(limit).Find(&orders).Error; err != nil {
		return nil, fmt.Errorf("list orders: %w", err)
	}
	return orders, nil
}
