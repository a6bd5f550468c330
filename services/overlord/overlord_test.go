package overlord_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	st "eventually/internal/systemtest"
	"eventually/pkg/messaging"
	"eventually/services/overlord"
	"eventually/web"
)

var lifecycle = []string{"order.captured", "order.approved", "order.charged", "order.finalized"}

// Overlord started after the others have exchanged messages gets all of
// them from its durable consumers; a rebuild from the stream gives the
// same store, and the consumers go on without storing anything twice.
func TestCatchesUpThenRebuildsTheSameStore(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 6, AutoApprove: true, Services: []string{"alpha", "beta", "charlie"}})
	st.Must(t, st.Call(t, "PUT", s.URL("alpha")+"/api/settings", map[string]any{"discount_enabled": true}), 200)
	submit(t, s, "demo-42")
	st.Eventually(t, wait, "the order finalized", func() bool { return s.StreamCount("order.finalized") == 1 })
	total := streamTotal(s)
	if total != 5 {
		t.Fatalf("%d messages in the stream, want settings.changed and the four of the order", total)
	}

	s.StartService("overlord")
	st.Eventually(t, wait, "overlord has every message", func() bool {
		return len(messages(t, s, "?limit=1000")) == total
	})
	req := waitTimeline(t, s, "/api/requests/demo-42", 4)
	if got := events(req.Messages); !slices.Equal(got, lifecycle) {
		t.Fatalf("request demo-42 in order %v, want %v", got, lifecycle)
	}
	producers := []string{"beta", "alpha", "charlie", "alpha"}
	for i, m := range req.Messages {
		if m.Producer != producers[i] || m.CorrelationID != "demo-42" {
			t.Errorf("message %d %s: producer %q request %q, want %q demo-42", i, m.EventName, m.Producer, m.CorrelationID, producers[i])
		}
		if i > 0 && (m.CausationID != req.Messages[i-1].UUID || m.CausedBy != req.Messages[i-1].EventName) {
			t.Errorf("%s caused by %s (%s), want the %s before it", m.EventName, m.CausationID, m.CausedBy, req.Messages[i-1].EventName)
		}
	}

	// Overlord runs, so the store is rebuilt in place under it.
	rebuilt, err := overlord.Rebuild(context.Background(), s.DataDir, s.BrokerURL())
	if err != nil {
		t.Fatal(err)
	}
	if rebuilt.Messages != total || !rebuilt.InPlace {
		t.Fatalf("rebuild replayed %d messages, in place %v; want %d, in place", rebuilt.Messages, rebuilt.InPlace, total)
	}
	if n := len(messages(t, s, "?limit=1000")); n != total {
		t.Fatalf("%d messages after the rebuild, want %d", n, total)
	}
	waitTimeline(t, s, "/api/requests/demo-42", 4)

	// The consumers carry on from where they were.
	st.Must(t, st.Call(t, "PUT", s.URL("alpha")+"/api/settings", map[string]any{"discount_enabled": false}), 200)
	st.Eventually(t, wait, "the new message stored once", func() bool {
		return len(messages(t, s, "?limit=1000")) == total+1
	})
	if n := len(messages(t, s, "?event_name=settings.changed")); n != 2 {
		t.Fatalf("%d settings.changed, want 2", n)
	}
}

