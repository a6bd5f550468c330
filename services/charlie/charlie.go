// Package charlie is charging: it charges approved orders and keeps the
// fee ledger, with its own copy of the fee setting.
package charlie

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"eventually/pkg/events"
	"eventually/pkg/messaging"
	"eventually/pkg/service"
)

// Config starts charlie.
type Config struct {
	service.Config
}

// Charlie is the charging service.
type Charlie struct {
	*service.Parts
}

// New builds charlie: its database (seeded when new), its consumers and
// its HTTP server.
func New(cfg Config) (*Charlie, error) {
	parts, err := service.New("charlie", cfg.Config, &FeeSetting{}, &Charge{})
	if err != nil {
		return nil, err
	}
	if err := seedStore(parts.DB); err != nil {
		return nil, err
	}
	c := &Charlie{Parts: parts}
	messaging.Handle(c.Bus, c.onSettingsChanged)
	messaging.Handle(c.Bus, c.onOrderApproved)
	c.routes()
	return c, nil
}

// Run runs charlie until ctx is done.
func (c *Charlie) Run(ctx context.Context) error { return c.Parts.Run(ctx) }

// onSettingsChanged keeps charlie's copy of the fee setting.
// Issue 3: charlie follows the change events for the current fee setting;
// before the fix it ignores settings and its copy stays the seed.
func (c *Charlie) onSettingsChanged(ctx context.Context, tx *messaging.Tx, ev *events.SettingsChanged) error {
	if !c.Stage.Solved(3) {
		c.Logger.InfoContext(ctx, "settings change ignored before issue 3 is solved", "version", ev.Version)
		return nil
	}
	fee, err := loadFee(tx.DB)
	if err != nil {
		return err
	}
	if ev.Version <= fee.Version {
		c.Logger.InfoContext(ctx, "settings change ignored: not newer", "version", ev.Version, "held_version", fee.Version)
		return nil
	}
	fee.GUID, fee.Version, fee.FeeEnabled, fee.FeeCents = ev.GUID, ev.Version, ev.FeeEnabled, ev.FeeCents
	if err := tx.DB.Save(&fee).Error; err != nil {
		return fmt.Errorf("save fee setting: %w", err)
	}
	c.Logger.InfoContext(ctx, "fee setting updated", "version", ev.Version, "fee_enabled", ev.FeeEnabled)
	return nil
}

// onOrderApproved charges an approved order once.
func (c *Charlie) onOrderApproved(ctx context.Context, tx *messaging.Tx, ev *events.OrderApproved) error {
	var existing int64
	if err := tx.DB.Model(&Charge{}).Where("order_guid = ?", ev.OrderGUID).Count(&existing).Error; err != nil {
		return fmt.Errorf("look up charge of %s: %w", ev.OrderGUID, err)
	}
	if existing > 0 {
		c.Logger.InfoContext(ctx, "order already charged", "order_guid", ev.OrderGUID)
		return nil
	}
	fee, err := loadFee(tx.DB)
	if err != nil {
		return err
	}
	charge := Charge{
		GUID: "charge-" + uuid.NewString()[:8], OrderGUID: ev.OrderGUID, CartGUID: ev.CartGUID,
		AmountCents: ev.TotalCents, SettingsVersion: fee.Version,
	}
	// Issue 3: each charge records the fee amount the order carried and
	// the fee status at charge time, so the ledger can balance.
	if c.Stage.Solved(3) {
		feeCents, enabled := ev.FeeCents, fee.FeeEnabled
		charge.FeeCents, charge.FeeEnabled = &feeCents, &enabled
	}
	if err := tx.DB.Create(&charge).Error; err != nil {
		return fmt.Errorf("charge order %s: %w", ev.OrderGUID, err)
	}
	c.Logger.InfoContext(ctx, "order charged", "order_guid", ev.OrderGUID, "charge_guid", charge.GUID,
		"amount_cents", charge.AmountCents)
	// Issue 4: charlie tells the world the order is charged; alpha, who
	// owns the lifecycle, turns that into order.finalized.
	if !c.Stage.Solved(4) {
		return nil
	}
	return tx.Publish(&events.OrderCharged{
		OrderGUID: ev.OrderGUID, ChargeGUID: charge.GUID, AmountCents: charge.AmountCents, FeeCents: ev.FeeCents,
	})
}
