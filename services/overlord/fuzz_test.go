package overlord_test

import (
	"net/url"
	"testing"

	st "eventually/internal/systemtest"
)

// FuzzPaths asks a running overlord, with one order in its store, about
// arbitrary request IDs and order guids on every page and API that takes
// one, and filters its message lists by arbitrary values: never a 5xx,
// every refusal a JSON error with the request ID.
func FuzzPaths(f *testing.F) {
	for _, id := range []string{"req-fuzz", "", "..", "%2F", "a/b", "ü", "\x00", "' OR 1=1 --", "cart-12345678", "1000"} {
		f.Add(id, uint8(0))
		f.Add(id, uint8(4))
	}
	s := st.Start(f, st.Options{Stage: 6, AutoApprove: true})
	submit(f, s, "req-fuzz")
	st.Eventually(f, wait, "the order finalized", func() bool { return s.StreamCount("order.finalized") == 1 })
	base := s.URL("overlord")
	f.Fuzz(func(t *testing.T, value string, where uint8) {
		var path string
		switch escaped := url.PathEscape(value); where % 7 {
		case 0:
			path = "/api/requests/" + escaped
		case 1:
			path = "/api/orders/" + escaped
		case 2:
			path = "/requests/" + escaped
		case 3:
			path = "/orders/" + escaped
		case 4:
			path = "/api/messages?" + url.Values{"request_id": {value}, "event_name": {value}}.Encode()
		case 5:
			path = "/api/poison?" + url.Values{"limit": {value}}.Encode()
		case 6:
			path = "/?" + url.Values{"request_id": {value}, "limit": {value}}.Encode()
		}
		st.Answered(t, "GET "+path, st.Call(t, "GET", base+path, nil))
	})
}
