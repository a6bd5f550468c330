package scenarios

import (
	"testing"
	"time"

	st "eventually/internal/systemtest"
)

// resetAll presses the dashboard's Reset: POST /api/reset on every service.
func resetAll(t *testing.T, s *st.System) {
	t.Helper()
	for _, name := range st.AllServices {
		st.Must(t, st.Call(t, "POST", s.URL(name)+"/api/reset", nil), 200)
	}
}

// Reset returns every service to the seed, whatever was changed, and an
// event from before it that arrives a moment later does not undo it;
// what happens after the reset flows as usual.
func TestResetReturnsEveryServiceToTheSeed(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 6})
	// Change everything a talk changes: settings, an order charged, the switches.
	changed := putSettings(t, s, map[string]any{"discount_enabled": true, "fee_enabled": false})
	st.Eventually(t, wait, "copies follow", func() bool {
		return getSettings(t, s, "beta").Version == changed.Version && getSettings(t, s, "charlie").Version == changed.Version
	})
	st.Must(t, st.Call(t, "PUT", s.URL("alpha")+"/api/auto-approve", map[string]bool{"enabled": true}), 200)
	st.Must(t, st.Call(t, "PUT", s.URL("alpha")+"/api/review", map[string]any{"enabled": true}), 200)
	st.Must(t, st.Call(t, "PUT", s.URL("beta")+"/api/reopen-on", map[string]string{"event": "order.charged"}), 200)
	loadCart(t, s, seedCart)
	submit(t, s, seedCart)
	waitOrder(t, s, seedCart, "in review")
	st.Eventually(t, wait, "the charge", func() bool { return getLedger(t, s).OrdersCharged == 1 })
	oldSettings, oldCapture := s.LastMessage("settings.changed"), s.LastMessage("order.captured")

	resetAll(t, s)
	wantSeed(t, s)

	// Late arrivals from before the reset, as a redelivery would bring them.
	s.Republish("settings.changed", oldSettings)
	s.Republish("order.captured", oldCapture)
	st.Eventually(t, wait, "every service settled", func() bool {
		return s.Settled("alpha") && s.Settled("beta") && s.Settled("charlie") && s.Settled("overlord")
	})
	wantSeed(t, s)

	// After the reset the versions start again from the seed's, and flow.
	after := putSettings(t, s, map[string]any{"fee_enabled": false})
	if after.Version != 1001 {
		t.Fatalf("first change after the reset is version %d, want 1001", after.Version)
	}
	st.Eventually(t, wait, "copies take version 1001 again", func() bool {
		return getSettings(t, s, "beta").Version == 1001 && getSettings(t, s, "charlie").Version == 1001
	})
	var msgs []map[string]any
	st.Eventually(t, wait, "overlord records the new change", func() bool {
		st.Must(t, st.Call(t, "GET", s.URL("overlord")+"/api/messages", nil), 200).JSON(t, &msgs)
		return len(msgs) > 0
	})
	if len(msgs) != 1 || msgs[0]["event_name"] != "settings.changed" {
		t.Fatalf("overlord after the reset shows %d messages, want only the new settings.changed: %v", len(msgs), msgs)
	}
}

// wantSeed fails the test unless every service holds the seed.
func wantSeed(t *testing.T, s *st.System) {
	t.Helper()
	for _, service := range []string{"alpha", "beta", "charlie"} {
		if got := getSettings(t, s, service); got.Version != 1000 || !got.FeeEnabled || got.FeeCents != 2500 {
			t.Fatalf("%s's settings %+v, want the seed's at version 1000", service, got)
		}
	}
	if a := getSettings(t, s, "alpha"); a.DiscountEnabled || a.DiscountCents != 1000 {
		t.Fatalf("alpha's settings %+v, want the discount off", a)
	}
	if o := orders(t, s); len(o) != 0 {
		t.Fatalf("alpha has %d orders, want none", len(o))
	}
	for path, want := range map[string]string{"/api/auto-approve": `{"enabled":false}`,
		"/api/review": `{"enabled":false,"pass_after_seconds":60}`} {
		if got := string(st.Must(t, st.Call(t, "GET", s.URL("alpha")+path, nil), 200).Body); got != want+"\n" {
			t.Fatalf("alpha %s: %s, want %s", path, got, want)
		}
	}
	if c := getCart(t, s, seedCart); c.Status != "open" || c.PriceCents != 1000 || c.Snapshot.Version != 1000 {
		t.Fatalf("beta's cart %+v, want the seed's, open", c)
	}
	if got := st.Call(t, "GET", s.URL("beta")+"/api/reopen-on", nil).Map(t)["event"]; got != "order.finalized" {
		t.Fatalf("beta reopens on %v, want order.finalized", got)
	}
	if l := getLedger(t, s); l.OrdersCharged != 0 || !l.Balanced || len(charges(t, s)) != 0 {
		t.Fatalf("charlie's ledger %+v, want empty and balanced", l)
	}
	st.Eventually(t, time.Second, "overlord forgets", func() bool {
		var msgs []map[string]any
		st.Must(t, st.Call(t, "GET", s.URL("overlord")+"/api/messages", nil), 200).JSON(t, &msgs)
		return len(msgs) == 0
	})
}
