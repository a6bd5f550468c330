// Package charlie is charging: it charges approved orders and keeps the
// fee ledger, with its own copy of the fee setting.
//
// Charging (this file) is the domain logic; the service around it
// (service.go, http.go) opens the database, registers the message
// handlers and serves HTTP. Charging needs neither HTTP nor a broker, so
// its tests run it on a temp database alone.
package charlie

import (
	"context"
	"log/slog"

	"eventually/pkg/events"
	"eventually/pkg/messaging"
	"eventually/pkg/service"
	"eventually/pkg/stage"
)

// Charging is charlie's domain: the charges, the fee ledger they add up
// to, and the copy of the fee setting. It only reacts to events, each in
// the transaction of the message that brings it.
type Charging struct {
	stage  *stage.Stage
	logger *slog.Logger
}

// onSettingsChanged keeps charlie's copy of the fee setting.
// Issue 3: charlie follows the change events for the current fee setting;
// before the fix it ignores settings and its copy stays the seed.
func (c *Charging) onSettingsChanged(ctx context.Context, tx *messaging.Tx, ev *events.SettingsChanged) error {
	if !c.stage.Solved(3) {
		c.logger.InfoContext(ctx, "settings change ignored before issue 3 is solved", "version", ev.Version)
		return nil
	}
	// Every version is kept, late ones too: the ledger reconciles each
	// order against the version it was priced under.
	if err := rememberVersion(tx.DB, feeSettingFromEvent(ev.Settings)); err != nil {
		return err
	}
	// Locked: instances apply different versions at once; without the
	// lock an older one could overwrite a newer one committed meanwhile.
	held, err := loadFee(service.ForUpdate(tx.DB))
	if err != nil {
		return err
	}
	// No going back in time: a version at or below ours is old news for
	// the copy of the current setting.
	if ev.Version <= held.Version {
		c.logger.InfoContext(ctx, "settings change ignored: not newer", "version", ev.Version, "held_version", held.Version)
		return nil
	}
	if err := saveFee(tx.DB, feeSettingFromEvent(ev.Settings)); err != nil {
		return err
	}
	c.logger.InfoContext(ctx, "fee setting updated", "version", ev.Version, "fee_enabled", ev.FeeEnabled)
	return nil
}

// onOrderApproved charges an approved order once.
func (c *Charging) onOrderApproved(ctx context.Context, tx *messaging.Tx, ev *events.OrderApproved) error {
	fee, err := loadFee(tx.DB)
	if err != nil {
		return err
	}
	charge := chargeOf(ev)
	// Issue 3: each charge records the fee amount the order carried (and
	// the fee status at charge time), so the ledger can reconcile it with
	// the setting of the version the order was priced under.
	if c.stage.Solved(3) {
		feeCents, enabled := ev.FeeCents, fee.FeeEnabled
		charge.FeeCents, charge.FeeEnabled = &feeCents, &enabled
	}
	// The unique order guid is the check: a second charge of the order
	// (a redelivery, a replay under a new message ID, another instance
	// at the same moment) inserts nothing, publishes nothing, and is no
	// error. Another instance's insert of the same order waits for this
	// one's commit, then finds the conflict.
	first, err := chargeOnce(tx.DB, &charge)
	if err != nil {
		return err
	}
	if !first {
		c.logger.InfoContext(ctx, "order already charged", "order_guid", ev.OrderGUID)
		return nil
	}
	c.logger.InfoContext(ctx, "order charged", "order_guid", ev.OrderGUID, "charge_guid", charge.GUID,
		"amount_cents", charge.AmountCents)
	// Issue 4: charlie tells the world the order is charged; alpha, who
	// owns the lifecycle, turns that into order.finalized.
	if !c.stage.Solved(4) {
		return nil
	}
	return tx.Publish(charge.chargedEvent())
}
