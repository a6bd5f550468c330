package main

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"eventually/internal/poll"
	st "eventually/internal/systemtest"
)

const faultWait = 60 * time.Second

// envCrashBeforePublish=1 makes a service built with the faultinject tag
// (the test binary is) kill itself after a commit, before its outbox
// relay publishes (pkg/service/faults_inject.go).
const envCrashBeforePublish = "EVENTUALLY_CRASH_BEFORE_PUBLISH"

// Kill -9 between the database commit and the publish: after a restart the
// event is published exactly once and the flow completes.
func TestOutboxSurvivesCrashBetweenCommitAndPublish(t *testing.T) {
	p := startProcesses(t, EnvAutoApprove+"=1")
	p.start("alpha", envCrashBeforePublish+"=1")
	p.start("beta")
	p.start("charlie")

	// The change commits; alpha dies before its relay publishes. The
	// answer may or may not reach us first.
	st.Call(t, "PUT", p.url("alpha")+"/api/settings", map[string]any{"discount_enabled": true})
	if err := p.waitExit("alpha"); err == nil {
		t.Fatal("alpha should have been killed by its crash point")
	}
	if n := st.StreamCount(t, p.broker.URL(), "settings.changed"); n != 0 {
		t.Fatalf("published %d settings.changed before the crash, want 0", n)
	}
	p.start("alpha") // no crash point now
	st.Eventually(t, faultWait, "beta gets the change committed before the crash", func() bool {
		var s struct{ Version int64 }
		st.Must(t, st.Call(t, "GET", p.url("beta")+"/api/settings", nil), 200).JSON(t, &s)
		return s.Version == 1001
	})

	// The same for a submitted cart: beta dies after committing the lock
	// and the order.captured; after its restart the order is finalized.
	p.kill9("beta")
	p.start("beta", envCrashBeforePublish+"=1")
	st.Call(t, "POST", p.url("beta")+"/api/carts/cart-12345678/submit", map[string]any{"product": "widget", "price_cents": 1000})
	if err := p.waitExit("beta"); err == nil {
		t.Fatal("beta should have been killed by its crash point")
	}
	p.start("beta")
	st.Eventually(t, faultWait, "the cart reopens: the order went all the way", func() bool {
		var c struct{ Status string }
		st.Must(t, st.Call(t, "GET", p.url("beta")+"/api/carts/cart-12345678", nil), 200).JSON(t, &c)
		return c.Status == "open"
	})
	for topic, want := range map[string]uint64{"settings.changed": 1, "order.captured": 1, "order.approved": 1, "order.charged": 1, "order.finalized": 1} {
		if n := st.StreamCount(t, p.broker.URL(), topic); n != want {
			t.Errorf("%s published %d times, want exactly %d", topic, n, want)
		}
	}
}

// Kill -9 each consuming service in turn in the middle of a run of 200
// orders: all end finalized, the fee ledger balances, nothing is charged twice.
func TestTwoHundredOrdersSurviveKill9OfEachConsumer(t *testing.T) {
	const orders = 200
	p := startProcesses(t, EnvAutoApprove+"=1")
	for _, name := range []string{"alpha", "beta", "charlie"} {
		p.start(name)
	}
	// Kill each consumer once, a third of the way apart, while customers
	// keep submitting; a customer retries what a dead beta could not take.
	submitted := make(chan int, orders)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range orders {
			submitOrder(t, p, fmt.Sprintf("cart-%03d", i))
			submitted <- i
		}
		close(submitted)
	}()
	victims := map[int]string{40: "alpha", 90: "charlie", 140: "beta"}
	for i := range submitted {
		if name, ok := victims[i]; ok {
			p.kill9(name)
			p.start(name)
		}
	}
	wg.Wait()

	var all []struct {
		GUID     string `json:"guid"`
		Status   string `json:"status"`
		FeeCents int64  `json:"fee_cents"`
	}
	st.Eventually(t, faultWait, "all orders finalized", func() bool {
		st.Must(t, st.Call(t, "GET", p.url("alpha")+"/api/orders?limit=1000", nil), 200).JSON(t, &all)
		finalized := 0
		for _, o := range all {
			if o.Status == "finalized" {
				finalized++
			}
		}
		return finalized == orders
	})
	if len(all) != orders {
		t.Fatalf("alpha has %d orders, want %d (one per submitted cart)", len(all), orders)
	}
	var fees int64
	for _, o := range all {
		fees += o.FeeCents
	}
	var ledger struct {
		FeesCollectedCents int64 `json:"fees_collected_cents"`
		OrdersCharged      int64 `json:"orders_charged"`
	}
	st.Must(t, st.Call(t, "GET", p.url("charlie")+"/api/ledger", nil), 200).JSON(t, &ledger)
	if ledger.OrdersCharged != orders || ledger.FeesCollectedCents != fees {
		t.Fatalf("ledger %+v, want %d orders charged and %d fees (alpha's)", ledger, orders, fees)
	}
}

// submitOrder creates a cart and submits
// it, retrying while beta is down; a 409 means an earlier try got through.
func submitOrder(t *testing.T, p *processes, label string) {
	var cart struct{ GUID string }
	retry(t, label+" create", func() bool {
		r := st.Call(t, "POST", p.url("beta")+"/api/carts", nil)
		if r.Status == 201 {
			r.JSON(t, &cart)
		}
		return r.Status == 201
	})
	retry(t, label+" submit", func() bool {
		r := st.Call(t, "POST", p.url("beta")+"/api/carts/"+cart.GUID+"/submit", map[string]any{"product": label, "price_cents": 1000})
		return r.Status == 202 || r.Status == 409
	})
}

// retry runs try until it succeeds; it may run outside the test's
// goroutine, so it reports with Errorf rather than stopping the test.
func retry(t *testing.T, what string, try func() bool) {
	if !poll.Until(faultWait, 20*time.Millisecond, try) {
		t.Errorf("%s: gave up after %s", what, faultWait)
	}
}
