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

// Charge is a charge as charlie lists it.
type Charge struct {
	GUID      string `json:"guid"`
	OrderGUID string `json:"order_guid"`
	CartGUID  string `json:"cart_guid"`
	FeeCents  *int64 `json:"fee_cents"`
}

// Observed is what a run saw, for the check. Orders and charges are read
// from every instance of alpha and charlie: instances that share a
// database list the same rows (one GUID, counted once); instances with
// databases of their own list theirs, and a charge of one order in two
// of them is a charge too many.
type Observed struct {
	Accepted  map[string]int // cart -> submits answered 202
	Orders    []Order        // the orders of the run's carts, of every alpha instance
	Finalized map[string]int // order guid -> order.finalized messages seen
	Charges   []Charge       // the charges of the run's carts, of every charlie instance
	// Ledgers are every charlie instance's ledger after the run.
	Ledgers        []Ledger
	OrdersComplete bool // Orders holds every order of the run's carts
	// ChargesComplete: Charges holds every charge of the run's carts.
	ChargesComplete bool
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
	for _, ord := range distinctOrders(o.Orders) {
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
	charges, collected := distinctCharges(o.Charges)
	perOrder := map[string][]string{}
	for _, c := range charges {
		perOrder[c.OrderGUID] = append(perOrder[c.OrderGUID], c.GUID)
	}
	for _, order := range sortedKeys(perOrder) {
		if guids := perOrder[order]; len(guids) > 1 {
			add("order %s charged %d times: charges %v", order, len(guids), guids)
		}
	}
	if o.ChargesComplete && len(charges) != accepted {
		add("charlie charged %d orders, %d were submitted", len(charges), accepted)
	}
	for i, l := range o.Ledgers {
		if l.ChargesWithoutFee > 0 {
			add("charlie's ledger (instance %d) does not balance: %d charges without a fee", i+1, l.ChargesWithoutFee)
		}
	}
	if o.OrdersComplete && o.ChargesComplete && collected != fees {
		add("charlie collected %d cents of fees, alpha's orders carry %d", collected, fees)
	}
	return problems
}

// distinctOrders are the orders by GUID: an order listed by two
// instances of one database is one order.
func distinctOrders(orders []Order) []Order {
	seen := map[string]bool{}
	var out []Order
	for _, ord := range orders {
		if !seen[ord.GUID] {
			seen[ord.GUID] = true
			out = append(out, ord)
		}
	}
	return out
}

// distinctCharges are the charges by GUID, and the fees they carry.
func distinctCharges(charges []Charge) ([]Charge, int64) {
	seen := map[string]bool{}
	var out []Charge
	var fees int64
	for _, c := range charges {
		if seen[c.GUID] {
			continue
		}
		seen[c.GUID] = true
		out = append(out, c)
		if c.FeeCents != nil {
			fees += *c.FeeCents
		}
	}
	return out, fees
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
