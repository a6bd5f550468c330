package beta

import (
	"errors"
	"testing"

	"eventually/pkg/domain"
	"eventually/pkg/domain/domaintest"
	"eventually/pkg/events"
	"eventually/pkg/seed"
)

// newCapture is beta's domain on a fresh, seeded database with every
// problem solved (set env.Stage for another stage); no HTTP, no broker.
func newCapture(t *testing.T) (*Capture, *domaintest.Env) {
	t.Helper()
	env := domaintest.New(t, "beta", models, seedStore)
	return &Capture{bus: env.Bus, stage: env.Stage, logger: env.Logger}, env
}

// discountOn is alpha's settings after the discount was turned on.
var discountOn = events.Settings{GUID: seed.Settings.GUID, Version: seed.Settings.Version + 1,
	FeeEnabled: true, FeeCents: 2500, DiscountEnabled: true, DiscountCents: 1000}

// changeSettings delivers a settings.changed to beta.
func changeSettings(t *testing.T, c *Capture, env *domaintest.Env, s events.Settings) {
	t.Helper()
	if err := domaintest.Deliver(env, c.onSettingsChanged, &events.SettingsChanged{Settings: s}); err != nil {
		t.Fatal(err)
	}
}

func widget() Submission { return Submission{Product: "widget", PriceCents: new(int64(1000))} }

// Issue 1: beta keeps its own copy from settings.changed, and a version at
// or below the one it holds changes nothing.
func TestSettingsCopyTakesOnlyNewerVersions(t *testing.T) {
	c, env := newCapture(t)
	changeSettings(t, c, env, discountOn)
	for _, stale := range []int64{discountOn.Version, discountOn.Version - 1} {
		old := seed.Settings
		old.Version = stale
		changeSettings(t, c, env, old)
	}
	held, err := loadCopy(env.DB)
	if err != nil {
		t.Fatal(err)
	}
	if held.toEvent() != discountOn {
		t.Fatalf("copy %+v, want %+v", held, discountOn)
	}
	env.WantOutbox(t)
}

func TestNewCartIsStampedWithTheCopy(t *testing.T) {
	c, env := newCapture(t)
	changeSettings(t, c, env, discountOn)
	cart, err := c.NewCart(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	stored, err := findCart(env.DB, cart.GUID)
	if err != nil {
		t.Fatal(err)
	}
	if cart.Status != CartOpen || stored.Snapshot.toEvent() != discountOn || len(cart.Notices) != 2 {
		t.Fatalf("cart %+v, stored snapshot %+v: want an open cart with the copy and two notices", cart, stored.Snapshot)
	}
}

// Issue 2: loading the form stamps the cart with the settings it shows,
// and the order carries that snapshot, whatever the copy holds by then.
func TestSubmitCarriesTheSnapshotTheFormWasLoadedWith(t *testing.T) {
	c, env := newCapture(t)
	changeSettings(t, c, env, discountOn)
	loaded, err := c.LoadCart(t.Context(), seed.CartGUID)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Snapshot.toEvent() != discountOn || len(loaded.Notices) != 2 || loaded.Notices[1] != NoticeDiscount {
		t.Fatalf("loaded %+v, want the discount's snapshot and notice", loaded)
	}
	discountOff := discountOn
	discountOff.Version, discountOff.DiscountEnabled = discountOn.Version+1, false
	changeSettings(t, c, env, discountOff)

	submitted, err := c.Submit(t.Context(), seed.CartGUID, widget())
	if err != nil {
		t.Fatal(err)
	}
	if submitted.Status != CartLocked {
		t.Fatalf("cart %s after submit, want locked", submitted.Status)
	}
	env.WantOutbox(t, &events.OrderCaptured{CartGUID: seed.CartGUID, Product: "widget", PriceCents: 1000,
		Settings: &discountOn, Channel: "web"})
}

func TestSubmitBeforeIssue2CarriesNoSnapshot(t *testing.T) {
	c, env := newCapture(t)
	env.SetStage(t, 1)
	if _, err := c.Submit(t.Context(), seed.CartGUID, widget()); err != nil {
		t.Fatal(err)
	}
	env.WantOutbox(t, &events.OrderCaptured{CartGUID: seed.CartGUID, Product: "widget", PriceCents: 1000, Channel: "web"})
}

// A locked cart takes no second order and keeps its form as submitted.
func TestLockedCartRefusesSubmitAndKeepsItsSnapshot(t *testing.T) {
	c, env := newCapture(t)
	if _, err := c.Submit(t.Context(), seed.CartGUID, widget()); err != nil {
		t.Fatal(err)
	}
	env.Outbox(t) // the first order's
	changeSettings(t, c, env, discountOn)

	other := Submission{Product: "gadget", PriceCents: new(int64(5))}
	if _, err := c.Submit(t.Context(), seed.CartGUID, other); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("second submit: %v, want a conflict", err)
	}
	loaded, err := c.LoadCart(t.Context(), seed.CartGUID)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Status != CartLocked || loaded.Product != "widget" || loaded.Snapshot.toEvent() != seed.Settings {
		t.Fatalf("locked cart changed: %+v", loaded)
	}
	env.WantOutbox(t)
}

