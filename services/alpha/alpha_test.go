package alpha

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"eventually/internal/pgtest"
	"eventually/pkg/domain"
	"eventually/pkg/domain/domaintest"
	"eventually/pkg/events"
	"eventually/pkg/logging"
	"eventually/pkg/messaging"
	"eventually/pkg/seed"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// newProcessing is alpha's domain on a fresh, seeded database with every
// problem solved (set env.Stage for another stage); no HTTP, no broker.
func newProcessing(t *testing.T) (*Processing, *domaintest.Env) {
	t.Helper()
	env := domaintest.New(t, "alpha", models, seedStore)
	return &Processing{bus: env.Bus, db: env.DB, stage: env.Stage, logger: env.Logger}, env
}

// snapshot is what a customer was shown: fee and discount both on, at a
// version older than alpha's settings now (seed: fee on, discount off).
var snapshot = events.Settings{GUID: seed.Settings.GUID, Version: 999,
	FeeEnabled: true, FeeCents: 2000, DiscountEnabled: true, DiscountCents: 300}

// capture delivers an order.captured for a 1000-cent widget with the
// snapshot and returns the order alpha made of it.
func capture(t *testing.T, p *Processing, env *domaintest.Env) Order {
	t.Helper()
	ev := &events.OrderCaptured{CartGUID: "cart-1", Product: "widget", PriceCents: 1000, Settings: &snapshot, Channel: "web"}
	if err := domaintest.Deliver(env, p.onOrderCaptured, ev); err != nil {
		t.Fatal(err)
	}
	orders, err := recentOrders(env.DB, 1)
	if err != nil || len(orders) != 1 {
		t.Fatalf("orders after capture: %v, %v", orders, err)
	}
	return orders[0]
}

func TestUpdateSettingsBumpsTheVersionAndPublishesTheWholeSettings(t *testing.T) {
	p, env := newProcessing(t)
	updated, err := p.UpdateSettings(t.Context(), SettingsChange{DiscountEnabled: new(true), FeeCents: new(int64(3000))})
	if err != nil {
		t.Fatal(err)
	}
	want := events.Settings{GUID: seed.Settings.GUID, Version: seed.Settings.Version + 1,
		FeeEnabled: true, FeeCents: 3000, DiscountEnabled: true, DiscountCents: seed.Settings.DiscountCents}
	stored, err := loadSettings(env.DB)
	if err != nil {
		t.Fatal(err)
	}
	if updated.toEvent() != want || stored.toEvent() != want {
		t.Fatalf("returned %+v, stored %+v, want %+v", updated, stored, want)
	}
	env.WantOutbox(t, &events.SettingsChanged{Settings: want})
}

func TestUpdateSettingsBeforeIssue1TellsNobody(t *testing.T) {
	p, env := newProcessing(t)
	env.SetStage(t, 0)
	updated, err := p.UpdateSettings(t.Context(), SettingsChange{DiscountEnabled: new(true)})
	if err != nil {
		t.Fatal(err)
	}
	if !updated.DiscountEnabled || updated.Version != seed.Settings.Version+1 {
		t.Fatalf("updated %+v, want the discount on at the next version", updated)
	}
	env.WantOutbox(t)
}

func TestInvalidSettingsChangeChangesNothing(t *testing.T) {
	for name, change := range map[string]SettingsChange{
		"empty":           {},
		"negative fee":    {FeeEnabled: new(true), FeeCents: new(int64(-1))},
		"negative amount": {DiscountCents: new(int64(-5))},
	} {
		t.Run(name, func(t *testing.T) {
			p, env := newProcessing(t)
			if _, err := p.UpdateSettings(t.Context(), change); !errors.Is(err, domain.ErrInvalid) {
				t.Fatalf("error %v, want an invalid-input error", err)
			}
			if s, _ := loadSettings(env.DB); s.toEvent() != seed.Settings {
				t.Fatalf("settings changed to %+v", s)
			}
			env.WantOutbox(t)
		})
	}
}

// Issue 2: solved, an order is priced from the snapshot it carries;
// before, from alpha's settings now, and the promised discount is lost.
func TestCapturedOrderIsPricedFromItsSnapshot(t *testing.T) {
	for _, c := range []struct {
		stage                         int
		fee, discount, total, version int64
		pricedFrom                    string
	}{
		{stage: 2, total: 1000 + 2000 - 300, version: 999, pricedFrom: "snapshot", fee: 2000, discount: 300},
		{stage: 1, total: 1000 + 2500, version: 1000, pricedFrom: "current settings", fee: 2500, discount: 0},
	} {
		p, env := newProcessing(t)
		env.SetStage(t, c.stage)
		o := capture(t, p, env)
		if o.Status != StatusPending || o.TotalCents != c.total || o.FeeCents != c.fee || o.DiscountCents != c.discount ||
			o.SettingsVersion != c.version || o.PricedFrom != c.pricedFrom || o.Channel != "web" {
			t.Errorf("stage %d: order %+v, want pending, total %d from %s v%d", c.stage, o, c.total, c.pricedFrom, c.version)
		}
		env.WantOutbox(t) // pending: nothing to tell yet
	}
}

