package scenarios

import (
	"fmt"
	"strings"
	"testing"

	st "eventually/internal/systemtest"
	"eventually/pkg/stage"
)

// state is everything the services would show, to prove bad input changed nothing.
func state(t *testing.T, s *st.System) string {
	t.Helper()
	var b strings.Builder
	for _, url := range []string{
		s.URL("alpha") + "/api/settings", s.URL("alpha") + "/api/orders",
		s.URL("beta") + "/api/settings", s.URL("beta") + "/api/carts/" + seedCart,
		s.URL("charlie") + "/api/settings", s.URL("charlie") + "/api/charges", s.URL("charlie") + "/api/ledger",
		s.URL("alpha") + "/api/review", s.URL("beta") + "/api/reopen-on",
	} {
		b.Write(st.Must(t, st.Call(t, "GET", url, nil), 200).Body)
	}
	return b.String()
}

func TestBadInputGetsClearErrorAndChangesNothing(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 6})
	// One approved order, so "approve twice" has something to refuse.
	loadCart(t, s, seedCart)
	submit(t, s, seedCart)
	o := waitOrder(t, s, seedCart, "pending")
	approve(t, s, o.GUID)
	st.Eventually(t, wait, "order finalized", func() bool {
		return waitOrder(t, s, seedCart, "finalized").GUID == o.GUID
	})
	st.Eventually(t, wait, "cart reopened", func() bool { return getCart(t, s, seedCart).Status == "open" })
	before := state(t, s)

	big := `{"product":"` + strings.Repeat("x", 70*1024) + `","price_cents":1}`
	cases := []struct {
		name, service, method, path string
		body                        any
		headers                     []string
		status                      int
		mentions                    string
	}{
		{"invalid JSON", "beta", "POST", "/api/carts/" + seedCart + "/submit", `{"product": "widget",`, nil, 400, "not valid JSON"},
		{"missing price", "beta", "POST", "/api/carts/" + seedCart + "/submit", map[string]any{"product": "widget"}, nil, 400, "price_cents is required"},
		{"negative price", "beta", "POST", "/api/carts/" + seedCart + "/submit", map[string]any{"product": "widget", "price_cents": -5}, nil, 400, "price_cents must be positive"},
		{"missing product", "beta", "POST", "/api/carts/" + seedCart + "/submit", map[string]any{"price_cents": 100}, nil, 400, "product is required"},
		{"price not a number", "beta", "POST", "/api/carts/" + seedCart + "/submit", `{"product":"w","price_cents":"ten"}`, nil, 400, "price_cents"},
		{"unknown field", "beta", "POST", "/api/carts/" + seedCart + "/submit", `{"product":"w","price_cents":1,"coupon":"x"}`, nil, 400, "coupon"},
		{"unknown cart", "beta", "POST", "/api/carts/cart-nope/submit", map[string]any{"product": "w", "price_cents": 1}, nil, 404, "cart-nope"},
		{"unknown cart load", "beta", "POST", "/api/carts/cart-nope/load", nil, nil, 404, "cart-nope"},
		{"body over 64 KiB", "beta", "POST", "/api/carts/" + seedCart + "/submit", big, nil, 413, "larger than 64KB"},
		{"not JSON content type", "beta", "POST", "/api/carts/" + seedCart + "/submit", "product=w", []string{"Content-Type", "text/plain"}, 415, "application/json"},
		{"unknown order", "alpha", "GET", "/api/orders/order-nope", nil, nil, 404, "order-nope"},
		{"approve unknown order", "alpha", "POST", "/api/orders/order-nope/approve", nil, nil, 404, "order-nope"},
		{"approve twice", "alpha", "POST", "/api/orders/" + o.GUID + "/approve", nil, nil, 409, "not pending"},
		{"negative fee", "alpha", "PUT", "/api/settings", map[string]any{"fee_cents": -1}, nil, 400, "fee_cents must not be negative"},
		{"fee beyond the bound", "alpha", "PUT", "/api/settings", map[string]any{"fee_cents": int64(9223372036854775807)}, nil, 400, "fee_cents must be at most 100000000"},
		{"price beyond the bound", "beta", "POST", "/api/carts/" + seedCart + "/submit", map[string]any{"product": "widget", "price_cents": 100000001}, nil, 400, "price_cents must be at most 100000000"},
		{"product too long", "beta", "POST", "/api/carts/" + seedCart + "/submit", map[string]any{"product": strings.Repeat("<", 201), "price_cents": 1}, nil, 400, "at most 200 are allowed"},
		{"empty settings change", "alpha", "PUT", "/api/settings", map[string]any{}, nil, 400, "at least one"},
		{"settings wrong type", "alpha", "PUT", "/api/settings", `{"fee_enabled":"yes"}`, nil, 400, "fee_enabled"},
		{"review of an unknown order", "alpha", "POST", "/api/orders/order-nope/review", nil, nil, 404, "order-nope"},
		{"review of an order not in review", "alpha", "POST", "/api/orders/" + o.GUID + "/review", nil, nil, 409, "not in review"},
		{"review switch without enabled", "alpha", "PUT", "/api/review", map[string]any{}, nil, 400, "enabled is required"},
		{"review timeout of zero", "alpha", "PUT", "/api/review", map[string]any{"enabled": true, "pass_after_seconds": 0}, nil, 400, "pass_after_seconds"},
		{"reopen on another event", "beta", "PUT", "/api/reopen-on", map[string]any{"event": "order.approved"}, nil, 400, "order.charged or order.finalized"},
		{"auto-approve without enabled", "alpha", "PUT", "/api/auto-approve", map[string]any{}, nil, 400, "enabled is required"},
		{"stage out of range", "charlie", "PUT", "/api/stage", map[string]any{"stage": 9}, nil, 400, fmt.Sprintf("want 0 to %d", stage.Max)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := st.Call(t, c.method, s.URL(c.service)+c.path, c.body, c.headers...)
			if r.Status != c.status {
				t.Fatalf("status %d, want %d: %s", r.Status, c.status, r.Body)
			}
			var e struct {
				Error     string `json:"error"`
				RequestID string `json:"request_id"`
			}
			r.JSON(t, &e)
			if !strings.Contains(e.Error, c.mentions) {
				t.Errorf("error %q does not mention %q", e.Error, c.mentions)
			}
			if e.RequestID == "" || e.RequestID != r.RequestID {
				t.Errorf("error request_id %q, X-Request-ID %q: want the same, non-empty", e.RequestID, r.RequestID)
			}
		})
	}
	if after := state(t, s); after != before {
		t.Fatalf("bad input changed state:\nbefore %s\nafter  %s", before, after)
	}
}

// A locked cart refuses a second submit with 409 and stays as it was.
func TestSubmitWhileLockedIsConflict(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 3}) // nothing reopens the cart at stage 3
	loadCart(t, s, seedCart)
	submit(t, s, seedCart)
	r := st.Call(t, "POST", s.URL("beta")+"/api/carts/"+seedCart+"/submit", map[string]any{"product": "other", "price_cents": 5})
	if r.Status != 409 || !strings.Contains(string(r.Body), "locked") {
		t.Fatalf("second submit: %d %s, want 409 naming the lock", r.Status, r.Body)
	}
	if c := getCart(t, s, seedCart); c.Status != "locked" || c.PriceCents != 1000 {
		t.Fatalf("cart changed: %+v", c)
	}
}
