package alpha

// price fills in an order's fee, discount and total from settings, and
// says which settings priced it. The total never goes below zero.
func price(o *Order, s Settings, from string) {
	o.FeeCents, o.DiscountCents = 0, 0
	if s.FeeEnabled {
		o.FeeCents = s.FeeCents
	}
	if s.DiscountEnabled {
		o.DiscountCents = s.DiscountCents
	}
	o.TotalCents = max(0, o.PriceCents+o.FeeCents-o.DiscountCents)
	o.SettingsVersion = s.Version
	o.PricedFrom = from
}
