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
		Finalized:      map[string]int{"order-1": 1, "order-2": 1, "order-3": 1},
		LedgerBefore:   Ledger{FeesCollectedCents: 100, OrdersCharged: 7},
		LedgerAfter:    Ledger{FeesCollectedCents: 5100, OrdersCharged: 10},
		OrdersComplete: true,
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
			o.LedgerAfter.OrdersCharged++
		}, "charlie charged 4 orders, 3 were submitted"},
		"fees do not balance": {func(o *Observed) {
			o.LedgerAfter.FeesCollectedCents += 2500
		}, "charlie collected 7500 cents of fees, alpha's orders carry 5000"},
		"charge without a fee": {func(o *Observed) {
			o.LedgerAfter.ChargesWithoutFee = 1
		}, "1 charges without a fee"},
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