// With overlord stopped, a rebuild writes a new database file and puts it
// in place of the old one (and of its WAL); overlord started on it serves
// the rebuilt store and goes on storing each new message once.
func TestRebuildWhileStoppedReplacesTheFile(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 6, AutoApprove: true})
	submit(t, s, "demo-7")
	st.Eventually(t, wait, "overlord has the order", func() bool {
		return s.StreamCount("order.finalized") == 1 && len(messages(t, s, "?limit=1000")) == 4
	})
	s.StopService("overlord")
	// As a crashed overlord would leave it: the rebuild must not let
	// SQLite apply an old WAL to the new file.
	if err := os.WriteFile(filepath.Join(s.DataDir, "overlord.db-wal"), []byte("stale"), 0o644); err != nil {
		t.Fatal(err)
	}

	rebuilt, err := overlord.Rebuild(context.Background(), s.DataDir, s.BrokerURL())
	if err != nil {
		t.Fatal(err)
	}
	if rebuilt.Messages != 4 || rebuilt.InPlace {
		t.Fatalf("rebuild replayed %d messages, in place %v; want 4 into a new file", rebuilt.Messages, rebuilt.InPlace)
	}
	for _, leftover := range []string{"overlord.db.rebuild", "overlord.db-wal"} {
		if _, err := os.Stat(filepath.Join(s.DataDir, leftover)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left after the rebuild (%v)", leftover, err)
		}
	}

	s.StartService("overlord")
	if n := len(messages(t, s, "?limit=1000")); n != 4 {
		t.Fatalf("%d messages after the rebuild, want 4", n)
	}
	if got := events(waitTimeline(t, s, "/api/requests/demo-7", 4).Messages); !slices.Equal(got, lifecycle) {
		t.Fatalf("request demo-7 after the rebuild: %v, want %v", got, lifecycle)
	}
	st.Must(t, st.Call(t, "PUT", s.URL("alpha")+"/api/settings", map[string]any{"fee_enabled": false}), 200)
	st.Eventually(t, wait, "the new message stored once", func() bool {
		return s.Settled("overlord") && len(messages(t, s, "?limit=1000")) == 5
	})
}

// A message delivered twice (published again under the same UUID, as a
// relay resending after the broker's dedup window would) is stored once:
// the store's unique UUID is overlord's inbox. A rebuild, in place or
// into a new file, stores it once too, though the stream holds it twice.
func TestRedeliveredMessageIsStoredOnce(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 6, Services: []string{"alpha", "overlord"}})
	st.Must(t, st.Call(t, "PUT", s.URL("alpha")+"/api/settings", map[string]any{"discount_enabled": true}), 200)
	st.Eventually(t, wait, "overlord has the change", func() bool { return len(messages(t, s, "")) == 1 })
	first := messages(t, s, "")[0]

	msg := s.LastMessage("settings.changed")
	s.PublishRaw("settings.changed", msg.Payload, msg.Metadata, false)
	st.Eventually(t, wait, "overlord acknowledged both deliveries", func() bool {
		return s.StreamCount("settings.changed") == 2 && s.Settled("overlord")
	})
	got := messages(t, s, "")
	if len(got) != 1 || got[0] != first {
		t.Fatalf("after a second delivery: %+v, want only %+v", got, first)
	}

	for _, inPlace := range []bool{true, false} {
		if !inPlace {
			s.StopService("overlord")
		}
		rebuilt, err := overlord.Rebuild(context.Background(), s.DataDir, s.BrokerURL())
		if err != nil {
			t.Fatal(err)
		}
		if rebuilt.Messages != 2 || rebuilt.InPlace != inPlace {
			t.Fatalf("rebuild read %d messages, in place %v; want 2, in place %v", rebuilt.Messages, rebuilt.InPlace, inPlace)
		}
		if !inPlace {
			s.StartService("overlord")
		}
		if got := messages(t, s, ""); len(got) != 1 || got[0].UUID != first.UUID {
			t.Fatalf("after a rebuild (in place %v): %+v, want only %+v", inPlace, got, first)
		}
	}
}

