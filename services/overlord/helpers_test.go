package overlord_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	st "eventually/internal/systemtest"
	"eventually/pkg/stream"
)

const wait = 15 * time.Second

// step is a message as overlord's API answers it.
type step struct {
	UUID           string  `json:"uuid"`
	EventName      string  `json:"event_name"`
	Producer       string  `json:"producer"`
	CorrelationID  string  `json:"correlation_id"`
	CausationID    string  `json:"causation_id"`
	CausedBy       string  `json:"caused_by"`
	DelayMS        float64 `json:"delay_ms"`
	OrderGUID      string  `json:"order_guid"`
	CartGUID       string  `json:"cart_guid"`
	Poisoned       bool    `json:"poisoned"`
	PoisonReason   string  `json:"poison_reason"`
	PoisonConsumer string  `json:"poison_consumer"`
}

type timeline struct {
	RequestIDs []string `json:"request_ids"`
	Messages   []step   `json:"messages"`
}

func messages(t *testing.T, s *st.System, query string) []step {
	t.Helper()
	var v []step
	st.Must(t, st.Call(t, "GET", s.URL("overlord")+"/api/messages"+query, nil), 200).JSON(t, &v)
	return v
}

// streamTotal is how many messages the broker holds on every topic.
func streamTotal(s *st.System) int {
	n := uint64(0)
	for _, topic := range stream.Topics() {
		n += s.StreamCount(topic)
	}
	return int(n)
}

// waitTimeline waits until overlord's view at path has want messages.
func waitTimeline(t *testing.T, s *st.System, path string, want int) timeline {
	t.Helper()
	var v timeline
	st.Eventually(t, wait, fmt.Sprintf("%d messages at %s", want, path), func() bool {
		r := st.Call(t, "GET", s.URL("overlord")+path, nil)
		if r.Status != 200 {
			return false
		}
		v = timeline{}
		r.JSON(t, &v)
		return len(v.Messages) == want
	})
	return v
}

func events(steps []step) []string {
	names := make([]string, len(steps))
	for i, s := range steps {
		names[i] = s.EventName
	}
	return names
}

func submit(t testing.TB, s *st.System, requestID string) {
	t.Helper()
	st.Must(t, st.Call(t, "POST", s.URL("beta")+"/api/carts/cart-12345678/submit",
		map[string]any{"product": "widget", "price_cents": 1000}, "X-Request-ID", requestID), 202)
}

func contains(b []byte, s string) bool { return bytes.Contains(b, []byte(s)) }
