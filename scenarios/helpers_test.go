package scenarios

import (
	"testing"
	"time"

	st "eventually/internal/systemtest"
)

const wait = 15 * time.Second

type settings struct {
	GUID            string `json:"guid"`
	Version         int64  `json:"version"`
	FeeEnabled      bool   `json:"fee_enabled"`
	FeeCents        int64  `json:"fee_cents"`
	DiscountEnabled bool   `json:"discount_enabled"`
	DiscountCents   int64  `json:"discount_cents"`
}

type cart struct {
	GUID       string   `json:"guid"`
	Status     string   `json:"status"`
	Snapshot   settings `json:"snapshot"`
	Notices    []string `json:"notices"`
	PriceCents int64    `json:"price_cents"`
}

type order struct {
	GUID            string `json:"guid"`
	CartGUID        string `json:"cart_guid"`
	Status          string `json:"status"`
	PriceCents      int64  `json:"price_cents"`
	FeeCents        int64  `json:"fee_cents"`
	DiscountCents   int64  `json:"discount_cents"`
	TotalCents      int64  `json:"total_cents"`
	SettingsVersion int64  `json:"settings_version"`
	PricedFrom      string `json:"priced_from"`
}

type charge struct {
	OrderGUID   string `json:"order_guid"`
	AmountCents int64  `json:"amount_cents"`
	FeeCents    *int64 `json:"fee_cents"`
	FeeEnabled  *bool  `json:"fee_enabled"`
}

type ledger struct {
	FeesCollectedCents int64 `json:"fees_collected_cents"`
	OrdersCharged      int64 `json:"orders_charged"`
	ChargesWithoutFee  int64 `json:"charges_without_fee"`
	ChargesUnknown     int64 `json:"charges_unknown_version"`
	ChargesMismatched  int64 `json:"charges_mismatched"`
	Versions           []struct {
		Version  int64 `json:"version"`
		Charges  int64 `json:"charges"`
		Balanced bool  `json:"balanced"`
	} `json:"versions"`
	Balanced        bool  `json:"balanced"`
	FeeEnabled      bool  `json:"fee_enabled"`
	SettingsVersion int64 `json:"settings_version"`
}

const seedCart = "cart-12345678"

func getSettings(t *testing.T, s *st.System, service string) settings {
	t.Helper()
	var v settings
	st.Must(t, st.Call(t, "GET", s.URL(service)+"/api/settings", nil), 200).JSON(t, &v)
	return v
}

func putSettings(t *testing.T, s *st.System, change map[string]any) settings {
	t.Helper()
	var v settings
	st.Must(t, st.Call(t, "PUT", s.URL("alpha")+"/api/settings", change), 200).JSON(t, &v)
	return v
}

func loadCart(t *testing.T, s *st.System, guid string) cart {
	t.Helper()
	var c cart
	st.Must(t, st.Call(t, "POST", s.URL("beta")+"/api/carts/"+guid+"/load", nil), 200).JSON(t, &c)
	return c
}

func getCart(t *testing.T, s *st.System, guid string) cart {
	t.Helper()
	var c cart
	st.Must(t, st.Call(t, "GET", s.URL("beta")+"/api/carts/"+guid, nil), 200).JSON(t, &c)
	return c
}

func submit(t *testing.T, s *st.System, guid string, headers ...string) {
	t.Helper()
	st.Must(t, st.Call(t, "POST", s.URL("beta")+"/api/carts/"+guid+"/submit",
		map[string]any{"product": "widget", "price_cents": 1000}, headers...), 202)
}

func orders(t *testing.T, s *st.System) []order {
	t.Helper()
	var v []order
	st.Must(t, st.Call(t, "GET", s.URL("alpha")+"/api/orders", nil), 200).JSON(t, &v)
	return v
}

// waitOrder waits for alpha's order of a cart in the given status.
func waitOrder(t *testing.T, s *st.System, cartGUID, status string) order {
	t.Helper()
	var found order
	st.Eventually(t, wait, "order of "+cartGUID+" "+status, func() bool {
		for _, o := range orders(t, s) {
			if o.CartGUID == cartGUID && o.Status == status {
				found = o
				return true
			}
		}
		return false
	})
	return found
}

func approve(t *testing.T, s *st.System, guid string, headers ...string) {
	t.Helper()
	st.Must(t, st.Call(t, "POST", s.URL("alpha")+"/api/orders/"+guid+"/approve", nil, headers...), 200)
}

func charges(t *testing.T, s *st.System) []charge {
	t.Helper()
	var v []charge
	st.Must(t, st.Call(t, "GET", s.URL("charlie")+"/api/charges", nil), 200).JSON(t, &v)
	return v
}

func getLedger(t *testing.T, s *st.System) ledger {
	t.Helper()
	var v ledger
	st.Must(t, st.Call(t, "GET", s.URL("charlie")+"/api/ledger", nil), 200).JSON(t, &v)
	return v
}
