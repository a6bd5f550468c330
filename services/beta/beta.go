// Package beta is order capture: the customer's cart form. It keeps its
// own copy of alpha's settings to tell the customer up front that a fee or
// a discount applies.
package beta

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"eventually/pkg/events"
	"eventually/pkg/messaging"
	"eventually/pkg/server"
	"eventually/pkg/service"
)

// Config starts beta.
type Config struct {
	service.Config
}

// Beta is the order-capture service.
type Beta struct {
	*service.Parts
}

// New builds beta: its database (seeded when new), its consumers and its
// HTTP server.
func New(cfg Config) (*Beta, error) {
	parts, err := service.New("beta", cfg.Config, &SettingsCopy{}, &Cart{})
	if err != nil {
		return nil, err
	}
	if err := seedStore(parts.DB); err != nil {
		return nil, err
	}
	b := &Beta{Parts: parts}
	messaging.Handle(b.Bus, b.onSettingsChanged)
	messaging.Handle(b.Bus, b.onOrderFinalized)
	b.routes()
	return b, nil
}

// Run runs beta until ctx is done.
func (b *Beta) Run(ctx context.Context) error { return b.Parts.Run(ctx) }

// CartView is a cart as the customer sees it: with its notices.
type CartView struct {
	GUID       string          `json:"guid"`
	Status     string          `json:"status"`
	Product    string          `json:"product"`
	PriceCents int64           `json:"price_cents"`
	Snapshot   events.Settings `json:"snapshot"`
	Notices    []string        `json:"notices"`
	LoadedAt   time.Time       `json:"loaded_at"`
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
		Snapshot: c.Snapshot, Notices: notices, LoadedAt: c.LoadedAt}
}

// NewCart opens a new cart stamped with the current copy of the settings.
func (b *Beta) NewCart(ctx context.Context) (CartView, error) {
	var cart Cart
	err := b.Bus.Transaction(ctx, func(tx *messaging.Tx) error {
		s, err := loadCopy(tx.DB)
		if err != nil {
			return err
		}
		cart = Cart{GUID: "cart-" + uuid.NewString()[:8], Status: CartOpen, Snapshot: s, LoadedAt: time.Now().UTC()}
		return tx.DB.Create(&cart).Error
	})
	if err != nil {
		return CartView{}, fmt.Errorf("new cart: %w", err)
	}
	return view(cart), nil
}

// LoadCart is what opening the form does: it stamps the cart with the
// settings the form shows.
func (b *Beta) LoadCart(ctx context.Context, guid string) (CartView, error) {
	return b.changeCart(ctx, "load", guid, func(tx *messaging.Tx, cart *Cart) error {
		if cart.Status == CartLocked {
			return nil // the form of a locked cart shows what was submitted
		}
		// Issue 2: the snapshot (with its settings version) is what the
		// customer was promised; it travels with the order when submitted.
		snapshot, err := loadCopy(tx.DB)
		if err != nil {
			return err
		}
		cart.Snapshot, cart.LoadedAt = snapshot, time.Now().UTC()
		return tx.DB.Save(cart).Error
	})
}

// changeCart runs change on one cart in a transaction and returns the
// cart as it then is.
func (b *Beta) changeCart(ctx context.Context, action, guid string, change func(tx *messaging.Tx, cart *Cart) error) (CartView, error) {
	var cart Cart
	err := b.Bus.Transaction(ctx, func(tx *messaging.Tx) error {
		var err error
		if cart, err = findCart(tx.DB, guid); err != nil {
			return err
		}
		return change(tx, &cart)
	})
	if err != nil {
		return CartView{}, fmt.Errorf("%s cart %s: %w", action, guid, err)
	}
	return view(cart), nil
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
	} else if len(s.Product) > 200 {
		problems = append(problems, "product is longer than 200 characters")
	}
	switch {
	case s.PriceCents == nil:
		problems = append(problems, "price_cents is required")
	case *s.PriceCents <= 0:
		problems = append(problems, "price_cents must be positive")
	case *s.PriceCents > 100_000_000_00:
		problems = append(problems, "price_cents is too large")
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", server.ErrInvalid, strings.Join(problems, "; "))
	}
	return nil
}

// errLocked is answered with 409.
var errLocked = fmt.Errorf("cart is locked while its order is in flight: %w", server.ErrConflict)

// Submit locks the cart and captures the order.
func (b *Beta) Submit(ctx context.Context, guid string, sub Submission) (CartView, error) {
	if err := sub.Validate(); err != nil {
		return CartView{}, err
	}
	cart, err := b.changeCart(ctx, "submit", guid, func(tx *messaging.Tx, cart *Cart) error {
		if cart.Status == CartLocked {
			return errLocked
		}
		// Issue 4: the cart is locked while the order is in flight.
		cart.Status, cart.Product, cart.PriceCents = CartLocked, strings.TrimSpace(sub.Product), *sub.PriceCents
		if err := tx.DB.Save(cart).Error; err != nil {
			return err
		}
		captured := &events.OrderCaptured{CartGUID: cart.GUID, Product: cart.Product, PriceCents: cart.PriceCents, Channel: "web"}
		// Issue 2: the order carries the snapshot the form was loaded with.
		if b.Stage.Solved(2) {
			snapshot := cart.Snapshot
			captured.Settings = &snapshot
		}
		return tx.Publish(captured)
	})
	if err != nil {
		return CartView{}, err
	}
	b.Logger.InfoContext(ctx, "cart submitted", "cart_guid", guid, "price_cents", cart.PriceCents,
		"snapshot_version", cart.Snapshot.Version)
	return cart, nil
}

// ResetCart reopens a locked cart by hand: what the team has to do when
// nothing tells beta that the order is done (before issue 4 is solved).
func (b *Beta) ResetCart(ctx context.Context, guid string) (CartView, error) {
	cart, err := b.changeCart(ctx, "reset", guid, func(tx *messaging.Tx, cart *Cart) error {
		cart.Status = CartOpen
		return tx.DB.Save(cart).Error
	})
	if err == nil {
		b.Logger.WarnContext(ctx, "cart reopened by hand", "cart_guid", guid)
	}
	return cart, err
}
