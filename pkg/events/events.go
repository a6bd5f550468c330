// Package events holds the event contracts every service imports: the
// payload types, their names and versions, and the rules a consumer checks
// before it acts on one.
//
// Changes are additive and consumer-first: a new field is optional, a
// consumer learns to accept the new version before any producer sends it,
// and an old version is still accepted afterwards.
package events

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Event is a payload that travels on the broker.
type Event interface {
	// EventName is the topic and the `event_name` metadata, e.g. "settings.changed".
	EventName() string
	// Validate says what is wrong with a decoded payload, or nil.
	Validate() error
}

// ErrInvalid marks a payload that can never be processed: retrying it is
// pointless, so consumers send it to the poison topic.
var ErrInvalid = errors.New("invalid event")

// Bounds on every field, so that every valid event fits the broker's
// payload limit (1 MB) many times over, JSON escaping included, and no sum
// of amounts can overflow. An amount is at most MaxCents ($1,000,000.00);
// a total, price plus fee, at most twice that.
const (
	MaxCents   = 100_000_000
	MaxTextLen = 200 // characters of a text field: product, channel
	MaxGUIDLen = 64  // characters of a guid
)

// Names of the events, also their topics.
const (
	NameSettingsChanged = "settings.changed"
	NameOrderCaptured   = "order.captured"
	NameOrderApproved   = "order.approved"
	NameOrderCharged    = "order.charged"
	NameOrderFinalized  = "order.finalized"
)

// Settings is the whole of alpha's canonical settings. Money is integer cents.
type Settings struct {
	GUID            string `json:"guid" jsonschema:"description=the settings guid (guid-12345678 in the seed),maxLength=64"`
	Version         int64  `json:"version" jsonschema:"description=bumped on every change; copies ignore a version at or below the one they hold,minimum=1"`
	FeeEnabled      bool   `json:"fee_enabled"`
	FeeCents        int64  `json:"fee_cents" jsonschema:"minimum=0,maximum=100000000"`
	DiscountEnabled bool   `json:"discount_enabled"`
	DiscountCents   int64  `json:"discount_cents" jsonschema:"minimum=0,maximum=100000000"`
}

// Validate checks the settings as a whole.
func (s Settings) Validate() error {
	var problems []string
	if strings.TrimSpace(s.GUID) == "" {
		problems = append(problems, "guid is empty")
	}
	problems = boundText(problems, "guid", s.GUID, MaxGUIDLen)
	if s.Version < 1 {
		problems = append(problems, "version must be at least 1")
	}
	problems = boundCents(problems, "fee_cents", s.FeeCents, 0, MaxCents)
	problems = boundCents(problems, "discount_cents", s.DiscountCents, 0, MaxCents)
	return invalid(problems)
}

// SettingsChanged is published by alpha on every settings update.
// Issue 1: a change event carries the whole settings and a version, so a
// consumer can keep its own copy without asking alpha.
type SettingsChanged struct {
	Settings
}

func (SettingsChanged) EventName() string { return NameSettingsChanged }

// Validate checks the payload.
func (e SettingsChanged) Validate() error { return e.Settings.Validate() }

// OrderCaptured is published by beta when a customer submits a cart.
//
// Version 2 adds Channel (where the order came from); it is optional, so a
// version 1 payload is a valid version 2 payload with no channel.
type OrderCaptured struct {
	CartGUID   string `json:"cart_guid" jsonschema:"maxLength=64"`
	Product    string `json:"product" jsonschema:"maxLength=200"`
	PriceCents int64  `json:"price_cents" jsonschema:"minimum=1,maximum=100000000"`
	// Issue 2: the settings the customer was shown when the form was
	// loaded. Absent below stage 2.
	Settings *Settings `json:"settings,omitempty" jsonschema:"description=the settings snapshot the cart was loaded with (stage 2 and later)"`
	// Channel is new in version 2: "web", "phone", ...; empty in version 1.
	Channel string `json:"channel,omitempty" jsonschema:"description=version 2: where the order was placed,maxLength=200"`
}

func (OrderCaptured) EventName() string { return NameOrderCaptured }

// Validate checks the payload.
func (e OrderCaptured) Validate() error {
	var problems []string
	problems = requireText(problems, "cart_guid", e.CartGUID, MaxGUIDLen)
	problems = requireText(problems, "product", e.Product, MaxTextLen)
	problems = boundText(problems, "channel", e.Channel, MaxTextLen)
	problems = boundCents(problems, "price_cents", e.PriceCents, 1, MaxCents)
	if e.Settings != nil {
		if err := e.Settings.Validate(); err != nil {
			problems = append(problems, "settings: "+err.Error())
		}
	}
	return invalid(problems)
}