func TestApprovePublishesOrderApprovedOnce(t *testing.T) {
	p, env := newProcessing(t)
	o := capture(t, p, env)
	approved, err := p.Approve(t.Context(), o.GUID)
	if err != nil {
		t.Fatal(err)
	}
	if stored, _ := findOrder(env.DB, o.GUID); approved.Status != StatusApproved || stored.Status != StatusApproved {
		t.Fatalf("returned %s, stored %s, want approved", approved.Status, stored.Status)
	}
	env.WantOutbox(t, &events.OrderApproved{OrderGUID: o.GUID, CartGUID: "cart-1", Product: "widget",
		PriceCents: 1000, FeeCents: 2000, DiscountCents: 300, TotalCents: 2700, SettingsVersion: 999})

	// An order that is not pending is a conflict, and nothing is published again.
	if _, err := p.Approve(t.Context(), o.GUID); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("second approval: %v, want a conflict", err)
	}
	env.WantOutbox(t)
	if _, err := p.Approve(t.Context(), "order-nope"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("approving an unknown order: %v, want not found", err)
	}
}

// Issue 3: before, order.approved carries no fee or discount amount.
func TestApprovedBeforeIssue3CarriesNoAmounts(t *testing.T) {
	p, env := newProcessing(t)
	env.SetStage(t, 2)
	o := capture(t, p, env)
	if _, err := p.Approve(t.Context(), o.GUID); err != nil {
		t.Fatal(err)
	}
	env.WantOutbox(t, &events.OrderApproved{OrderGUID: o.GUID, CartGUID: "cart-1", Product: "widget",
		PriceCents: 1000, TotalCents: 2700, SettingsVersion: 999})
}

func TestAutoApproveApprovesEachCapturedOrder(t *testing.T) {
	p, env := newProcessing(t)
	p.AutoApprove.Store(true)
	o := capture(t, p, env)
	if o.Status != StatusApproved {
		t.Fatalf("order %s, want approved at once", o.Status)
	}
	env.WantOutbox(t, &events.OrderApproved{OrderGUID: o.GUID, CartGUID: "cart-1", Product: "widget",
		PriceCents: 1000, FeeCents: 2000, DiscountCents: 300, TotalCents: 2700, SettingsVersion: 999})
}

// Issue 4: a charged order is finalized once, and order.finalized tells beta.
func TestOrderChargedFinalizesTheOrderOnce(t *testing.T) {
	p, env := newProcessing(t)
	o := capture(t, p, env)
	if _, err := p.Approve(t.Context(), o.GUID); err != nil {
		t.Fatal(err)
	}
	env.Outbox(t) // the approval's
	charged := &events.OrderCharged{OrderGUID: o.GUID, ChargeGUID: "charge-1", AmountCents: 2700, FeeCents: 2000}
	for range 2 {
		if err := domaintest.Deliver(env, p.onOrderCharged, charged); err != nil {
			t.Fatal(err)
		}
	}
	if stored, _ := findOrder(env.DB, o.GUID); stored.Status != StatusFinalized || stored.ChargeGUID != "charge-1" {
		t.Fatalf("order %+v, want finalized with charge-1", stored)
	}
	env.WantOutbox(t, &events.OrderFinalized{OrderGUID: o.GUID, CartGUID: "cart-1"})

	unknown := &events.OrderCharged{OrderGUID: "order-nope", ChargeGUID: "charge-2"}
	if err := domaintest.Deliver(env, p.onOrderCharged, unknown); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("charge of an unknown order: %v, want not found", err)
	}
}

// chargeHeld captures, approves and charges an order with alpha holding
// charged orders for review, and returns it.
func chargeHeld(t *testing.T, p *Processing, env *domaintest.Env) Order {
	t.Helper()
	p.HoldForReview.Store(true)
	o := capture(t, p, env)
	if _, err := p.Approve(t.Context(), o.GUID); err != nil {
		t.Fatal(err)
	}
	env.Outbox(t) // the approval's
	charged := &events.OrderCharged{OrderGUID: o.GUID, ChargeGUID: "charge-1", AmountCents: 2700, CartGUID: "cart-1"}
	if err := domaintest.Deliver(env, p.onOrderCharged, charged); err != nil {
		t.Fatal(err)
	}
	if stored, _ := findOrder(env.DB, o.GUID); stored.Status != StatusInReview {
		t.Fatalf("charged order %s, want in review", stored.Status)
	}
	env.WantOutbox(t) // charged, but not done: nothing tells beta yet
	return o
}