// A manual approval is a request of its own; the order view ties the two
// requests together by the order's guid.
func TestOrderAcrossTwoRequests(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 6})
	submit(t, s, "req-submit")
	var orders []struct {
		GUID   string `json:"guid"`
		Status string `json:"status"`
	}
	st.Eventually(t, wait, "a pending order", func() bool {
		st.Must(t, st.Call(t, "GET", s.URL("alpha")+"/api/orders", nil), 200).JSON(t, &orders)
		return len(orders) == 1 && orders[0].Status == "pending"
	})
	guid := orders[0].GUID
	st.Must(t, st.Call(t, "POST", s.URL("alpha")+"/api/orders/"+guid+"/approve", nil, "X-Request-ID", "req-approve"), 200)

	order := waitTimeline(t, s, "/api/orders/"+guid, 4)
	if got := events(order.Messages); !slices.Equal(got, lifecycle) {
		t.Fatalf("order %s in order %v, want %v", guid, got, lifecycle)
	}
	if !slices.Equal(order.RequestIDs, []string{"req-submit", "req-approve"}) {
		t.Fatalf("order spans requests %v, want req-submit then req-approve", order.RequestIDs)
	}
	if m := order.Messages[1]; m.CorrelationID != "req-approve" || m.CausationID != "" {
		t.Fatalf("the approval %+v: want its own request, started at the edge", m)
	}
	approval := waitTimeline(t, s, "/api/requests/req-approve", 3)
	if got := events(approval.Messages); !slices.Equal(got, lifecycle[1:]) {
		t.Fatalf("request req-approve: %v, want %v", got, lifecycle[1:])
	}
	byCart := waitTimeline(t, s, "/api/orders/cart-12345678", 4)
	if got := events(byCart.Messages); !slices.Equal(got, lifecycle) {
		t.Fatalf("by cart guid: %v, want %v", got, lifecycle)
	}
}

// A message no consumer can process reaches overlord twice: as it was
// sent, and marked poisoned with the reason.
func TestPoisonMessagesAreKeptAndMarked(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 6, Services: []string{"alpha", "overlord"}})
	nc, err := nats.Connect(s.BrokerURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish("order.captured", []byte("not json")); err != nil {
		t.Fatal(err)
	}
	var poison []step
	st.Eventually(t, wait, "the poisoned message", func() bool {
		st.Must(t, st.Call(t, "GET", s.URL("overlord")+"/api/poison", nil), 200).JSON(t, &poison)
		return len(poison) == 1
	})
	if p := poison[0]; !p.Poisoned || p.PoisonConsumer != "alpha on order.captured" || p.PoisonReason == "" {
		t.Fatalf("poison message %+v: want marked, with alpha's consumer and a reason", p)
	}
	st.Eventually(t, wait, "the original and the poisoned copy", func() bool {
		return len(messages(t, s, "")) == 2
	})
	if n := s.StreamCount(messaging.PoisonTopic); n != 1 {
		t.Fatalf("%d poison messages in the stream, want 1", n)
	}
	page := st.Must(t, st.Call(t, "GET", s.URL("overlord")+"/", nil), 200)
	if !contains(page.Body, "☠ poison") {
		t.Fatalf("the messages page does not mark the poisoned message")
	}
}

// Bad input gets a JSON error with the request ID; pages render.
func TestErrorsAndPages(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 6, Services: []string{"overlord"}})
	base := s.URL("overlord")
	for _, tc := range []struct {
		path   string
		status int
		text   string
	}{
		{"/api/messages?limit=0", 400, "limit"},
		{"/api/messages?limit=1001", 400, "limit"},
		{"/api/messages?limit=ten", 400, "limit"},
		{"/api/poison?limit=-1", 400, "limit"},
		{"/api/requests/nobody", 404, "nobody"},
		{"/api/orders/order-nope", 404, "order-nope"},
	} {
		r := st.Call(t, "GET", base+tc.path, nil, "X-Request-ID", "bad-1")
		var body struct {
			Error     string `json:"error"`
			RequestID string `json:"request_id"`
		}
		r.JSON(t, &body)
		if r.Status != tc.status || !contains([]byte(body.Error), tc.text) || body.RequestID != "bad-1" {
			t.Errorf("GET %s: %d %+v, want %d mentioning %q with the request ID", tc.path, r.Status, body, tc.status, tc.text)
		}
	}
	for _, path := range []string{"/", "/?request_id=x&event_name=order.captured", "/transitions", "/requests/nobody", "/orders/order-nope"} {
		st.Must(t, st.Call(t, "GET", base+path, nil), 200)
	}
	dashboard := st.Must(t, st.Call(t, "GET", base+"/eventually.html", nil), 200)
	if !bytes.Equal(dashboard.Body, web.Dashboard) || !strings.HasPrefix(dashboard.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("/eventually.html is not the dashboard (%s)", dashboard.Header.Get("Content-Type"))
	}
}
