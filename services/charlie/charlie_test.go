package charlie

import (
	"slices"
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
	env.WantOutbox(t, &events.OrderCharged{OrderGUID: "order-1", ChargeGUID: ch.GUID, AmountCents: 3500, FeeCents: 2500,
		CartGUID: "cart-1"})
}

// approvedAt is an order.approved priced under a settings version with a fee.
func approvedAt(orderGUID string, version, feeCents int64) *events.OrderApproved {
	ev := approved(orderGUID)
	ev.SettingsVersion, ev.FeeCents, ev.TotalCents = version, feeCents, ev.PriceCents+feeCents
	return ev
}

// Issue 3: before the fix the charge has no fee amount, so the ledger
// cannot balance, and it never will while that charge is in it.
func TestLedgerCannotBalanceAChargeWithoutItsFee(t *testing.T) {
	c, env := newCharging(t)
	env.SetStage(t, 2)
	deliver(t, env, c.onOrderApproved, approved("order-1"))
	env.WantOutbox(t) // Issue 4: before, nobody hears of the charge
	l, err := loadLedger(env.DB)
	if err != nil {
		t.Fatal(err)
	}
	if l.Balanced || l.ChargesWithoutFee != 1 || l.FeesCollectedCents != 0 || len(l.Versions) != 0 {
		t.Fatalf("ledger after a charge without its fee: %+v, want unbalanced", l)
	}

	env.SetStage(t, 3)
	deliver(t, env, c.onOrderApproved, approved("order-2"))
	if l, err = loadLedger(env.DB); err != nil {
		t.Fatal(err)
	}
	if l.Balanced || l.ChargesWithoutFee != 1 || len(l.Versions) != 1 || !l.Versions[0].Balanced {
		t.Fatalf("ledger %+v: want v%d to balance and the ledger not, for the charge without a fee",
			l, seed.Settings.Version)
	}
}

// Issue 3: each charge is reconciled against the fee setting of the
// version its order was priced under, late versions too; a fee that
// disagrees, or a version charlie never saw, keeps the ledger from
// balancing.
func TestLedgerReconcilesEachChargeWithItsVersion(t *testing.T) {
	c, env := newCharging(t)
	later := feeOff
	later.Version++ // fee still off, one version on
	deliver(t, env, c.onSettingsChanged, &events.SettingsChanged{Settings: later})
	deliver(t, env, c.onSettingsChanged, &events.SettingsChanged{Settings: feeOff}) // arrives late

	deliver(t, env, c.onOrderApproved, approvedAt("order-1", seed.Settings.Version, 2500)) // fee on then
	deliver(t, env, c.onOrderApproved, approvedAt("order-2", feeOff.Version, 0))           // fee off then
	l, err := loadLedger(env.DB)
	if err != nil {
		t.Fatal(err)
	}
	want := []VersionTotals{
		{Version: seed.Settings.Version, FeeEnabled: true, FeeCents: 2500, Charges: 1,
			FeesCollectedCents: 2500, FeesExpectedCents: 2500, Balanced: true},
		{Version: feeOff.Version, FeeEnabled: false, FeeCents: 2500, Charges: 1, Balanced: true},
	}
	if !l.Balanced || !slices.Equal(l.Versions, want) || l.FeesCollectedCents != 2500 || l.SettingsVersion != later.Version {
		t.Fatalf("ledger %+v, want balanced with %+v and the copy at v%d", l, want, later.Version)
	}

	deliver(t, env, c.onOrderApproved, approvedAt("order-3", feeOff.Version, 2500)) // a fee while it was off
	deliver(t, env, c.onOrderApproved, approvedAt("order-4", 999, 2500))            // never seen
	if l, err = loadLedger(env.DB); err != nil {
		t.Fatal(err)
	}
	if l.Balanced || l.ChargesMismatched != 1 || l.Versions[1].Mismatched != 1 || l.Versions[1].Balanced ||
		l.Versions[1].FeesCollectedCents != 2500 || l.Versions[1].FeesExpectedCents != 0 ||
		l.ChargesUnknownVersion != 1 || !slices.Equal(l.UnknownVersions, []int64{999}) || l.OrdersCharged != 4 {
		t.Fatalf("ledger %+v: want one charge that disagrees at v%d and one at v999, never seen", l, feeOff.Version)
	}
	charges, _ := recentCharges(env.DB, 1)
	if fee := charges[0].FeeEnabled; fee == nil || *fee {
		t.Fatalf("newest charge's fee status %v, want off (charlie's copy when it was charged)", fee)
	}
}
