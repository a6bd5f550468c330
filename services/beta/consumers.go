package beta

import (
	"context"
	"fmt"

	"eventually/pkg/events"
	"eventually/pkg/messaging"
	"eventually/pkg/service"
)

// onSettingsChanged keeps beta's copy of the settings.
// Issue 1: beta shows the notices from its own copy; it never calls alpha.
func (c *Capture) onSettingsChanged(ctx context.Context, tx *messaging.Tx, ev *events.SettingsChanged) error {
	// Locked: instances apply different versions at once; without the
	// lock an older one could overwrite a newer one committed meanwhile.
	current, err := loadCopy(service.ForUpdate(tx.DB))
	if err != nil {
		return err
	}
	// No going back in time: a version at or below ours is old news
	// (a redelivery, or events arriving out of order).
	if ev.Version <= current.Version {
		c.logger.InfoContext(ctx, "settings change ignored: not newer", "version", ev.Version, "held_version", current.Version)
		return nil
	}
	if err := saveCopy(tx.DB, settingsFromEvent(ev.Settings)); err != nil {
		return err
	}
	c.logger.InfoContext(ctx, "settings copy updated", "version", ev.Version,
		"fee_enabled", ev.FeeEnabled, "discount_enabled", ev.DiscountEnabled)
	return nil
}

// onOrderFinalized reopens the cart.
// Issue 4: beta listens for order.finalized, not order.charged: the order
// is done when alpha says so, whatever steps come after charging.
func (c *Capture) onOrderFinalized(ctx context.Context, tx *messaging.Tx, ev *events.OrderFinalized) error {
	if !c.stage.Solved(4) {
		c.logger.InfoContext(ctx, "order finalized ignored before issue 4 is solved", "cart_guid", ev.CartGUID)
		return nil
	}
	if c.ReopenOnCharged.Load() {
		c.logger.InfoContext(ctx, "order finalized ignored: beta reopens carts on order.charged", "cart_guid", ev.CartGUID)
		return nil
	}
	return c.reopen(ctx, tx, ev.CartGUID, ev.OrderGUID, events.NameOrderFinalized)
}

// onOrderCharged reopens the cart when beta is switched to the first
// design.
// Issue 4: the first, tempting design reopens the cart once the order is
// charged. It holds only while charging is the last step: add one after
// it (alpha's review) and the cart reopens while its order is not done.
// It also needed the cart on order.charged, a payload change that every
// consumer had to accept first (order.charged version 2).
func (c *Capture) onOrderCharged(ctx context.Context, tx *messaging.Tx, ev *events.OrderCharged) error {
	if !c.stage.Solved(4) || !c.ReopenOnCharged.Load() {
		return nil
	}
	if ev.CartGUID == "" {
		c.logger.WarnContext(ctx, "order charged without a cart (version 1): no cart to reopen", "order_guid", ev.OrderGUID)
		return nil
	}
	return c.reopen(ctx, tx, ev.CartGUID, ev.OrderGUID, events.NameOrderCharged)
}

// reopen opens a locked cart again, saying which event of which order did it.
func (c *Capture) reopen(ctx context.Context, tx *messaging.Tx, cartGUID, orderGUID, event string) error {
	cart, err := findCart(service.ForUpdate(tx.DB), cartGUID)
	if err != nil {
		return err
	}
	if cart.Status == CartOpen {
		return nil
	}
	cart.Status, cart.ReopenedBy = CartOpen, event+" of "+orderGUID
	if err := tx.DB.Save(&cart).Error; err != nil {
		return fmt.Errorf("reopen cart %s: %w", cart.GUID, err)
	}
	c.logger.InfoContext(ctx, "cart reopened", "cart_guid", cart.GUID, "order_guid", orderGUID, "on", event)
	return nil
}