// Issue 4: a step added after the charge: a charged order held for
// review is done only when its review is finished.
func TestOrderHeldForReviewIsFinalizedWhenReviewed(t *testing.T) {
	p, env := newProcessing(t)
	o := chargeHeld(t, p, env)
	if _, err := p.FinishReview(t.Context(), o.GUID); err != nil {
		t.Fatal(err)
	}
	if stored, _ := findOrder(env.DB, o.GUID); stored.Status != StatusFinalized {
		t.Fatalf("reviewed order %s, want finalized", stored.Status)
	}
	env.WantOutbox(t, &events.OrderFinalized{OrderGUID: o.GUID, CartGUID: "cart-1"})
	if _, err := p.FinishReview(t.Context(), o.GUID); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("finishing a review twice: %v, want a conflict", err)
	}
}

// Issue 5: the review timer passes the reviews that waited longer than
// the timeout, under a request ID it makes up for its run: its log lines
// and the order.finalized it publishes carry it.
func TestReviewTimerPassesOverdueReviewsUnderItsOwnRequestID(t *testing.T) {
	p, env := newProcessing(t)
	var logs bytes.Buffer
	p.logger = logging.New(&logs, "alpha", slog.LevelInfo)
	p.reviewTimeout.Store(int64(time.Minute))
	o := chargeHeld(t, p, env)

	if n, err := p.passOverdueReviews(t.Context(), time.Now()); err != nil || n != 0 {
		t.Fatalf("a fresh review: passed %d, %v; want none", n, err)
	}
	if n, err := p.passOverdueReviews(t.Context(), time.Now().Add(2*time.Minute)); err != nil || n != 1 {
		t.Fatalf("an overdue review: passed %d, %v; want one", n, err)
	}
	var row messaging.OutboxMessage
	if err := env.DB.Where("topic = ?", events.NameOrderFinalized).First(&row).Error; err != nil {
		t.Fatal(err)
	}
	var meta map[string]string
	if err := json.Unmarshal([]byte(row.Metadata), &meta); err != nil {
		t.Fatal(err)
	}
	id := meta[messaging.CorrelationIDKey]
	if !strings.HasPrefix(id, "review-timer-") {
		t.Fatalf("order.finalized carries request ID %q, want the timer's own", id)
	}
	for _, msg := range []string{"order finalized", "review timer passed orders"} {
		if !strings.Contains(logs.String(), `"msg":"`+msg+`"`) || !strings.Contains(logs.String(), `"request_id":"`+id+`"`) {
			t.Fatalf("no %q line with request_id %s in:\n%s", msg, id, logs.String())
		}
	}
	env.WantOutbox(t, &events.OrderFinalized{OrderGUID: o.GUID, CartGUID: "cart-1"})
}

// Two alphas on one Postgres schema run their review timers at the same
// moment, round after round: each overdue order is passed once, by one
// of them (the timer locks what it passes and skips what another holds).
func TestReviewTimersOfTwoInstancesPassEachOrderOnce(t *testing.T) {
	url := pgtest.Start(t)
	var instances []*Processing
	var envs []*domaintest.Env
	for range 2 {
		env := domaintest.NewShared(t, url, "alpha", models, seedStore)
		p := &Processing{bus: env.Bus, db: env.DB, stage: env.Stage, logger: env.Logger}
		p.reviewTimeout.Store(int64(time.Minute))
		instances, envs = append(instances, p), append(envs, env)
	}
	for range 10 {
		o := chargeHeld(t, instances[0], envs[0])
		start := make(chan struct{})
		passed := make(chan int, len(instances))
		for _, p := range instances {
			go func() {
				<-start
				n, err := p.passOverdueReviews(t.Context(), time.Now().Add(2*time.Minute))
				if err != nil {
					t.Error(err)
				}
				passed <- n
			}()
		}
		close(start)
		if n := <-passed + <-passed; n != 1 {
			t.Fatalf("order %s passed %d times, want once", o.GUID, n)
		}
		envs[0].WantOutbox(t, &events.OrderFinalized{OrderGUID: o.GUID, CartGUID: "cart-1"})
	}
}
