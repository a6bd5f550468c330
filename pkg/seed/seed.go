// Package seed is the data a fresh data dir starts with: alpha's
// settings (which beta's and charlie's copies start from) and beta's one
// open cart. Money is integer cents.
package seed

import "eventually/pkg/events"

// Settings are alpha's settings, and every copy's, on a fresh data dir.
var Settings = events.Settings{
	GUID: "guid-12345678", Version: 1000,
	FeeEnabled: true, FeeCents: 2500,
	DiscountEnabled: false, DiscountCents: 1000,
}

// The open cart beta starts with.
const (
	CartGUID       = "cart-12345678"
	CartProduct    = "widget"
	CartPriceCents = 1000
)
