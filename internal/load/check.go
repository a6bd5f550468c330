package load

import (
	"fmt"
	"sort"
)

// Order is an order as alpha lists it.
type Order struct {
	GUID     string `json:"guid"`
	CartGUID string `json:"cart_guid"`
	Status   string `json:"status"`
	FeeCents int64  `json:"fee_cents"`
}

// Ledger is charlie's fee ledger.
type Ledger struct {
	FeesCollectedCents int64 `json:"fees_collected_cents"`
	OrdersCharged      int64 `json:"orders_charged"`
	ChargesWithoutFee  int64 `json:"charges_without_fee"`
}

// Observed is what a run saw, for the check.
type Observed struct {
	Accepted       map[string]int // cart -> submits answered 202
	Orders         []Order        // alpha's orders of the run's carts
	Finalized      map[string]int // order guid -> order.finalized messages seen
	LedgerBefore   Ledger
	LedgerAfter    Ledger
	OrdersComplete bool // Orders holds every order of the run's carts
}

// Check lists everything wrong with a run's result: an order lost or
// captured twice, not finalized, finalized twice, charged twice or not at
// all, or fees that do not balance. No problems means the run is good.
func Check(o Observed) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	accepted := 0
	for _, n := range o.Accepted {
		accepted += n
	}
	perCart := map[string]int{}
	var fees int64
	for _, ord := range o.Orders {
		perCart[ord.CartGUID]++
		fees += ord.FeeCents
		if ord.Status != "finalized" {
			add("order %s (cart %s) is %s, not finalized", ord.GUID, ord.CartGUID, ord.Status)
		}
		if n := o.Finalized[ord.GUID]; n != 1 {
			add("order %s: %d order.finalized messages, want exactly 1", ord.GUID, n)
		}
	}
	if o.OrdersComplete {
		for _, cart := range sortedKeys(o.Accepted) {
			if got, want := perCart[cart], o.Accepted[cart]; got != want {
				add("cart %s: %d submits accepted but alpha has %d orders (lost or duplicated)", cart, want, got)
			}
		}
	}
	finalized := 0
	for _, n := range o.Finalized {
		finalized += n
	}
	if finalized != accepted {
		add("%d order.finalized messages for %d orders submitted", finalized, accepted)
	}
	if charged := o.LedgerAfter.OrdersCharged - o.LedgerBefore.OrdersCharged; charged != int64(accepted) {
		add("charlie charged %d orders, %d were submitted", charged, accepted)
	}
	if n := o.LedgerAfter.ChargesWithoutFee; n > 0 {
		add("charlie's ledger does not balance: %d charges without a fee", n)
	}
	collected := o.LedgerAfter.FeesCollectedCents - o.LedgerBefore.FeesCollectedCents
	if o.OrdersComplete && collected != fees {
		add("charlie collected %d cents of fees, alpha's orders carry %d", collected, fees)
	}
	return problems
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
