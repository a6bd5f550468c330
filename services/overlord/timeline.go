package overlord

import (
	"slices"
	"time"
)

// Step is a message in a timeline: what caused it and how long after the
// step before it happened.
type Step struct {
	Message
	// CausedBy is the event name of the message that caused this one,
	// when that message is in the same timeline.
	CausedBy string `json:"caused_by,omitempty"`
	// DelayMS is the time since the previous step occurred, in ms.
	DelayMS float64 `json:"delay_ms"`
}

// timeline puts messages in causal order: by the time they occurred, but
// a message waits for the message that caused it (clocks of services may
// disagree; causation does not).
func timeline(msgs []Message) []Step {
	// Stable: messages that occurred at the same time stay in the order
	// they arrived in.
	slices.SortStableFunc(msgs, func(a, b Message) int { return a.OccurredAt.Compare(b.OccurredAt) })
	byUUID := make(map[string]int, len(msgs))
	for i, m := range msgs {
		byUUID[m.UUID] = i
	}
	placed := make(map[string]bool, len(msgs))
	waiting := map[string][]int{} // cause UUID -> messages it caused
	steps := make([]Step, 0, len(msgs))
	var place func(i int)
	place = func(i int) {
		m := msgs[i]
		if placed[m.UUID] {
			return
		}
		placed[m.UUID] = true
		step := Step{Message: m}
		if c, ok := byUUID[m.CausationID]; ok {
			step.CausedBy = msgs[c].EventName
		}
		steps = append(steps, step)
		for _, w := range waiting[m.UUID] {
			place(w)
		}
	}
	for i, m := range msgs {
		if _, ok := byUUID[m.CausationID]; ok && !placed[m.CausationID] && m.CausationID != m.UUID {
			waiting[m.CausationID] = append(waiting[m.CausationID], i)
			continue
		}
		place(i)
	}
	// Only a causation cycle, never seen in a healthy stream, leaves
	// messages waiting; they go last, in time order.
	for i := range msgs {
		place(i)
	}
	for i := 1; i < len(steps); i++ {
		steps[i].DelayMS = float64(steps[i].OccurredAt.Sub(steps[i-1].OccurredAt).Microseconds()) / 1000
	}
	return steps
}

// requestIDs lists the distinct request IDs of steps, in order.
func requestIDs(steps []Step) []string {
	return distinct(steps, func(s Step) string { return s.CorrelationID })
}

// traceIDs are the trace IDs of the steps, in the order they first appear;
// a message without one (sent with tracing off, or by a foreign client)
// adds none.
func traceIDs(steps []Step) []string {
	return slices.DeleteFunc(distinct(steps, func(s Step) string { return s.TraceID }), func(id string) bool { return id == "" })
}

// distinct are the values of key over the steps, each once, in order.
func distinct(steps []Step, key func(Step) string) []string {
	ids := []string{}
	for _, s := range steps {
		if !slices.Contains(ids, key(s)) {
			ids = append(ids, key(s))
		}
	}
	return ids
}

// span is how long a timeline took from first to last step.
func span(steps []Step) time.Duration {
	if len(steps) < 2 {
		return 0
	}
	return steps[len(steps)-1].OccurredAt.Sub(steps[0].OccurredAt)
}
