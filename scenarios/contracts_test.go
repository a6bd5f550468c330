package scenarios

import (
	"testing"

	st "eventually/internal/systemtest"
)

// Consumer-first: alpha accepts order.captured version 1 (no channel) and
// version 2 (with channel) and prices both from their snapshots.
func TestAlphaAcceptsOrderCapturedV1AndV2(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 6, Services: []string{"alpha"}})
	snapshot := map[string]any{"guid": "guid-12345678", "version": 1000, "fee_enabled": true, "fee_cents": 2500,
		"discount_enabled": true, "discount_cents": 1000}
	v1 := st.Metadata("order.captured", "beta", "v1-order")
	s.PublishRaw("order.captured", map[string]any{"cart_guid": "cart-v1", "product": "widget", "price_cents": 4000,
		"settings": snapshot}, v1, true)
	v2 := st.Metadata("order.captured", "beta", "v2-order")
	v2["event_version"] = "2"
	s.PublishRaw("order.captured", map[string]any{"cart_guid": "cart-v2", "product": "widget", "price_cents": 4000,
		"settings": snapshot, "channel": "phone"}, v2, true)

	for _, cartGUID := range []string{"cart-v1", "cart-v2"} {
		o := waitOrder(t, s, cartGUID, "pending")
		if o.TotalCents != 4000+2500-1000 || o.PricedFrom != "snapshot" {
			t.Errorf("%s priced %+v, want 5500 from the snapshot", cartGUID, o)
		}
	}
	var withChannel struct {
		Channel string `json:"channel"`
	}
	st.Must(t, st.Call(t, "GET", s.URL("alpha")+"/api/orders/"+waitOrder(t, s, "cart-v2", "pending").GUID, nil), 200).JSON(t, &withChannel)
	if withChannel.Channel != "phone" {
		t.Errorf("v2 channel %q, want phone", withChannel.Channel)
	}
	if n := s.StreamCount("poison"); n != 0 {
		t.Errorf("%d messages poisoned, want none", n)
	}
}

// Each service publishes the events it produces and consumes, with schemas.
func TestServicesPublishTheirContracts(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 6})
	want := map[string][2][]string{
		"alpha":   {{"settings.changed", "order.approved", "order.finalized"}, {"order.captured", "order.charged"}},
		"beta":    {{"order.captured"}, {"settings.changed", "order.charged", "order.finalized"}},
		"charlie": {{"order.charged"}, {"settings.changed", "order.approved"}},
	}
	for service, w := range want {
		var got struct {
			Produces []struct {
				Name    string         `json:"name"`
				Version int            `json:"version"`
				Schema  map[string]any `json:"schema"`
			} `json:"produces"`
			Consumes []struct {
				Name string `json:"name"`
			} `json:"consumes"`
		}
		st.Must(t, st.Call(t, "GET", s.URL(service)+"/api/contracts", nil), 200).JSON(t, &got)
		if len(got.Produces) != len(w[0]) || len(got.Consumes) != len(w[1]) {
			t.Errorf("%s contracts %+v, want produces %v consumes %v", service, got, w[0], w[1])
			continue
		}
		for i, p := range got.Produces {
			if p.Name != w[0][i] || p.Version < 1 || p.Schema["properties"] == nil {
				t.Errorf("%s produces %+v, want %s with a version and a schema", service, p, w[0][i])
			}
		}
	}
}