// OrderApproved is published by alpha when it approves an order.
type OrderApproved struct {
	OrderGUID  string `json:"order_guid" jsonschema:"maxLength=64"`
	CartGUID   string `json:"cart_guid" jsonschema:"maxLength=64"`
	Product    string `json:"product" jsonschema:"maxLength=200"`
	PriceCents int64  `json:"price_cents" jsonschema:"minimum=1,maximum=100000000"`
	// Issue 3: the fee and discount amounts travel with the order, so
	// charlie need not guess them. Zero below stage 3.
	FeeCents      int64 `json:"fee_cents" jsonschema:"minimum=0,maximum=100000000"`
	DiscountCents int64 `json:"discount_cents" jsonschema:"minimum=0,maximum=100000000"`
	TotalCents    int64 `json:"total_cents" jsonschema:"minimum=0,maximum=200000000"`
	// SettingsVersion is the version of the settings the order was priced with.
	SettingsVersion int64 `json:"settings_version,omitempty"`
}

func (OrderApproved) EventName() string { return NameOrderApproved }

// Validate checks the payload.
func (e OrderApproved) Validate() error {
	var problems []string
	problems = requireText(problems, "order_guid", e.OrderGUID, MaxGUIDLen)
	problems = requireText(problems, "cart_guid", e.CartGUID, MaxGUIDLen)
	problems = requireText(problems, "product", e.Product, MaxTextLen)
	problems = boundCents(problems, "price_cents", e.PriceCents, 1, MaxCents)
	problems = boundCents(problems, "fee_cents", e.FeeCents, 0, MaxCents)
	problems = boundCents(problems, "discount_cents", e.DiscountCents, 0, MaxCents)
	problems = boundCents(problems, "total_cents", e.TotalCents, 0, 2*MaxCents)
	return invalid(problems)
}

// OrderCharged is published by charlie after it charged an order.
//
// Version 2 adds CartGUID, for a consumer that acts on the cart (beta, in
// the first design of issue 4); it is optional, so a version 1 payload is
// a valid version 2 payload with no cart.
type OrderCharged struct {
	OrderGUID   string `json:"order_guid" jsonschema:"maxLength=64"`
	ChargeGUID  string `json:"charge_guid" jsonschema:"maxLength=64"`
	AmountCents int64  `json:"amount_cents" jsonschema:"minimum=0,maximum=200000000"`
	FeeCents    int64  `json:"fee_cents" jsonschema:"minimum=0,maximum=100000000"`
	// CartGUID is new in version 2: the cart the order came from.
	CartGUID string `json:"cart_guid,omitempty" jsonschema:"description=version 2: the cart the order came from,maxLength=64"`
}

func (OrderCharged) EventName() string { return NameOrderCharged }

// Validate checks the payload.
func (e OrderCharged) Validate() error {
	var problems []string
	problems = requireText(problems, "order_guid", e.OrderGUID, MaxGUIDLen)
	problems = requireText(problems, "charge_guid", e.ChargeGUID, MaxGUIDLen)
	problems = boundText(problems, "cart_guid", e.CartGUID, MaxGUIDLen)
	problems = boundCents(problems, "amount_cents", e.AmountCents, 0, 2*MaxCents)
	problems = boundCents(problems, "fee_cents", e.FeeCents, 0, MaxCents)
	return invalid(problems)
}

// OrderFinalized is published by alpha when an order's lifecycle is done.
// Issue 4: beta reopens the cart on this, not on order.charged, so steps
// added after charging do not change beta.
type OrderFinalized struct {
	OrderGUID string `json:"order_guid" jsonschema:"maxLength=64"`
	CartGUID  string `json:"cart_guid" jsonschema:"maxLength=64"`
}

func (OrderFinalized) EventName() string { return NameOrderFinalized }

// Validate checks the payload.
func (e OrderFinalized) Validate() error {
	var problems []string
	problems = requireText(problems, "order_guid", e.OrderGUID, MaxGUIDLen)
	problems = requireText(problems, "cart_guid", e.CartGUID, MaxGUIDLen)
	return invalid(problems)
}

func requireText(problems []string, field, value string, maxLen int) []string {
	if strings.TrimSpace(value) == "" {
		return append(problems, field+" is required")
	}
	return boundText(problems, field, value, maxLen)
}

func boundText(problems []string, field, value string, maxLen int) []string {
	if n := utf8.RuneCountInString(value); n > maxLen {
		return append(problems, fmt.Sprintf("%s has %d characters, at most %d are allowed", field, n, maxLen))
	}
	return problems
}

func boundCents(problems []string, field string, value, lowest, highest int64) []string {
	if value < lowest || value > highest {
		return append(problems, fmt.Sprintf("%s must be from %d to %d", field, lowest, highest))
	}
	return problems
}

func invalid(problems []string) error {
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(problems, "; "))
}
