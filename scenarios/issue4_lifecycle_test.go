package scenarios

import (
	"testing"

	st "eventually/internal/systemtest"
)

// submitApproveCharge runs one order through capture, approval and charge.
func submitApproveCharge(t *testing.T, s *st.System) order {
	t.Helper()
	loadCart(t, s, seedCart)
	submit(t, s, seedCart)
	o := waitOrder(t, s, seedCart, "pending")
	approve(t, s, o.GUID)
	st.Eventually(t, wait, "charlie charges the order", func() bool {
		return getLedger(t, s).OrdersCharged == 1
	})
	return o
}

// Stage 3: nothing tells beta the order is done; the cart stays locked.
func TestIssue4BeforeCartStaysLocked(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 3})
	submitApproveCharge(t, s)
	// The charge is committed; at stage 3 charlie publishes nothing after it,
	// so no message is left in flight that could reopen the cart.
	if n := s.StreamCount("order.charged"); n != 0 {
		t.Fatalf("stage 3 published %d order.charged", n)
	}
	if c := getCart(t, s, seedCart); c.Status != "locked" {
		t.Fatalf("stage 3: cart %s, want it to stay locked", c.Status)
	}
}

// Stage ≥ 4: charlie → order.charged → alpha → order.finalized → beta
// reopens the cart.
func TestIssue4AfterCartReopensOnFinalized(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 4})
	o := submitApproveCharge(t, s)
	st.Eventually(t, wait, "cart reopens", func() bool { return getCart(t, s, seedCart).Status == "open" })
	if got := waitOrder(t, s, seedCart, "finalized"); got.GUID != o.GUID {
		t.Fatalf("finalized order %s, want %s", got.GUID, o.GUID)
	}
	if n := s.Processed("beta", "beta on order.finalized"); n != 1 {
		t.Fatalf("beta processed %d order.finalized, want 1", n)
	}
}

// Beta reopens the cart because of order.finalized, not order.charged:
// with an order.charged that names the cart in the stream and beta
// settled, the cart stays locked; when alpha turns the charge into
// order.finalized, it reopens.
func TestIssue4BetaReopensOnFinalizedNotCharged(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 4})
	loadCart(t, s, seedCart)
	submit(t, s, seedCart)
	o := waitOrder(t, s, seedCart, "pending") // held by alpha until approved
	s.PublishRaw("order.charged",
		map[string]any{"order_guid": "order-elsewhere", "charge_guid": "charge-1", "amount_cents": 1000, "fee_cents": 0,
			"cart_guid": seedCart},
		st.Metadata("order.charged", "charlie", "test-charged"), true)
	st.Eventually(t, wait, "beta settled", func() bool { return s.Settled("beta") })
	if c := getCart(t, s, seedCart); c.Status != "locked" {
		t.Fatalf("cart reopened without order.finalized: %+v", c)
	}

	approve(t, s, o.GUID) // charlie charges, alpha finalizes
	st.Eventually(t, wait, "cart reopens after order.finalized", func() bool {
		return getCart(t, s, seedCart).Status == "open"
	})
	if n := s.Processed("beta", "beta on order.finalized"); n != 1 {
		t.Fatalf("beta processed %d order.finalized, want 1", n)
	}
}

// A step added after the charge (alpha holds charged orders for review)
// shows why: reopening on order.charged opens the cart while its order is
// still in review; reopening on order.finalized waits until the review
// is done.
func TestIssue4ReviewAfterTheChargeNeedsFinalized(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 4, AutoApprove: true})
	st.Must(t, st.Call(t, "PUT", s.URL("alpha")+"/api/review", map[string]any{"enabled": true}), 200)

	st.Must(t, st.Call(t, "PUT", s.URL("beta")+"/api/reopen-on", map[string]string{"event": "order.charged"}), 200)
	loadCart(t, s, seedCart)
	submit(t, s, seedCart)
	held := waitOrder(t, s, seedCart, "in review")
	st.Eventually(t, wait, "cart reopens on order.charged", func() bool { return getCart(t, s, seedCart).Status == "open" })
	if o := waitOrder(t, s, seedCart, "in review"); o.GUID != held.GUID {
		t.Fatalf("order %s in review, want %s", o.GUID, held.GUID)
	}
	finishReview(t, s, held.GUID) // beta ignores its order.finalized
	st.Eventually(t, wait, "beta handled the order.finalized", func() bool {
		return s.Processed("beta", "beta on order.finalized") == 1
	})

	st.Must(t, st.Call(t, "PUT", s.URL("beta")+"/api/reopen-on", map[string]string{"event": "order.finalized"}), 200)
	loadCart(t, s, seedCart)
	submit(t, s, seedCart)
	second := waitOrder(t, s, seedCart, "in review")
	st.Eventually(t, wait, "beta handled the second order.charged", func() bool {
		return s.Processed("beta", "beta on order.charged") == 2
	})
	if c := getCart(t, s, seedCart); c.Status != "locked" {
		t.Fatalf("cart %s while its order is in review, want locked", c.Status)
	}
	finishReview(t, s, second.GUID)
	st.Eventually(t, wait, "cart reopens on order.finalized", func() bool { return getCart(t, s, seedCart).Status == "open" })
}

func finishReview(t *testing.T, s *st.System, guid string) {
	t.Helper()
	st.Must(t, st.Call(t, "POST", s.URL("alpha")+"/api/orders/"+guid+"/review", nil), 200)
}
