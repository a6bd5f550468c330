package charlie

import (
	"testing"

	"eventually/pkg/domain/domaintest"
	"eventually/pkg/events"
	"eventually/pkg/seed"
)

// newCharging is charlie's domain on a fresh, seeded database with every
// problem solved (set env.Stage for another stage); no HTTP, no broker.
func newCharging(t *testing.T) (*Charging, *domaintest.Env) {
	t.Helper()
	env := domaintest.New(t, "charlie", models, seedStore)
	return &Charging{stage: env.Stage, logger: env.Logger}, env
}

// feeOff is alpha's settings after the fee was turned off.
var feeOff = events.Settings{GUID: seed.Settings.GUID, Version: seed.Settings.Version + 1,
	FeeEnabled: false, FeeCents: 2500, DiscountEnabled: true, DiscountCents: 1000}

// approved is an order.approved with a 2500-cent fee.
func approved(orderGUID string) *events.OrderApproved {
	return &events.OrderApproved{OrderGUID: orderGUID, CartGUID: "cart-1", Product: "widget",
		PriceCents: 1000, FeeCents: 2500, TotalCents: 3500, SettingsVersion: seed.Settings.Version}
}

func deliver[T any](t *testing.T, env *domaintest.Env, handle domaintest.Handler[T], ev *T) {
	t.Helper()
	if err := domaintest.Deliver(env, handle, ev); err != nil {
		t.Fatal(err)
	}
}

// Issue 3: charlie keeps the current fee setting from settings.changed,
// newer versions only; before the fix it ignores settings altogether.
func TestFeeSettingTakesOnlyNewerVersions(t *testing.T) {
	for _, tc := range []struct {
		stage   int
		version int64
		enabled bool
	}{
		{stage: 3, version: feeOff.Version, enabled: false},
		{stage: 2, version: seed.Settings.Version, enabled: true},
	} {
		c, env := newCharging(t)
		env.SetStage(t, tc.stage)
		deliver(t, env, c.onSettingsChanged, &events.SettingsChanged{Settings: feeOff})
		for _, version := range []int64{feeOff.Version, feeOff.Version - 1} {
			stale := feeOff
			stale.Version, stale.FeeCents = version, 1 // another fee, not newer: old news
			deliver(t, env, c.onSettingsChanged, &events.SettingsChanged{Settings: stale})
		}

		held, err := loadFee(env.DB)
		if err != nil {
			t.Fatal(err)
		}
		if held.Version != tc.version || held.FeeEnabled != tc.enabled || held.FeeCents != 2500 {
			t.Errorf("stage %d: fee setting %+v, want v%d, enabled %v, 2500 cents", tc.stage, held, tc.version, tc.enabled)
		}
		env.WantOutbox(t)
	}
}

// An order is charged once, with the fee it carried and the fee status at
// the time, and order.charged is published once.
func TestOrderIsChargedOnce(t *testing.T) {
	c, env := newCharging(t)
	for range 2 {
		deliver(t, env, c.onOrderApproved, approved("order-1"))
	}
	charges, err := recentCharges(env.DB, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(charges) != 1 {
		t.Fatalf("%d charges, want one", len(charges))
	}
	ch := charges[0]
	if ch.OrderGUID != "order-1" || ch.AmountCents != 3500 || ch.FeeCents == nil || *ch.FeeCents != 2500 ||
		ch.FeeEnabled == nil || !*ch.FeeEnabled || ch.SettingsVersion != seed.Settings.Version {
		t.Fatalf("charge %+v, want 3500 with a 2500 fee, fee on at v%d", ch, seed.Settings.Version)
	}
	env.WantOutbox(t, &events.OrderCharged{OrderGUID: "order-1", ChargeGUID: ch.GUID, AmountCents: 3500, FeeCents: 2500})
}

// Issue 3: the ledger balances once every charge records its fee; a charge
// made before the fix has none and can never be reconciled.
func TestLedgerBalancesFromTheFirstChargeWithItsFee(t *testing.T) {
	c, env := newCharging(t)
	env.SetStage(t, 2)
	deliver(t, env, c.onOrderApproved, approved("order-1"))
	env.WantOutbox(t) // Issue 4: before, nobody hears of the charge
	l, err := loadLedger(env.DB)
	if err != nil {
		t.Fatal(err)
	}
	if l.Balanced || l.ChargesWithoutFee != 1 || l.FeesCollectedCents != 0 {
		t.Fatalf("ledger after a charge without its fee: %+v, want unbalanced", l)
	}

	env.SetStage(t, 3)
	deliver(t, env, c.onSettingsChanged, &events.SettingsChanged{Settings: feeOff})
	deliver(t, env, c.onOrderApproved, approved("order-2"))
	if l, err = loadLedger(env.DB); err != nil {
		t.Fatal(err)
	}
	want := Ledger{FeesCollectedCents: 2500, OrdersCharged: 2, OrdersWithFee: 1, ChargesWithoutFee: 1,
		Balanced: true, FeeEnabled: false, FeeCents: 2500, SettingsVersion: feeOff.Version}
	if l != want {
		t.Fatalf("ledger %+v, want %+v", l, want)
	}
	charges, _ := recentCharges(env.DB, 1)
	if fee := charges[0].FeeEnabled; fee == nil || *fee {
		t.Fatalf("newest charge's fee status %v, want off (the setting when it was charged)", fee)
	}
}
