// Package alpha is order processing: it owns the canonical settings (fee,
// discount) and the orders, and approves them.
package alpha

import (
	"context"
	"fmt"
	"sync/atomic"

	"eventually/pkg/events"
	"eventually/pkg/messaging"
	"eventually/pkg/server"
	"eventually/pkg/service"
)

// Config starts alpha.
type Config struct {
	service.Config
	// AutoApprove approves each captured order as it arrives.
	AutoApprove bool
}

// Alpha is the order-processing service.
type Alpha struct {
	*service.Parts
	autoApprove atomic.Bool
}

// New builds alpha: its database (seeded when new), its consumers and its
// HTTP server.
func New(cfg Config) (*Alpha, error) {
	parts, err := service.New("alpha", cfg.Config, &SettingsRow{}, &Order{})
	if err != nil {
		return nil, err
	}
	if err := seedStore(parts.DB); err != nil {
		return nil, err
	}
	a := &Alpha{Parts: parts}
	a.autoApprove.Store(cfg.AutoApprove)
	messaging.Handle(a.Bus, a.onOrderCaptured)
	messaging.Handle(a.Bus, a.onOrderCharged)
	a.routes()
	return a, nil
}

// Run runs alpha until ctx is done.
func (a *Alpha) Run(ctx context.Context) error { return a.Parts.Run(ctx) }

// settingsChange is a partial update of the settings.
type settingsChange struct {
	FeeEnabled      *bool  `json:"fee_enabled"`
	DiscountEnabled *bool  `json:"discount_enabled"`
	FeeCents        *int64 `json:"fee_cents"`
	DiscountCents   *int64 `json:"discount_cents"`
}

// Validate says what is wrong with a change.
func (c settingsChange) Validate() error {
	if c == (settingsChange{}) {
		return fmt.Errorf("%w: give at least one of fee_enabled, discount_enabled, fee_cents, discount_cents", server.ErrInvalid)
	}
	for field, v := range map[string]*int64{"fee_cents": c.FeeCents, "discount_cents": c.DiscountCents} {
		if v != nil && *v < 0 {
			return fmt.Errorf("%w: %s must not be negative", server.ErrInvalid, field)
		}
	}
	return nil
}

// UpdateSettings applies a change, bumps the version and (stage ≥ 1)
// publishes the whole settings.
func (a *Alpha) UpdateSettings(ctx context.Context, change settingsChange) (events.Settings, error) {
	var updated events.Settings
	err := a.Bus.Transaction(ctx, func(tx *messaging.Tx) error {
		s, err := loadSettings(tx.DB)
		if err != nil {
			return err
		}
		if change.FeeEnabled != nil {
			s.FeeEnabled = *change.FeeEnabled
		}
		if change.DiscountEnabled != nil {
			s.DiscountEnabled = *change.DiscountEnabled
		}
		if change.FeeCents != nil {
			s.FeeCents = *change.FeeCents
		}
		if change.DiscountCents != nil {
			s.DiscountCents = *change.DiscountCents
		}
		s.Version++
		if err := saveSettings(tx.DB, s); err != nil {
			return err
		}
		updated = s
		// Issue 1: every settings update publishes the whole settings with
		// its version, in the same transaction (outbox). Before the fix
		// nothing tells beta or charlie, and their copies stay stale.
		if !a.Stage.Solved(1) {
			return nil
		}
		return tx.Publish(&events.SettingsChanged{Settings: s})
	})
	if err != nil {
		return events.Settings{}, fmt.Errorf("update settings: %w", err)
	}
	a.Logger.InfoContext(ctx, "settings updated", "version", updated.Version,
		"fee_enabled", updated.FeeEnabled, "discount_enabled", updated.DiscountEnabled)
	return updated, nil
}

// Approve approves a pending order by hand.
func (a *Alpha) Approve(ctx context.Context, guid string) (Order, error) {
	var order Order
	err := a.Bus.Transaction(ctx, func(tx *messaging.Tx) error {
		var err error
		if order, err = findOrder(tx.DB, guid); err != nil {
			return err
		}
		return a.approve(ctx, tx, &order)
	})
	if err != nil {
		return Order{}, fmt.Errorf("approve order %s: %w", guid, err)
	}
	return order, nil
}

// errNotPending is answered with 409.
var errNotPending = fmt.Errorf("order is not pending: %w", server.ErrConflict)

func (a *Alpha) approve(ctx context.Context, tx *messaging.Tx, o *Order) error {
	if o.Status != StatusPending {
		return fmt.Errorf("%w (it is %s)", errNotPending, o.Status)
	}
	o.Status = StatusApproved
	if err := tx.DB.Save(o).Error; err != nil {
		return fmt.Errorf("save order: %w", err)
	}
	approved := &events.OrderApproved{
		OrderGUID: o.GUID, CartGUID: o.CartGUID, Product: o.Product,
		PriceCents: o.PriceCents, TotalCents: o.TotalCents, SettingsVersion: o.SettingsVersion,
	}
	// Issue 3: the fee and discount amounts travel with the order, so
	// charlie records what was charged instead of guessing from settings.
	if a.Stage.Solved(3) {
		approved.FeeCents, approved.DiscountCents = o.FeeCents, o.DiscountCents
	}
	a.Logger.InfoContext(ctx, "order approved", "order_guid", o.GUID, "total_cents", o.TotalCents)
	return tx.Publish(approved)
}
