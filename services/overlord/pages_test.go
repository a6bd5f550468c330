package overlord_test

import (
	"net/url"
	"strings"
	"testing"

	st "eventually/internal/systemtest"
)

// Every page and API of overlord answers with data in the store (an
// order gone all the way, a poisoned message), and shows it: an empty
// store hid a 500 on the orders page, where the dashboard's "orders" and
// "transitions" links land.
func TestEveryPageAndAPIWithData(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 6, AutoApprove: true})
	submit(t, s, "req-pages")
	s.PublishRaw("order.captured", []byte("not json"), st.Metadata("order.captured", "beta", "req-poison"), true)
	var order string
	st.Eventually(t, wait, "the order finalized and the poison kept", func() bool {
		msgs := messages(t, s, "?limit=1000")
		order = ""
		poisoned := false
		for _, m := range msgs {
			if m.EventName == "order.finalized" {
				order = m.OrderGUID
			}
			poisoned = poisoned || m.Poisoned
		}
		return order != "" && poisoned
	})

	base := s.URL("overlord")
	for _, tc := range []struct {
		path string
		show []string // what the answer must contain
	}{
		{"/", []string{"order.finalized", "req-pages", "☠ poison"}},
		{"/?request_id=req-pages&event_name=order.approved", []string{"order.approved", order}},
		{"/transitions", []string{order, "cart-12345678", "order.finalized", "req-pages"}},
		{"/orders/" + order, []string{order, "order.captured", "order.finalized", "req-pages"}},
		{"/orders/cart-12345678", []string{order, "order.captured", "order.finalized"}},
		{"/requests/req-pages", []string{"req-pages", "order.captured", "order.charged"}},
		{"/requests/req-poison", []string{"req-poison", "not json"}},
		{"/api/messages", []string{`"event_name":"order.finalized"`, `"poisoned":true`}},
		{"/api/messages?" + url.Values{"request_id": {"req-pages"}, "event_name": {"order.charged"}, "limit": {"1"}}.Encode(),
			[]string{`"event_name":"order.charged"`, order}},
		{"/api/poison", []string{`"poisoned":true`, `"poison_consumer":"alpha on order.captured"`}},
		{"/api/requests/req-pages", []string{`"request_id":"req-pages"`, `"event_name":"order.finalized"`}},
		{"/api/orders/" + order, []string{`"guid":"` + order + `"`, `"request_ids":["req-pages"]`}},
		{"/api/orders/cart-12345678", []string{`"event_name":"order.finalized"`}},
		{"/api/contracts", []string{"order.captured"}},
		{"/api/stage", []string{`"stage":6`}},
		{"/waiting", []string{`data-service="charlie" data-waiting="0"`, "order.approved 0"}},
		{"/api/waiting", []string{`"service":"charlie","waiting":0,"by_topic":{"order.approved":0,"settings.changed":0}`}},
		{"/eventually.html", []string{"<html"}},
	} {
		r := st.Must(t, st.Call(t, "GET", base+tc.path, nil), 200)
		for _, want := range tc.show {
			if !strings.Contains(string(r.Body), want) {
				t.Errorf("GET %s does not show %q", tc.path, want)
			}
		}
	}
}
