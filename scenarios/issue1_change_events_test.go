package scenarios

import (
	"slices"
	"testing"

	st "eventually/internal/systemtest"
)

// Stage 0: alpha's change stays in alpha; beta shows its stale copy.
func TestIssue1BeforeBetaKeepsStaleSettings(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 0})
	changed := putSettings(t, s, map[string]any{"discount_enabled": true})
	if !changed.DiscountEnabled || changed.Version != 1001 {
		t.Fatalf("alpha settings after PUT: %+v", changed)
	}
	c := loadCart(t, s, seedCart)
	if slices.Contains(c.Notices, "Your order is discounted!") {
		t.Fatalf("stage 0: beta shows a discount it cannot know about: %v", c.Notices)
	}
	if got := getSettings(t, s, "beta"); got.Version != 1000 || got.DiscountEnabled {
		t.Fatalf("stage 0: beta's copy moved: %+v", got)
	}
	// A barrier: a change made at stage 1 reaches beta. The relay publishes
	// in order, so had the stage-0 change been published it would be in the
	// stream before this one.
	s.SetStage(1)
	putSettings(t, s, map[string]any{"fee_cents": 2600})
	st.Eventually(t, wait, "beta gets the stage-1 change", func() bool {
		return getSettings(t, s, "beta").Version == 1002
	})
	if n := s.StreamCount("settings.changed"); n != 1 {
		t.Fatalf("stage 0 published settings.changed: %d messages in the stream, want only the stage-1 one", n)
	}
}

// Stage ≥ 1: beta's copy follows alpha through settings.changed, and a
// freshly loaded cart shows the discount notice.
func TestIssue1AfterBetaFollowsSettings(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 1})
	changed := putSettings(t, s, map[string]any{"discount_enabled": true})
	st.Eventually(t, wait, "beta's copy at alpha's version", func() bool {
		return getSettings(t, s, "beta") == changed
	})
	c := loadCart(t, s, seedCart)
	if !slices.Contains(c.Notices, "Your order is discounted!") {
		t.Fatalf("stage 1: discount notice missing: %v", c.Notices)
	}
}
