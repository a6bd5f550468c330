package scenarios

import (
	"strings"
	"testing"

	st "eventually/internal/systemtest"
)

// Messages that can never be processed go to the poison topic with the
// reason, are logged with their request ID, and do not block the valid
// message behind them.
func TestPoisonMessagesDoNotBlock(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 6, Services: []string{"beta", "charlie"}})
	valid := map[string]any{"guid": "guid-12345678", "version": 2000, "fee_enabled": false, "fee_cents": 0,
		"discount_enabled": true, "discount_cents": 700}
	unknownVersion := st.Metadata("settings.changed", "alpha", "poison-version")
	unknownVersion["event_version"] = "9"
	bad := []struct {
		name     string
		payload  any
		metadata map[string]string
		reason   string
	}{
		{"malformed JSON", []byte(`{"guid": "guid-1`), st.Metadata("settings.changed", "alpha", "poison-json"), "not valid JSON"},
		{"fails validation", map[string]any{"guid": "", "version": 0, "fee_cents": -1}, st.Metadata("settings.changed", "alpha", "poison-invalid"), "guid is empty"},
		{"unknown version", valid, unknownVersion, "version 9 is not supported"},
		{"no metadata", valid, map[string]string{}, "no event_name metadata"},
	}
	for _, b := range bad {
		s.PublishRaw("settings.changed", b.payload, b.metadata, b.name != "no metadata")
	}
	s.PublishRaw("settings.changed", valid, st.Metadata("settings.changed", "alpha", "poison-valid"), true)

	st.Eventually(t, wait, "the valid change behind the bad ones is applied", func() bool {
		return getSettings(t, s, "beta").Version == 2000 && getSettings(t, s, "charlie").Version == 2000
	})
	st.Eventually(t, wait, "every bad message poisoned by beta and charlie", func() bool {
		return s.StreamCount("poison") == uint64(2*len(bad))
	})
	poisoned := s.Messages("poison")
	for _, b := range bad {
		for _, consumer := range []string{"beta on settings.changed", "charlie on settings.changed"} {
			found := false
			for _, p := range poisoned {
				if p.Metadata["handler_poisoned"] == consumer && strings.Contains(p.Metadata["reason_poisoned"], b.reason) {
					found = p.Metadata["poison_original_uuid"] != "" && p.UUID != p.Metadata["poison_original_uuid"]
				}
			}
			if !found {
				t.Errorf("%s: no poison message from %q with reason %q (and original UUID)", b.name, consumer, b.reason)
			}
		}
	}
	for _, id := range []string{"poison-json", "poison-invalid", "poison-version"} {
		lines := logLines(t, s, "beta", `"request_id":"`+id+`"`)
		logged := false
		for _, l := range lines {
			logged = logged || l["msg"] == "message sent to poison topic"
		}
		if !logged {
			t.Errorf("beta did not log the poison message of request %s", id)
		}
	}
}
