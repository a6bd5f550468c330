package alpha

import (
	"context"
	"fmt"

	"eventually/pkg/events"
	"eventually/pkg/messaging"
	"eventually/pkg/service"
)

// onOrderCaptured creates the order beta captured, priced, and approves it
// at once when auto-approve is on.
func (p *Processing) onOrderCaptured(ctx context.Context, tx *messaging.Tx, ev *events.OrderCaptured) error {
	o := orderFromCaptured(ev)
	// Issue 2: an order in flight is priced from the snapshot the customer
	// was shown, not from alpha's settings now. Before the fix (or for an
	// order.captured without a snapshot) alpha uses its current settings,
	// and a discount promised on the form can be lost.
	if p.stage.Solved(2) && ev.Settings != nil {
		price(&o, settingsFromEvent(*ev.Settings), "snapshot")
	} else {
		current, err := loadSettings(tx.DB)
		if err != nil {
			return err
		}
		price(&o, current, "current settings")
	}
	if err := tx.DB.Create(&o).Error; err != nil {
		return fmt.Errorf("create order for cart %s: %w", ev.CartGUID, err)
	}
	p.logger.InfoContext(ctx, "order captured", "order_guid", o.GUID, "cart_guid", o.CartGUID,
		"total_cents", o.TotalCents, "priced_from", o.PricedFrom, "settings_version", o.SettingsVersion)
	if p.AutoApprove.Load() {
		return p.approve(tx, &o)
	}
	return nil
}

// onOrderCharged finalizes a charged order, once; or, while alpha holds
// charged orders for review, puts it in review first.
// Issue 4: alpha owns the order's lifecycle; it says the order is done
// with order.finalized, which beta waits for to reopen the cart. Holding
// for review is a step added after the charge: the order is charged but
// not done, and only alpha knows.
func (p *Processing) onOrderCharged(ctx context.Context, tx *messaging.Tx, ev *events.OrderCharged) error {
	// Locked: a hand or a timer of another instance may finish it now.
	o, err := findOrder(service.ForUpdate(tx.DB), ev.OrderGUID)
	if err != nil {
		return err
	}
	if o.Status == StatusFinalized || o.Status == StatusInReview {
		return nil
	}
	o.ChargeGUID = ev.ChargeGUID
	if p.HoldForReview.Load() {
		o.Status = StatusInReview
		if err := tx.DB.Save(&o).Error; err != nil {
			return fmt.Errorf("hold order %s for review: %w", o.GUID, err)
		}
		p.logger.InfoContext(ctx, "order held for review", "order_guid", o.GUID, "charge_guid", ev.ChargeGUID)
		return nil
	}
	return p.finalize(tx, &o, "charged")
}
