package scenarios

import (
	"testing"

	st "eventually/internal/systemtest"
)

// chargeOneOrder changes the fee in alpha, then submits and approves one
// order and waits for charlie's charge of it.
func chargeOneOrder(t *testing.T, s *st.System, feeCents int64) (settings, charge) {
	t.Helper()
	changed := putSettings(t, s, map[string]any{"fee_cents": feeCents})
	st.Eventually(t, wait, "beta has the new fee", func() bool {
		return getSettings(t, s, "beta").Version == changed.Version
	})
	loadCart(t, s, seedCart)
	submit(t, s, seedCart)
	o := waitOrder(t, s, seedCart, "pending")
	approve(t, s, o.GUID)
	var c charge
	st.Eventually(t, wait, "charlie charges "+o.GUID, func() bool {
		for _, ch := range charges(t, s) {
			if ch.OrderGUID == o.GUID {
				c = ch
				return true
			}
		}
		return false
	})
	return changed, c
}

// Stage 2: order.approved carries no fee and charlie ignores settings, so
// its ledger cannot balance.
func TestIssue3BeforeLedgerCannotBalance(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 2})
	_, c := chargeOneOrder(t, s, 3000)
	if c.FeeCents != nil || c.FeeEnabled != nil {
		t.Fatalf("stage 2: charge should not know its fee, got %+v", c)
	}
	if fee := getSettings(t, s, "charlie"); fee.Version != 1000 || fee.FeeCents != 2500 {
		t.Fatalf("stage 2: charlie's fee setting should still be the seed, got %+v", fee)
	}
	if l := getLedger(t, s); l.Balanced || l.ChargesWithoutFee != 1 || len(l.Versions) != 0 {
		t.Fatalf("stage 2: ledger should not balance, got %+v", l)
	}
}

// Stage ≥ 3: charlie follows the fee setting, each charge records the fee
// amount and status at charge time, and the ledger sums the fees.
func TestIssue3AfterLedgerBalances(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 3})
	changed, c := chargeOneOrder(t, s, 3000)
	fee := getSettings(t, s, "charlie")
	if fee.Version != changed.Version || fee.FeeCents != 3000 {
		t.Fatalf("stage 3: charlie's fee setting %+v, want alpha's %+v", fee, changed)
	}
	if c.FeeCents == nil || *c.FeeCents != 3000 || c.FeeEnabled == nil || !*c.FeeEnabled {
		t.Fatalf("stage 3: charge should record fee 3000, enabled; got %+v", c)
	}
	if c.AmountCents != 1000+3000 {
		t.Fatalf("charged %d, want price + fee = 4000", c.AmountCents)
	}
	// Turn the fee off: the next charge records that, and the ledger
	// still sums what was collected.
	off := putSettings(t, s, map[string]any{"fee_enabled": false})
	st.Eventually(t, wait, "beta and charlie see the fee off", func() bool {
		return getSettings(t, s, "charlie").Version == off.Version && getSettings(t, s, "beta").Version == off.Version
	})
	// Stage 3: nothing reopens the cart yet (issue 4); reopen it by hand.
	st.Must(t, st.Call(t, "POST", s.URL("beta")+"/api/carts/"+seedCart+"/reset", nil), 200)
	loadCart(t, s, seedCart)
	submit(t, s, seedCart)
	o := waitOrder(t, s, seedCart, "pending")
	approve(t, s, o.GUID)
	st.Eventually(t, wait, "second charge", func() bool { return getLedger(t, s).OrdersCharged == 2 })
	l := getLedger(t, s)
	if !l.Balanced || l.FeesCollectedCents != 3000 || l.FeeEnabled {
		t.Fatalf("stage 3: ledger %+v, want balanced with 3000 collected and the fee now off", l)
	}
	// Each charge reconciles with the version its order was priced under:
	// the fee of 3000 with the first change, no fee with the second.
	if len(l.Versions) != 2 || l.Versions[0].Version != changed.Version || l.Versions[1].Version != off.Version ||
		!l.Versions[0].Balanced || !l.Versions[1].Balanced {
		t.Fatalf("stage 3: reconciliation %+v, want v%d and v%d, each balanced", l.Versions, changed.Version, off.Version)
	}
}
