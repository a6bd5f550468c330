package load

import (
	"strings"
	"testing"
)

// goodRun is two carts, three orders, each finalized once, charged once,
// with fees that balance.
func goodRun() Observed {
	return Observed{
		Accepted: map[string]int{"cart-a": 2, "cart-b": 1},
		Orders: []Order{
			{GUID: "order-1", CartGUID: "cart-a", Status: "finalized", FeeCents: 2500},
			{GUID: "order-2", CartGUID: "cart-a", Status: "finalized", FeeCents: 2500},
			{GUID: "order-3", CartGUID: "cart-b", Status: "finalized", FeeCents: 0},
		},
		Finalized: map[string]int{"order-1": 1, "order-2": 1, "order-3": 1},
		Charges: []Charge{
			{GUID: "charge-1", OrderGUID: "order-1", CartGUID: "cart-a", FeeCents: cents(2500)},
			{GUID: "charge-2", OrderGUID: "order-2", CartGUID: "cart-a", FeeCents: cents(2500)},
			{GUID: "charge-3", OrderGUID: "order-3", CartGUID: "cart-b", FeeCents: cents(0)},
		},
		Ledgers:         []Ledger{{FeesCollectedCents: 5100, OrdersCharged: 10}},
		OrdersComplete:  true,
		ChargesComplete: true,
	}
}

func cents(n int64) *int64 { return &n }

// Two instances on one database list the same orders and charges: each
// is counted once, and the run is good.
func TestCheckCountsWhatSharedInstancesBothListOnce(t *testing.T) {
	run := goodRun()
	run.Orders = append(run.Orders, run.Orders...)
	run.Charges = append(run.Charges, run.Charges...)
	run.Ledgers = append(run.Ledgers, run.Ledgers...)
	if problems := Check(run); len(problems) > 0 {
		t.Fatalf("the same rows through two instances make problems: %q", problems)
	}
}

func TestCheckPassesAGoodRun(t *testing.T) {
	if problems := Check(goodRun()); len(problems) > 0 {
		t.Fatalf("a good run has problems: %q", problems)
	}
}

func TestCheckFailsLossAndDuplicates(t *testing.T) {
	cases := map[string]struct {
		spoil func(o *Observed)
		want  string
	}{
		"order lost at alpha": {func(o *Observed) {
			o.Orders = o.Orders[:2]
			delete(o.Finalized, "order-3")
		}, "cart cart-b: 1 submits accepted but alpha has 0 orders"},
		"order captured twice": {func(o *Observed) {
			o.Orders = append(o.Orders, Order{GUID: "order-4", CartGUID: "cart-b", Status: "finalized"})
			o.Finalized["order-4"] = 1
		}, "cart cart-b: 1 submits accepted but alpha has 2 orders"},
		"order never finalized": {func(o *Observed) {
			o.Orders[1].Status = "approved"
			delete(o.Finalized, "order-2")
		}, "order order-2 (cart cart-a) is approved, not finalized"},
		"order finalized twice": {func(o *Observed) {
			o.Finalized["order-1"] = 2
		}, "order order-1: 2 order.finalized messages"},
		"order charged twice": {func(o *Observed) {
			o.Charges = append(o.Charges, Charge{GUID: "charge-4", OrderGUID: "order-1", CartGUID: "cart-a", FeeCents: cents(0)})
		}, "order order-1 charged 2 times: charges [charge-1 charge-4]"},
		"order charged by two instances with files of their own": {func(o *Observed) {
			o.Charges = append(o.Charges, Charge{GUID: "charge-9", OrderGUID: "order-3", CartGUID: "cart-b", FeeCents: cents(0)})
			o.Ledgers = append(o.Ledgers, Ledger{OrdersCharged: 1})
		}, "charlie charged 4 orders, 3 were submitted"},
		"order not charged": {func(o *Observed) {
			o.Charges = o.Charges[:2]
		}, "charlie charged 2 orders, 3 were submitted"},
		"fees do not balance": {func(o *Observed) {
			o.Charges[2].FeeCents = cents(2500)
		}, "charlie collected 7500 cents of fees, alpha's orders carry 5000"},
		"charge without a fee": {func(o *Observed) {
			o.Ledgers = append(o.Ledgers, Ledger{ChargesWithoutFee: 1})
		}, "(instance 2) does not balance: 1 charges without a fee"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			run := goodRun()
			c.spoil(&run)
			problems := Check(run)
			if !strings.Contains(strings.Join(problems, "\n"), c.want) {
				t.Fatalf("want a problem %q, got %q", c.want, problems)
			}
		})
	}
}
