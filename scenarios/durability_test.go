package scenarios

import (
	"testing"

	st "eventually/internal/systemtest"
)

// A service that was down gets what it missed when it comes back, and
// nothing twice.
func TestDurableConsumerCatchesUpAfterRestart(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 6})
	first := putSettings(t, s, map[string]any{"fee_cents": 2600})
	st.Eventually(t, wait, "beta at the first change", func() bool {
		return getSettings(t, s, "beta").Version == first.Version
	})

	s.StopService("beta")
	putSettings(t, s, map[string]any{"discount_enabled": true})
	latest := putSettings(t, s, map[string]any{"discount_cents": 1500})
	s.StartService("beta")

	st.Eventually(t, wait, "beta catches up with the latest version", func() bool {
		return getSettings(t, s, "beta") == latest
	})
	// The stream held three changes; beta processed each once: the first
	// before the restart, the two it missed after it. Nothing old came back.
	if n := s.Processed("beta", "beta on settings.changed"); n != 3 {
		t.Fatalf("beta's inbox has %d settings.changed, want 3", n)
	}
}

// Change events arriving out of order never move a copy back in time.
func TestOutOfOrderChangeEventsAreIgnored(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 6})
	putSettings(t, s, map[string]any{"discount_enabled": true})
	latest := putSettings(t, s, map[string]any{"fee_cents": 2700})
	st.Eventually(t, wait, "beta and charlie at the latest version", func() bool {
		return getSettings(t, s, "beta").Version == latest.Version &&
			getSettings(t, s, "charlie").Version == latest.Version
	})
	// Publish the older change again under a new message ID, as a late,
	// out-of-order delivery would arrive.
	older := s.Messages("settings.changed")[0]
	s.Republish("settings.changed", older)
	st.Eventually(t, wait, "beta and charlie process the late event", func() bool {
		return s.Processed("beta", "beta on settings.changed") == 3 &&
			s.Processed("charlie", "charlie on settings.changed") == 3
	})
	if got := getSettings(t, s, "beta"); got != latest {
		t.Fatalf("beta went back in time: %+v, want %+v", got, latest)
	}
	if got := getSettings(t, s, "charlie"); got.Version != latest.Version || got.FeeCents != 2700 {
		t.Fatalf("charlie went back in time: %+v", got)
	}
}
