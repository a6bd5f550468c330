package beta

import (
	"context"
	"fmt"

	"eventually/pkg/events"
	"eventually/pkg/messaging"
)

// onSettingsChanged keeps beta's copy of the settings.
// Issue 1: beta shows the notices from its own copy; it never calls alpha.
func (c *Capture) onSettingsChanged(ctx context.Context, tx *messaging.Tx, ev *events.SettingsChanged) error {
	current, err := loadCopy(tx.DB)
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
	cart, err := findCart(tx.DB, ev.CartGUID)
	if err != nil {
		return err
	}
	if cart.Status == CartOpen {
		return nil
	}
	cart.Status = CartOpen
	if err := tx.DB.Save(&cart).Error; err != nil {
		return fmt.Errorf("reopen cart %s: %w", cart.GUID, err)
	}
	c.logger.InfoContext(ctx, "cart reopened", "cart_guid", cart.GUID, "order_guid", ev.OrderGUID)
	return nil
}
