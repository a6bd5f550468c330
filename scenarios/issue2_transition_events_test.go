package scenarios

import (
	"testing"

	st "eventually/internal/systemtest"
)

// discountToggledMidForm loads the cart form while the discount is on,
// turns the discount off in alpha, submits, and returns alpha's order and
// the settings version the form was loaded with.
func discountToggledMidForm(t *testing.T, s *st.System) (order, int64) {
	t.Helper()
	on := putSettings(t, s, map[string]any{"discount_enabled": true})
	st.Eventually(t, wait, "beta sees the discount", func() bool {
		return getSettings(t, s, "beta").Version == on.Version
	})
	loaded := loadCart(t, s, seedCart)
	if !loaded.Snapshot.DiscountEnabled {
		t.Fatalf("form loaded without the discount: %+v", loaded.Snapshot)
	}
	putSettings(t, s, map[string]any{"discount_enabled": false})
	submit(t, s, seedCart)
	return waitOrder(t, s, seedCart, "pending"), loaded.Snapshot.Version
}

// Stage 1: alpha prices from its current settings; the promised discount is lost.
func TestIssue2BeforePromisedDiscountIsLost(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 1})
	o, _ := discountToggledMidForm(t, s)
	if o.DiscountCents != 0 || o.PricedFrom != "current settings" {
		t.Fatalf("stage 1: want the discount lost (priced from current settings), got %+v", o)
	}
}

// Stage ≥ 2: the order is priced from the snapshot the form was loaded with.
func TestIssue2AfterSnapshotKeepsPromise(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 2})
	o, snapshotVersion := discountToggledMidForm(t, s)
	if o.DiscountCents != 1000 || o.PricedFrom != "snapshot" {
		t.Fatalf("stage 2: want the promised 1000 discount from the snapshot, got %+v", o)
	}
	if o.SettingsVersion != snapshotVersion {
		t.Fatalf("order priced with settings version %d, form was loaded with %d", o.SettingsVersion, snapshotVersion)
	}
	captured := s.LastMessage("order.captured")
	snap, _ := captured.Payload["settings"].(map[string]any)
	if snap == nil || int64(snap["version"].(float64)) != snapshotVersion {
		t.Fatalf("order.captured does not carry the snapshot version %d: %v", snapshotVersion, captured.Payload)
	}
}
