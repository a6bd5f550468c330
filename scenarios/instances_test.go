package scenarios

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"eventually/internal/pgtest"
	st "eventually/internal/systemtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// Two instances of every service share their schemas on Postgres. Ten
// settings changes sent at once, alternately to either alpha, make ten
// versions, none lost or given twice (alpha locks the row). Each
// settings.changed reaches one instance of beta and one of charlie (one
// durable consumer per service, shared by its instances), and each is
// applied once to the service's one copy.
func TestChangeEventsApplyOnceToTheSharedCopy(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 6, DatabaseURL: pgtest.Start(t), Instances: 2,
		Services: []string{"alpha", "beta", "charlie"}})
	const changes = 10
	alphas := s.Instances("alpha")
	var wg sync.WaitGroup
	for i := range changes {
		wg.Go(func() {
			body := fmt.Sprintf(`{"fee_cents": %d}`, 2000+i)
			req, _ := http.NewRequest("PUT", s.URL(alphas[i%len(alphas)])+"/api/settings", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("PUT settings: %d", resp.StatusCode)
			}
		})
	}
	wg.Wait()
	last := getSettings(t, s, "alpha")
	if last.Version != 1000+changes {
		t.Fatalf("alpha is at version %d after %d changes from 1000: a change was lost", last.Version, changes)
	}
	// The relays publish after the commit: wait for every change to be on
	// the stream (and one more would show as a version twice).
	st.Eventually(t, wait, "every change on the stream", func() bool {
		return s.StreamCount("settings.changed") >= changes
	})
	var versions []int64
	for _, m := range s.Messages("settings.changed") {
		versions = append(versions, int64(m.Payload["version"].(float64)))
	}
	slices.Sort(versions)
	if want := []int64{1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009, 1010}; !slices.Equal(versions, want) {
		t.Fatalf("settings.changed versions %v, want each of %v once", versions, want)
	}
	copies := append(s.Instances("beta"), s.Instances("charlie")...)
	st.Eventually(t, wait, "every instance's copy at the last version", func() bool {
		for _, c := range copies {
			if getSettings(t, s, c).Version != last.Version {
				return false
			}
		}
		return true
	})
	for _, service := range []string{"beta", "charlie"} {
		topics := s.ConsumerTopics(service)
		if len(slices.Compact(slices.Sorted(slices.Values(topics)))) != len(topics) {
			t.Errorf("%s's consumers %v: want one per topic, shared by its instances", service, topics)
		}
		if n := s.Processed(service, service+" on settings.changed"); n != changes {
			t.Errorf("%s's inbox has %d settings.changed, want %d", service, n, changes)
		}
	}
	// Delivered once each: no instance was handed one the other had.
	for _, instance := range copies {
		log, err := os.ReadFile(filepath.Join(s.LogDir, instance+".log"))
		if err != nil {
			t.Fatal(err)
		}
		if n := bytes.Count(log, []byte("message already processed")); n > 0 {
			t.Errorf("%s was handed %d messages already processed", instance, n)
		}
	}
}

// Two charlie instances get the same approved order in several messages
// at once (a redelivery, a replay under a new ID): the order is charged
// once in the shared charges table, order.charged is published once, and
// no message is poisoned: the second attempt is a duplicate, not an error.
func TestAnOrderIsChargedOnceWhateverArrivesTwice(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 6, DatabaseURL: pgtest.Start(t), Instances: 2, Services: []string{"charlie"}})
	const orders, copies = 20, 3
	for i := range orders {
		approved := map[string]any{"order_guid": fmt.Sprintf("order-twice-%d", i), "cart_guid": fmt.Sprintf("cart-twice-%d", i),
			"product": "widget", "price_cents": 1000, "fee_cents": 2500, "total_cents": 3500, "settings_version": 1000}
		meta := st.Metadata("order.approved", "alpha", fmt.Sprintf("twice-%d", i))
		for range copies {
			s.PublishRaw("order.approved", approved, meta, true)
		}
	}
	st.Eventually(t, wait, "every copy handled", func() bool {
		return s.Processed("charlie", "charlie on order.approved") == orders*copies && s.Settled("charlie")
	})
	var charges []charge
	st.Must(t, st.Call(t, "GET", s.URL("charlie")+"/api/charges?limit=1000", nil), 200).JSON(t, &charges)
	perOrder := map[string]int{}
	for _, c := range charges {
		perOrder[c.OrderGUID]++
	}
	if len(perOrder) != orders {
		t.Errorf("%d orders charged, want %d", len(perOrder), orders)
	}
	for order, n := range perOrder {
		if n != 1 {
			t.Errorf("%s charged %d times", order, n)
		}
	}
	if n := s.StreamCount("order.charged"); n != orders {
		t.Errorf("%d order.charged published, want %d", n, orders)
	}
	if n := s.StreamCount("poison"); n != 0 {
		t.Errorf("%d messages poisoned", n)
	}
}

