package overlord

import (
	"slices"
	"testing"
	"time"
)

// A message never comes before the one that caused it, even when its
// producer's clock is behind; unrelated messages keep time order.
func TestTimelinePutsCausesFirst(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	msgs := []Message{
		{UUID: "captured", EventName: "order.captured", OccurredAt: t0},
		{UUID: "charged", EventName: "order.charged", CausationID: "approved", OccurredAt: t0.Add(-time.Millisecond)}, // clock behind
		{UUID: "approved", EventName: "order.approved", CausationID: "captured", OccurredAt: t0.Add(2 * time.Millisecond)},
		{UUID: "other", EventName: "settings.changed", CausationID: "elsewhere", OccurredAt: t0.Add(time.Millisecond)},
	}
	steps := timeline(msgs)
	var got []string
	for _, s := range steps {
		got = append(got, s.UUID)
	}
	if want := []string{"captured", "other", "approved", "charged"}; !slices.Equal(got, want) {
		t.Fatalf("timeline %v, want %v", got, want)
	}
	if steps[3].CausedBy != "order.approved" || steps[1].CausedBy != "" {
		t.Fatalf("caused by: %q %q", steps[3].CausedBy, steps[1].CausedBy)
	}
	if steps[2].DelayMS != 1 {
		t.Fatalf("delay of approved after other: %v ms, want 1", steps[2].DelayMS)
	}
}
