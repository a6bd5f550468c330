package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
)

// Contract describes one event: who produces it, who consumes it, the
// versions consumers accept and the one producers send.
type Contract struct {
	Name     string `json:"name"`
	Versions []int  `json:"versions"` // accepted by consumers, oldest first
	// Current is the version producers send today. Consumer-first: it is
	// raised only after every consumer accepts it (it is in Versions).
	Current   int          `json:"current"`
	Producer  string       `json:"producer"`
	Consumers []string     `json:"consumers"`
	Summary   string       `json:"summary"`
	New       func() Event `json:"-"`
}

// Catalog lists every event of the system. The slice is the caller's own;
// the contracts in it are shared and must not be changed.
func Catalog() []Contract { return slices.Clone(catalog().list) }

// catalog is built once: consumers look a contract up for every message
// they decode, and building the list (with its closures) each time was a
// fifth of the decoding cost.
var catalog = sync.OnceValue(func() catalogTable {
	list := contracts()
	byName := make(map[string]Contract, len(list))
	for _, c := range list {
		byName[c.Name] = c
	}
	return catalogTable{list: list, byName: byName}
})

type catalogTable struct {
	list   []Contract
	byName map[string]Contract
}

func contracts() []Contract {
	return []Contract{
		{
			Name: NameSettingsChanged, Versions: []int{1}, Current: 1, Producer: "alpha",
			Consumers: []string{"beta", "charlie", "overlord"},
			Summary:   "alpha's settings changed; carries the whole settings and their version",
			New:       func() Event { return &SettingsChanged{} },
		},
		{
			Name: NameOrderCaptured, Versions: []int{1, 2}, Current: 2, Producer: "beta",
			Consumers: []string{"alpha", "overlord"},
			Summary:   "a customer submitted a cart; carries the settings snapshot the form showed",
			New:       func() Event { return &OrderCaptured{} },
		},
		{
			Name: NameOrderApproved, Versions: []int{1}, Current: 1, Producer: "alpha",
			Consumers: []string{"charlie", "overlord"},
			Summary:   "alpha approved an order; carries price, fee, discount and total",
			New:       func() Event { return &OrderApproved{} },
		},
		{
			// Version 2 adds cart_guid: beta, a new consumer, needs the cart.
			// Consumer-first: every consumer accepted 2 before charlie sent it.
			Name: NameOrderCharged, Versions: []int{1, 2}, Current: 2, Producer: "charlie",
			Consumers: []string{"alpha", "beta", "overlord"},
			Summary:   "charlie charged an order; carries the amount, the fee and (version 2) the cart",
			New:       func() Event { return &OrderCharged{} },
		},
		{
			Name: NameOrderFinalized, Versions: []int{1}, Current: 1, Producer: "alpha",
			Consumers: []string{"beta", "overlord"},
			Summary:   "the order's lifecycle is done; beta reopens the cart",
			New:       func() Event { return &OrderFinalized{} },
		},
	}
}

// Lookup finds the contract of an event name.
func Lookup(name string) (Contract, bool) {
	c, ok := catalog().byName[name]
	return c, ok
}

// VersionOf is the version a producer stamps on an event today.
func VersionOf(e Event) int {
	c, ok := Lookup(e.EventName())
	if !ok {
		return 1
	}
	return c.Current
}

// Decode turns a payload into a validated event, or says why it cannot.
// Every error wraps ErrInvalid: a payload that fails here will fail the
// same way on every redelivery.
func Decode(name string, version int, payload []byte) (Event, error) {
	c, ok := Lookup(name)
	if !ok {
		return nil, fmt.Errorf("%w: unknown event %q", ErrInvalid, name)
	}
	ev := c.New()
	if err := DecodeInto(ev, version, payload); err != nil {
		return nil, err
	}
	return ev, nil
}

// DecodeInto decodes a payload into ev (a pointer to an event type) and
// validates it.
func DecodeInto(ev Event, version int, payload []byte) error {
	c, ok := Lookup(ev.EventName())
	if !ok {
		return fmt.Errorf("%w: unknown event %q", ErrInvalid, ev.EventName())
	}
	if !slices.Contains(c.Versions, version) {
		return fmt.Errorf("%w: %s version %d is not supported (accepted: %v)", ErrInvalid, c.Name, version, c.Versions)
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	// Unknown fields are allowed on purpose: a newer producer may add a
	// field before this consumer knows it (additive changes).
	if err := dec.Decode(ev); err != nil {
		return fmt.Errorf("%w: %s payload is not valid JSON: %v", ErrInvalid, c.Name, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: %s payload has trailing data", ErrInvalid, c.Name)
	}
	return ev.Validate()
}