// Two alphas hold charged orders for review, and the review timers of
// both pass them a second later: each order is finalized once, by one of
// the timers, however the two run into each other.
func TestReviewTimersOfTwoAlphasFinalizeEachOrderOnce(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 6, DatabaseURL: pgtest.Start(t), Instances: 2, AutoApprove: true,
		Services: []string{"alpha", "beta", "charlie"}})
	for _, alpha := range s.Instances("alpha") {
		st.Must(t, st.Call(t, "PUT", s.URL(alpha)+"/api/review", map[string]any{"enabled": true, "pass_after_seconds": 1}), 200)
	}
	const count = 12
	betas := s.Instances("beta")
	for i := range count {
		var c cart
		beta := s.URL(betas[i%len(betas)])
		st.Must(t, st.Call(t, "POST", beta+"/api/carts", nil), 201).JSON(t, &c)
		st.Must(t, st.Call(t, "POST", beta+"/api/carts/"+c.GUID+"/submit", map[string]any{"product": "widget", "price_cents": 1000}), 202)
	}
	var list []order
	st.Eventually(t, 3*wait, "every order passed its review, and announced", func() bool {
		list = orders(t, s)
		done := 0
		for _, o := range list {
			if o.Status == "finalized" {
				done++
			}
		}
		return done == count && s.StreamCount("order.finalized") >= count
	})
	finalized := map[string]int{}
	for _, m := range s.Messages("order.finalized") {
		finalized[m.Payload["order_guid"].(string)]++
	}
	for _, o := range list {
		if finalized[o.GUID] != 1 {
			t.Errorf("order %s: %d order.finalized, want 1", o.GUID, finalized[o.GUID])
		}
	}
}

// Overlord shows which instance produced each message, and so which
// instance handled the step before: here beta-2 captured the order.
func TestOverlordShowsTheInstance(t *testing.T) {
	s := st.Start(t, st.Options{Stage: 6, DatabaseURL: pgtest.Start(t), Instances: 2,
		Services: []string{"beta", "overlord"}})
	var c cart
	st.Must(t, st.Call(t, "POST", s.URL("beta-2")+"/api/carts", nil), 201).JSON(t, &c)
	st.Must(t, st.Call(t, "POST", s.URL("beta-2")+"/api/carts/"+c.GUID+"/submit",
		map[string]any{"product": "widget", "price_cents": 1000}), 202)
	var msgs []struct {
		Instance string
		CartGUID string `json:"cart_guid"`
	}
	st.Eventually(t, wait, "overlord to store the order.captured", func() bool {
		st.Must(t, st.Call(t, "GET", s.URL("overlord")+"/api/messages?event_name=order.captured", nil), 200).JSON(t, &msgs)
		return len(msgs) == 1
	})
	if msgs[0].Instance != "beta-2" || msgs[0].CartGUID != c.GUID {
		t.Fatalf("overlord shows %+v, want the cart %s from instance beta-2", msgs[0], c.GUID)
	}
	page := st.Must(t, st.Call(t, "GET", s.URL("overlord")+"/", nil), 200)
	if !strings.Contains(string(page.Body), "beta-2") {
		t.Error("overlord's message list does not name the instance beta-2")
	}
}
