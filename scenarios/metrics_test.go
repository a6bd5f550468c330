package scenarios

import (
	"testing"

	st "eventually/internal/systemtest"
)

// Every service's /metrics parses as Prometheus text and has the
// families a dashboard is built on: HTTP, Watermill's handler metrics,
// the outbox, and the broker's view of each durable consumer.
func TestEveryServiceServesMetrics(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 6, AutoApprove: true})
	submitAndFinalize(t, s, "metrics-1")
	for _, service := range st.AllServices {
		families := s.Metrics(service)
		for _, name := range []string{
			"eventually_outbox_backlog_messages", "eventually_outbox_oldest_unpublished_age_seconds",
			"eventually_consumer_pending_messages", "eventually_consumer_ack_pending_messages",
			"eventually_consumer_redelivered_messages", "eventually_http_requests_total",
			"eventually_watermill_handler_execution_time_seconds", "go_goroutines",
		} {
			if _, ok := families[name]; !ok {
				t.Errorf("%s /metrics has no %s", service, name)
			}
		}
	}
	// The order went through alpha's handlers and beta's submit route.
	if n, _ := st.MetricValue(s.Metrics("alpha"), "eventually_watermill_handler_execution_time_seconds",
		"handler_name", "alpha on order.captured", "success", "true"); n < 1 {
		t.Errorf("alpha's handler of order.captured ran %v times, want at least 1", n)
	}
	if n, _ := st.MetricValue(s.Metrics("beta"), "eventually_http_requests_total",
		"url", "/api/carts/:guid/submit", "code", "202"); n != 1 {
		t.Errorf("beta counted %v submits answered 202, want 1", n)
	}
}

// The outbox backlog rises while the broker is away and falls to nothing
// after it returns, with the age of the oldest waiting message.
func TestMetricsShowTheOutboxBacklog(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 6, Services: []string{"alpha"}})
	backlog := func() float64 {
		v, found := st.MetricValue(s.Metrics("alpha"), "eventually_outbox_backlog_messages")
		if !found {
			t.Fatal("alpha /metrics has no outbox backlog")
		}
		return v
	}
	if n := backlog(); n != 0 {
		t.Fatalf("backlog %v before anything happened, want 0", n)
	}
	s.StopBroker()
	putSettings(t, s, map[string]any{"fee_cents": 2600})
	putSettings(t, s, map[string]any{"fee_cents": 2700})
	if n := backlog(); n != 2 {
		t.Fatalf("backlog %v with the broker away after two changes, want 2", n)
	}
	st.Eventually(t, wait, "the oldest waiting message ages", func() bool {
		age, _ := st.MetricValue(s.Metrics("alpha"), "eventually_outbox_oldest_unpublished_age_seconds")
		return age > 0
	})
	s.StartBroker()
	st.Eventually(t, wait, "the backlog falls to 0 once the broker is back", func() bool { return backlog() == 0 })
	if n, _ := st.MetricValue(s.Metrics("alpha"), "eventually_outbox_relayed_total", "result", "published"); n != 2 {
		t.Errorf("relayed %v as published, want 2", n)
	}
}

// A malformed message is counted by reason in the consumer's poison
// counter; a message delivered again is counted as a duplicate dropped.
func TestMetricsCountPoisonAndDuplicates(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 6, Services: []string{"alpha", "beta"}})
	poisoned := func() float64 {
		v, _ := st.MetricValue(s.Metrics("beta"), "eventually_poisoned_messages_total",
			"consumer", "beta on settings.changed", "reason", "invalid")
		return v
	}
	if n := poisoned(); n != 0 {
		t.Fatalf("poison counter %v before any bad message, want 0", n)
	}
	s.PublishRaw("settings.changed", []byte(`{"guid": "guid-1`), st.Metadata("settings.changed", "alpha", "metrics-poison"), true)
	st.Eventually(t, wait, "beta counts the malformed message as poisoned", func() bool { return poisoned() == 1 })

	latest := putSettings(t, s, map[string]any{"fee_cents": 2600})
	st.Eventually(t, wait, "beta applies the change", func() bool { return getSettings(t, s, "beta") == latest })
	msg := s.LastMessage("settings.changed")
	s.PublishRaw("settings.changed", msg.Payload, msg.Metadata, false) // same UUID: a redelivery
	st.Eventually(t, wait, "beta counts the duplicate dropped", func() bool {
		v, _ := st.MetricValue(s.Metrics("beta"), "eventually_inbox_duplicates_dropped_total", "consumer", "beta on settings.changed")
		return v == 1
	})
}
