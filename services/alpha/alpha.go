// Package alpha is order processing: it owns the canonical settings (fee,
// discount) and the orders, and approves them.
//
// Processing (this file and consumers.go) is the domain logic; the
// service around it (service.go, http.go) opens the database, registers
// the message handlers and serves HTTP. Processing needs neither HTTP nor
// a broker, so its tests run it on a temp database alone.
package alpha

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"

	"gorm.io/gorm"

	"eventually/pkg/domain"
	"eventually/pkg/events"
	"eventually/pkg/messaging"
	"eventually/pkg/service"
	"eventually/pkg/stage"
)

// Processing is alpha's domain: the settings it owns and the orders it
// prices, approves and finalizes. It writes through the bus, so each
// change commits with the events it causes.
type Processing struct {
	bus    *messaging.Bus
	db     *gorm.DB // for reads outside a transaction (the review timer's)
	stage  *stage.Stage
	logger *slog.Logger
	// AutoApprove, when on, approves each captured order as it arrives.
	AutoApprove atomic.Bool
	// HoldForReview, when on, holds each charged order for review: a step
	// after the charge, before the order is done (issue 4).
	HoldForReview atomic.Bool
	// reviewTimeout is how long (a time.Duration) an order waits in review
	// before the review timer passes it.
	reviewTimeout atomic.Int64
}

// UpdateSettings applies a change, bumps the version and (stage ≥ 1)
// publishes the whole settings.
func (p *Processing) UpdateSettings(ctx context.Context, change SettingsChange) (Settings, error) {
	if err := change.Validate(); err != nil {
		return Settings{}, fmt.Errorf("update settings: %w", err)
	}
	var s Settings
	err := p.bus.Transaction(ctx, func(tx *messaging.Tx) error {
		var err error
		// Locked: two instances updating at once would both read version
		// N and both write N+1, one change lost.
		if s, err = loadSettings(service.ForUpdate(tx.DB)); err != nil {
			return err
		}
		change.applyTo(&s)
		s.Version++
		if err := saveSettings(tx.DB, s); err != nil {
			return err
		}
		// Issue 1: every settings update publishes the whole settings with
		// its version, in the same transaction (outbox). Before the fix
		// nothing tells beta or charlie, and their copies stay stale.
		if !p.stage.Solved(1) {
			return nil
		}
		return tx.Publish(&events.SettingsChanged{Settings: s.toEvent()})
	})
	if err != nil {
		return Settings{}, fmt.Errorf("update settings: %w", err)
	}
	p.logger.InfoContext(ctx, "settings updated", "version", s.Version,
		"fee_enabled", s.FeeEnabled, "discount_enabled", s.DiscountEnabled)
	return s, nil
}

// Approve approves a pending order by hand.
func (p *Processing) Approve(ctx context.Context, guid string) (Order, error) {
	var o Order
	err := p.bus.Transaction(ctx, func(tx *messaging.Tx) error {
		var err error
		if o, err = findOrder(service.ForUpdate(tx.DB), guid); err != nil {
			return err
		}
		return p.approve(tx, &o)
	})
	if err != nil {
		return Order{}, fmt.Errorf("approve order %s: %w", guid, err)
	}
	return o, nil
}

// approve approves a pending order and publishes order.approved; an order
// in any other status is a conflict.
func (p *Processing) approve(tx *messaging.Tx, o *Order) error {
	if o.Status != StatusPending {
		return fmt.Errorf("order is %s, not pending: %w", o.Status, domain.ErrConflict)
	}
	o.Status = StatusApproved
	if err := tx.DB.Save(o).Error; err != nil {
		return fmt.Errorf("save order: %w", err)
	}
	approved := o.approvedEvent()
	// Issue 3: the fee and discount amounts travel with the order, so
	// charlie records what was charged instead of guessing from settings.
	if p.stage.Solved(3) {
		approved.FeeCents, approved.DiscountCents = o.FeeCents, o.DiscountCents
	}
	p.logger.InfoContext(tx.Context(), "order approved", "order_guid", o.GUID, "total_cents", o.TotalCents)
	return tx.Publish(approved)
}
