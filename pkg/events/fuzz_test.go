package events

import (
	"errors"
	"testing"
)

// FuzzDecode feeds every event decoder arbitrary payloads and versions: it
// never panics, and every input it refuses gets an ErrInvalid error that
// says why; every input it accepts is valid.
func FuzzDecode(f *testing.F) {
	seeds := []string{
		`{"guid":"guid-12345678","version":1001,"fee_enabled":true,"fee_cents":2500,"discount_enabled":false,"discount_cents":1000}`,
		`{"cart_guid":"cart-1","product":"widget","price_cents":1000,"settings":{"guid":"g","version":1,"fee_cents":0,"discount_cents":0},"channel":"web"}`,
		`{"order_guid":"o","cart_guid":"c","product":"p","price_cents":1,"fee_cents":0,"discount_cents":0,"total_cents":1}`,
		`{"order_guid":"o","charge_guid":"ch","amount_cents":1,"fee_cents":0}`,
		`{"order_guid":"o","cart_guid":"c"}`,
		`{}`, `[]`, `null`, `{"price_cents":-1}`, `{"version":"1"}`, `{"a":1} {"b":2}`, "\x00", ``,
	}
	for i := range Catalog() {
		for _, s := range seeds {
			f.Add(uint8(i), 1, []byte(s))
			f.Add(uint8(i), 2, []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, version int, payload []byte) {
		catalog := Catalog()
		c := catalog[int(which)%len(catalog)]
		ev, err := Decode(c.Name, version, payload)
		if err != nil {
			if !errors.Is(err, ErrInvalid) || len(err.Error()) <= len(ErrInvalid.Error())+2 {
				t.Fatalf("unclear error for %s v%d %q: %v", c.Name, version, payload, err)
			}
			return
		}
		if verr := ev.Validate(); verr != nil {
			t.Fatalf("accepted an invalid %s: %v", c.Name, verr)
		}
	})
}
