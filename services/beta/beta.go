// Package beta is order capture: the customer's cart form. It keeps its
// own copy of alpha's settings to tell the customer up front that a fee or
// a discount applies.
//
// Capture (this file and consumers.go) is the domain logic; the service
// around it (service.go, http.go) opens the database, registers the
// message handlers and serves HTTP. Capture needs neither HTTP nor a
// broker, so its tests run it on a temp database alone.
package beta

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"eventually/pkg/domain"
	"eventually/pkg/events"
	"eventually/pkg/messaging"
	"eventually/pkg/service"
	"eventually/pkg/stage"
)

// Capture is beta's domain: the carts customers fill in and submit, and
// the copy of the settings their notices come from. It writes through the
// bus, so each change commits with the events it causes.
type Capture struct {
	bus    *messaging.Bus
	stage  *stage.Stage
	logger *slog.Logger
	// ReopenOnCharged switches beta to the first design of issue 4:
	// reopen the cart on order.charged instead of order.finalized.
	ReopenOnCharged atomic.Bool
}

// ReopenOn is the event beta reopens a cart on (once issue 4 is solved).
func (c *Capture) ReopenOn() string {
	if c.ReopenOnCharged.Load() {
		return events.NameOrderCharged
	}
	return events.NameOrderFinalized
}

// NewCart opens a new cart stamped with the current copy of the settings.
func (c *Capture) NewCart(ctx context.Context) (CartView, error) {
	var cart Cart
	err := c.bus.Transaction(ctx, func(tx *messaging.Tx) error {
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
func (c *Capture) LoadCart(ctx context.Context, guid string) (CartView, error) {
	return c.changeCart(ctx, "load", guid, func(tx *messaging.Tx, cart *Cart) error {
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
func (c *Capture) changeCart(ctx context.Context, action, guid string, change func(tx *messaging.Tx, cart *Cart) error) (CartView, error) {
	var cart Cart
	err := c.bus.Transaction(ctx, func(tx *messaging.Tx) error {
		var err error
		// Locked: two instances submitting one cart at once would both
		// find it open and capture two orders.
		if cart, err = findCart(service.ForUpdate(tx.DB), guid); err != nil {
			return err
		}
		return change(tx, &cart)
	})
	if err != nil {
		return CartView{}, fmt.Errorf("%s cart %s: %w", action, guid, err)
	}
	return view(cart), nil
}

// errLocked is a conflict: one order at a time per cart.
var errLocked = fmt.Errorf("cart is locked while its order is in flight: %w", domain.ErrConflict)

// Submit locks the cart and captures the order.
func (c *Capture) Submit(ctx context.Context, guid string, sub Submission) (CartView, error) {
	if err := sub.Validate(); err != nil {
		return CartView{}, fmt.Errorf("submit cart %s: %w", guid, err)
	}
	cart, err := c.changeCart(ctx, "submit", guid, func(tx *messaging.Tx, cart *Cart) error {
		if cart.Status == CartLocked {
			return errLocked
		}
		// Issue 4: the cart is locked while the order is in flight.
		cart.Status, cart.Product, cart.PriceCents = CartLocked, strings.TrimSpace(sub.Product), *sub.PriceCents
		cart.ReopenedBy = ""
		if err := tx.DB.Save(cart).Error; err != nil {
			return err
		}
		// The form is the web channel (order.captured version 2).
		captured := cart.capturedEvent("web")
		// Issue 2: the order carries the snapshot the form was loaded with.
		if c.stage.Solved(2) {
			snapshot := cart.Snapshot.toEvent()
			captured.Settings = &snapshot
		}
		return tx.Publish(captured)
	})
	if err != nil {
		return CartView{}, err
	}
	c.logger.InfoContext(ctx, "cart submitted", "cart_guid", guid, "price_cents", cart.PriceCents,
		"snapshot_version", cart.Snapshot.Version)
	return cart, nil
}

// ResetCart reopens a locked cart by hand: what the team has to do when
// nothing tells beta that the order is done (before issue 4 is solved).
func (c *Capture) ResetCart(ctx context.Context, guid string) (CartView, error) {
	cart, err := c.changeCart(ctx, "reset", guid, func(tx *messaging.Tx, cart *Cart) error {
		cart.Status, cart.ReopenedBy = CartOpen, "hand"
		return tx.DB.Save(cart).Error
	})
	if err != nil {
		return CartView{}, err
	}
	c.logger.WarnContext(ctx, "cart reopened by hand", "cart_guid", guid)
	return cart, nil
}