func TestBadSubmissionOrUnknownCartChangesNothing(t *testing.T) {
	c, env := newCapture(t)
	for _, s := range []Submission{{Product: "widget"}, {Product: " ", PriceCents: new(int64(1))}, {Product: "w", PriceCents: new(int64(0))}} {
		if _, err := c.Submit(t.Context(), seed.CartGUID, s); !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("submit %+v: %v, want invalid input", s, err)
		}
	}
	if cart, _ := findCart(env.DB, seed.CartGUID); cart.Status != CartOpen {
		t.Fatalf("cart %s after refused submissions, want open", cart.Status)
	}
	if _, err := c.Submit(t.Context(), "cart-nope", widget()); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("submit to an unknown cart: %v, want not found", err)
	}
	if _, err := c.LoadCart(t.Context(), "cart-nope"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("load an unknown cart: %v, want not found", err)
	}
	env.WantOutbox(t)
}

// Issue 4: order.finalized reopens the cart; before, nothing does, and it
// takes a reset by hand.
func TestOrderFinalizedReopensTheCart(t *testing.T) {
	for _, tc := range []struct {
		stage int
		want  string
	}{{4, CartOpen}, {3, CartLocked}} {
		c, env := newCapture(t)
		env.SetStage(t, tc.stage)
		if _, err := c.Submit(t.Context(), seed.CartGUID, widget()); err != nil {
			t.Fatal(err)
		}
		finalized := &events.OrderFinalized{OrderGUID: "order-1", CartGUID: seed.CartGUID}
		if err := domaintest.Deliver(env, c.onOrderFinalized, finalized); err != nil {
			t.Fatal(err)
		}
		if cart, _ := findCart(env.DB, seed.CartGUID); cart.Status != tc.want {
			t.Errorf("stage %d: cart %s after order.finalized, want %s", tc.stage, cart.Status, tc.want)
		}
	}
}

func TestResetCartReopensItByHand(t *testing.T) {
	c, env := newCapture(t)
	env.SetStage(t, 3)
	if _, err := c.Submit(t.Context(), seed.CartGUID, widget()); err != nil {
		t.Fatal(err)
	}
	if cart, err := c.ResetCart(t.Context(), seed.CartGUID); err != nil || cart.Status != CartOpen {
		t.Fatalf("reset: %+v, %v; want open", cart, err)
	}
}

// Issue 4: beta reopens the cart on the event it is switched to: by
// default order.finalized, and order.charged is ignored; in the first
// design order.charged (version 2 names the cart), and order.finalized
// is ignored.
func TestCartReopensOnTheEventBetaIsSwitchedTo(t *testing.T) {
	charged := &events.OrderCharged{OrderGUID: "order-1", ChargeGUID: "charge-1", CartGUID: seed.CartGUID}
	finalized := &events.OrderFinalized{OrderGUID: "order-1", CartGUID: seed.CartGUID}
	for _, tc := range []struct {
		onCharged  bool
		first      func(*Capture, *domaintest.Env) error // must not reopen
		then       func(*Capture, *domaintest.Env) error // reopens
		reopenedBy string
	}{
		{false,
			func(c *Capture, env *domaintest.Env) error { return domaintest.Deliver(env, c.onOrderCharged, charged) },
			func(c *Capture, env *domaintest.Env) error {
				return domaintest.Deliver(env, c.onOrderFinalized, finalized)
			},
			"order.finalized of order-1"},
		{true,
			func(c *Capture, env *domaintest.Env) error {
				return domaintest.Deliver(env, c.onOrderFinalized, finalized)
			},
			func(c *Capture, env *domaintest.Env) error { return domaintest.Deliver(env, c.onOrderCharged, charged) },
			"order.charged of order-1"},
	} {
		c, env := newCapture(t)
		c.ReopenOnCharged.Store(tc.onCharged)
		if _, err := c.Submit(t.Context(), seed.CartGUID, widget()); err != nil {
			t.Fatal(err)
		}
		if err := tc.first(c, env); err != nil {
			t.Fatal(err)
		}
		if cart, _ := findCart(env.DB, seed.CartGUID); cart.Status != CartLocked {
			t.Fatalf("reopen on %s: the other event reopened the cart", c.ReopenOn())
		}
		if err := tc.then(c, env); err != nil {
			t.Fatal(err)
		}
		if cart, _ := findCart(env.DB, seed.CartGUID); cart.Status != CartOpen || cart.ReopenedBy != tc.reopenedBy {
			t.Fatalf("reopen on %s: cart %s reopened by %q, want open by %q", c.ReopenOn(), cart.Status, cart.ReopenedBy, tc.reopenedBy)
		}
	}
}
