package beta_test

import (
	"bytes"
	"net/url"
	"testing"

	st "eventually/internal/systemtest"
)

// seedCart is the cart every fresh beta has.
const seedCart = "cart-12345678"

// FuzzCartPaths sends arbitrary cart guids (and submit bodies) to each
// cart endpoint of a running beta, through its HTTP router: never a 5xx,
// every refusal a JSON error with the request ID, and the seeded cart
// changes only when it is the one named.
func FuzzCartPaths(f *testing.F) {
	for _, guid := range []string{"cart-1", "", "..", "%2F", "a/b", "ü", "\x00", seedCart + "x", "' OR 1=1 --"} {
		for op := range uint8(4) {
			f.Add(guid, op, []byte(`{"product":"widget","price_cents":1000}`))
		}
	}
	f.Add(seedCart, uint8(3), []byte(`{"product":"","price_cents":-1}`))
	s := st.Start(f, st.Options{Stage: 6, Services: []string{"beta"}})
	base := s.URL("beta")
	seed := base + "/api/carts/" + seedCart
	f.Fuzz(func(t *testing.T, guid string, op uint8, body []byte) {
		before := st.Must(t, st.Call(t, "GET", seed, nil), 200).Body
		path := "/api/carts/" + url.PathEscape(guid)
		method, payload := "GET", any(nil)
		switch op % 4 {
		case 1:
			method, path = "POST", path+"/load"
		case 2:
			method, path = "POST", path+"/reset"
		case 3:
			method, path, payload = "POST", path+"/submit", body
		}
		st.Answered(t, method+" "+path, st.Call(t, method, base+path, payload))
		after := st.Must(t, st.Call(t, "GET", seed, nil), 200).Body
		if guid != seedCart && !bytes.Equal(after, before) {
			t.Fatalf("%s %s changed %s: %s, was %s", method, path, seedCart, after, before)
		}
	})
}

// FuzzReopenOnBody: PUT /api/reopen-on takes one of the two events or
// refuses clearly, changing nothing.
func FuzzReopenOnBody(f *testing.F) {
	s := st.Start(f, st.Options{Stage: 6, Services: []string{"beta"}})
	st.FuzzSwitchBody(f, s.URL("beta")+"/api/reopen-on", `{"event":"order.charged"}`, `{"event":"order.finalized"}`,
		`{"event":"order.approved"}`, `{"event":""}`, `{}`, `null`, `{`, ``, `{"event":1}`)
}
