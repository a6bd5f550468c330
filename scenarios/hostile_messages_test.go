package scenarios

import (
	"strings"
	"testing"

	st "eventually/internal/systemtest"
)

// A foreign client publishes a 200 KB order.captured whose product is
// 200,000 '<' characters (JSON-escaped six times larger, it would not fit
// the broker once alpha re-published it). It is poisoned with a reason,
// and the 20 real orders behind it all go through, one charge each.
func TestOversizedForeignMessageDoesNotJamTheFlow(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 6, AutoApprove: true})
	md := st.Metadata("order.captured", "beta", "hostile-oversized")
	md["event_version"] = "2"
	// Raw bytes: '<' unescaped, as a foreign client may send it.
	payload := `{"cart_guid":"cart-hostile","product":"` + strings.Repeat("<", 200_000) + `","price_cents":1000}`
	s.PublishRaw("order.captured", []byte(payload), md, true)

	carts := placeOrders(t, s, 20)
	st.Eventually(t, wait, "all 20 carts reopened (orders finalized)", func() bool {
		for _, guid := range carts {
			if getCart(t, s, guid).Status != "open" {
				return false
			}
		}
		return true
	})
	if n := len(charges(t, s)); n != 20 {
		t.Fatalf("%d charges, want 20", n)
	}
	poisoned := s.Messages("poison")
	if len(poisoned) != 1 || !strings.Contains(poisoned[0].Metadata["reason_poisoned"], "at most 200 are allowed") {
		t.Fatalf("poison: %d messages %v, want the oversized one with its reason", len(poisoned), reasons(poisoned))
	}
}

// A settings.changed from a producer other than alpha, with a version far
// ahead, is poisoned: no copy takes it, and real changes still apply.
func TestForeignProducerIsPoisonedAndCopiesUnchanged(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 6})
	before := getSettings(t, s, "beta")
	forged := map[string]any{"guid": "guid-12345678", "version": 999999999, "fee_enabled": false, "fee_cents": 0,
		"discount_enabled": true, "discount_cents": 100000}
	s.PublishRaw("settings.changed", forged, st.Metadata("settings.changed", "mallory", "forged"), true)
	st.Eventually(t, wait, "poisoned by beta and charlie", func() bool { return s.StreamCount("poison") == 2 })
	for _, p := range s.Messages("poison") {
		if !strings.Contains(p.Metadata["reason_poisoned"], `not "mallory"`) {
			t.Errorf("poison reason %q: want the unexpected producer named", p.Metadata["reason_poisoned"])
		}
	}
	if got := getSettings(t, s, "beta"); got != before {
		t.Fatalf("beta's copy changed by a forged message: %+v", got)
	}
	latest := putSettings(t, s, map[string]any{"fee_cents": 3100})
	st.Eventually(t, wait, "a real change still applies", func() bool {
		return getSettings(t, s, "beta").Version == latest.Version && getSettings(t, s, "charlie").Version == latest.Version
	})
}

// placeOrders opens n new carts, loads and submits each, and returns them.
func placeOrders(t *testing.T, s *st.System, n int) []string {
	t.Helper()
	var guids []string
	for range n {
		var c cart
		st.Must(t, st.Call(t, "POST", s.URL("beta")+"/api/carts", nil), 201).JSON(t, &c)
		loadCart(t, s, c.GUID)
		submit(t, s, c.GUID)
		guids = append(guids, c.GUID)
	}
	return guids
}

func reasons(msgs []st.Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.Metadata["reason_poisoned"])
	}
	return out
}
