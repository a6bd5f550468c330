package scenarios

import (
	"testing"

	st "eventually/internal/systemtest"
)

// With the broker stopped, settings changes and submitted carts are
// accepted and stored; when it is back every event is delivered, in order
// per producer, and nothing is lost.
func TestBrokerDownNothingLost(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 6, AutoApprove: true})
	s.StopBroker()

	putSettings(t, s, map[string]any{"discount_enabled": true})
	putSettings(t, s, map[string]any{"fee_cents": 3000})
	latest := putSettings(t, s, map[string]any{"discount_cents": 1200})
	loadCart(t, s, seedCart)
	submit(t, s, seedCart)
	if c := getCart(t, s, seedCart); c.Status != "locked" {
		t.Fatalf("submitted cart not stored as locked: %+v", c)
	}

	s.StartBroker()
	st.Eventually(t, wait, "beta and charlie get the latest settings", func() bool {
		return getSettings(t, s, "beta") == latest && getSettings(t, s, "charlie").Version == latest.Version
	})
	st.Eventually(t, wait, "the order goes all the way", func() bool {
		return getCart(t, s, seedCart).Status == "open"
	})
	var versions []int64
	for _, m := range s.Messages("settings.changed") {
		versions = append(versions, int64(m.Payload["version"].(float64)))
	}
	if len(versions) != 3 || versions[0] != 1001 || versions[1] != 1002 || versions[2] != 1003 {
		t.Fatalf("settings.changed in the stream: versions %v, want 1001, 1002, 1003 in order", versions)
	}
}

// Every message of a full order flow delivered again, in reverse order:
// each service's state equals the state after a single delivery.
func TestRedeliveredFlowChangesNothing(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 6, AutoApprove: true})
	putSettings(t, s, map[string]any{"discount_enabled": true})
	loadCart(t, s, seedCart)
	submit(t, s, seedCart)
	st.Eventually(t, wait, "order finalized", func() bool { return getCart(t, s, seedCart).Status == "open" })
	st.Eventually(t, wait, "all settled", func() bool {
		return s.Settled("alpha") && s.Settled("beta") && s.Settled("charlie")
	})
	before := state(t, s)

	topics := []string{"settings.changed", "order.captured", "order.approved", "order.charged", "order.finalized"}
	var all []st.Message
	for _, topic := range topics {
		all = append(all, s.Messages(topic)...)
	}
	for i := len(all) - 1; i >= 0; i-- { // out of order: newest first
		s.PublishRaw(all[i].Metadata["event_name"], all[i].Payload, withUUID(all[i]), false)
	}
	for _, topic := range topics {
		if n := s.StreamCount(topic); n != 2 {
			t.Fatalf("%s: %d messages in the stream, want each delivered twice", topic, n)
		}
	}
	st.Eventually(t, wait, "all settled again", func() bool {
		return s.Settled("alpha") && s.Settled("beta") && s.Settled("charlie")
	})
	if after := state(t, s); after != before {
		t.Fatalf("redelivery changed state:\nbefore %s\nafter  %s", before, after)
	}
	if l := getLedger(t, s); l.OrdersCharged != 1 {
		t.Fatalf("ledger counts %d charges, want 1", l.OrdersCharged)
	}
}

// withUUID is a message's metadata with its original message UUID, so a
// consumer sees the same message again.
func withUUID(m st.Message) map[string]string {
	md := map[string]string{}
	for k, v := range m.Metadata {
		md[k] = v
	}
	md["_watermill_message_uuid"] = m.UUID
	return md
}
