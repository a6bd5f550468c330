package beta

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"eventually/pkg/domain"
	"eventually/pkg/events"
)

// Cart statuses.
const (
	CartOpen   = "open"
	CartLocked = "locked" // an order is in flight
)

// Cart is a customer's cart form: beta's own table.
type Cart struct {
	GUID       string `gorm:"primaryKey"`
	Status     string `gorm:"not null"`
	Product    string
	PriceCents int64
	// Snapshot is the settings the form showed when it was loaded.
	Snapshot Settings `gorm:"embedded;embeddedPrefix:snapshot_"`
	LoadedAt time.Time
	// ReopenedBy says what reopened the cart last: an event and its order,
	// or "hand"; empty while its order is in flight.
	ReopenedBy string
	UpdatedAt  time.Time
}

// capturedEvent is the order.captured of a cart submitted through
// channel, without the snapshot (see Submit).
func (c Cart) capturedEvent(channel string) *events.OrderCaptured {
	return &events.OrderCaptured{CartGUID: c.GUID, Product: c.Product, PriceCents: c.PriceCents, Channel: channel}
}

func findCart(db *gorm.DB, guid string) (Cart, error) {
	var c Cart
	err := db.Where("guid = ?", guid).First(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return c, fmt.Errorf("cart %s: %w", guid, domain.ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("load cart %s: %w", guid, err)
	}
	return c, nil
}

// CartView is a cart as the customer sees it: with its notices.
type CartView struct {
	GUID       string    `json:"guid"`
	Status     string    `json:"status"`
	Product    string    `json:"product"`
	PriceCents int64     `json:"price_cents"`
	Snapshot   Settings  `json:"snapshot"`
	Notices    []string  `json:"notices"`
	LoadedAt   time.Time `json:"loaded_at"`
	ReopenedBy string    `json:"reopened_by,omitempty"`
}

// Notices shown on the cart form.
const (
	NoticeFee      = "Your order will have a fee"
	NoticeDiscount = "Your order is discounted!"
)

func view(c Cart) CartView {
	notices := []string{}
	if c.Snapshot.FeeEnabled {
		notices = append(notices, NoticeFee)
	}
	if c.Snapshot.DiscountEnabled {
		notices = append(notices, NoticeDiscount)
	}
	return CartView{GUID: c.GUID, Status: c.Status, Product: c.Product, PriceCents: c.PriceCents,
		Snapshot: c.Snapshot, Notices: notices, LoadedAt: c.LoadedAt, ReopenedBy: c.ReopenedBy}
}

// Submission is what the customer submits.
type Submission struct {
	Product    string `json:"product"`
	PriceCents *int64 `json:"price_cents"`
}

// Validate says what is wrong with a submission.
func (s Submission) Validate() error {
	var problems []string
	if strings.TrimSpace(s.Product) == "" {
		problems = append(problems, "product is required")
	} else if n := utf8.RuneCountInString(s.Product); n > events.MaxTextLen {
		problems = append(problems, fmt.Sprintf("product has %d characters, at most %d are allowed", n, events.MaxTextLen))
	}
	switch {
	case s.PriceCents == nil:
		problems = append(problems, "price_cents is required")
	case *s.PriceCents <= 0:
		problems = append(problems, "price_cents must be positive")
	case *s.PriceCents > events.MaxCents:
		problems = append(problems, fmt.Sprintf("price_cents must be at most %d", events.MaxCents))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", domain.ErrInvalid, strings.Join(problems, "; "))
	}
	return nil
}
