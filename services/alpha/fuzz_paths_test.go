package alpha_test

import (
	"bytes"
	"encoding/json"
	"net/url"
	"testing"

	st "eventually/internal/systemtest"
)

// FuzzOrderPaths asks a running alpha (with no order) about arbitrary
// order guids, through its HTTP router: never a 5xx, every refusal a JSON
// error with the request ID, and no order or setting appears.
func FuzzOrderPaths(f *testing.F) {
	for _, guid := range []string{"order-1", "", "..", "../settings", "%2F", "a/b", "ü", "\x00", "order-1/approve", "' OR 1=1 --"} {
		f.Add(guid, false)
		f.Add(guid, true)
	}
	s := st.Start(f, st.Options{Stage: 6, Services: []string{"alpha"}})
	base := s.URL("alpha")
	before := st.Must(f, st.Call(f, "GET", base+"/api/settings", nil), 200).Body
	f.Fuzz(func(t *testing.T, guid string, approve bool) {
		path := "/api/orders/" + url.PathEscape(guid)
		method := "GET"
		if approve {
			method, path = "POST", path+"/approve"
		}
		if st.Answered(t, method+" "+path, st.Call(t, method, base+path, nil)) {
			t.Fatalf("%s %s succeeded, and alpha has no order", method, path)
		}
		if orders := st.Must(t, st.Call(t, "GET", base+"/api/orders", nil), 200).Body; string(bytes.TrimSpace(orders)) != "[]" {
			t.Fatalf("after %s %s alpha has orders: %s", method, path, orders)
		}
		if after := st.Must(t, st.Call(t, "GET", base+"/api/settings", nil), 200).Body; !bytes.Equal(after, before) {
			t.Fatalf("%s %s changed the settings: %s", method, path, after)
		}
	})
}

// FuzzAutoApproveBody sends arbitrary bodies to PUT /api/auto-approve of a
// running alpha: it is switched only by {"enabled": true|false}; anything
// else is a clear refusal that leaves the switch as it was.
func FuzzAutoApproveBody(f *testing.F) {
	for _, body := range []string{`{"enabled":true}`, `{"enabled":false}`, `{"enabled":"yes"}`, `{"enabled":1}`,
		`{}`, `null`, `[]`, `{`, ``, `{"enabled":true,"x":1}`, `{"enabled":true}{}`, `{"Enabled":false}`} {
		f.Add([]byte(body))
	}
	s := st.Start(f, st.Options{Stage: 6, Services: []string{"alpha"}})
	switchURL := s.URL("alpha") + "/api/auto-approve"
	f.Fuzz(func(t *testing.T, body []byte) {
		var before, after struct{ Enabled bool }
		st.Must(t, st.Call(t, "GET", switchURL, nil), 200).JSON(t, &before)
		switched := st.Answered(t, "PUT "+switchURL, st.Call(t, "PUT", switchURL, body))
		st.Must(t, st.Call(t, "GET", switchURL, nil), 200).JSON(t, &after)
		var sent struct{ Enabled *bool }
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		switch {
		case switched && (dec.Decode(&sent) != nil || sent.Enabled == nil || *sent.Enabled != after.Enabled):
			t.Fatalf("%q accepted; the switch is now %v", body, after.Enabled)
		case !switched && after != before:
			t.Fatalf("%q refused, yet the switch went from %v to %v", body, before.Enabled, after.Enabled)
		}
	})
}

// FuzzReviewBody: PUT /api/review takes a valid switch or refuses clearly,
// changing nothing.
func FuzzReviewBody(f *testing.F) {
	s := st.Start(f, st.Options{Stage: 6, Services: []string{"alpha"}})
	st.FuzzSwitchBody(f, s.URL("alpha")+"/api/review", `{"enabled":true}`, `{"enabled":false,"pass_after_seconds":5}`,
		`{"enabled":"yes"}`, `{"pass_after_seconds":-1}`, `{}`, `null`, `{`, ``, `{"enabled":true,"x":1}`)
}

// FuzzReviewPath: finishing the review of an arbitrary order guid, with no
// order in review, is a clear refusal and creates nothing.
func FuzzReviewPath(f *testing.F) {
	for _, guid := range []string{"order-1", "", "..", "%2F", "a/b", "ü", "\x00", "' OR 1=1 --"} {
		f.Add(guid)
	}
	s := st.Start(f, st.Options{Stage: 6, Services: []string{"alpha"}})
	base := s.URL("alpha")
	f.Fuzz(func(t *testing.T, guid string) {
		path := "/api/orders/" + url.PathEscape(guid) + "/review"
		if st.Answered(t, "POST "+path, st.Call(t, "POST", base+path, nil)) {
			t.Fatalf("POST %s succeeded, and alpha has no order", path)
		}
		if orders := st.Must(t, st.Call(t, "GET", base+"/api/orders", nil), 200).Body; string(bytes.TrimSpace(orders)) != "[]" {
			t.Fatalf("after POST %s alpha has orders: %s", path, orders)
		}
	})
}
