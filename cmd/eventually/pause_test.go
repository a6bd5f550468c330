package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"eventually/internal/pgtest"
	st "eventually/internal/systemtest"
	"eventually/pkg/stream"
)

// Two charlies share their schema on Postgres; one is paused (SIGSTOP)
// while orders arrive, past the broker's ack wait, then resumed. The
// broker redelivers what the paused one held, and the resumed one then
// works off its stale copies of messages handled meanwhile: every order
// is charged once, finalized once, and nothing is poisoned.
//
// It lasts the ack wait (stream.AckWait, 30 s, not configurable) and a
// little more: the paused charlie's messages are redelivered only then.
func TestPausedCharlieChargesNothingTwice(t *testing.T) {
	p := startProcesses(t, EnvDatabaseURL+"="+pgtest.Start(t), EnvAutoApprove+"=1")
	p.start("alpha")
	p.start("beta")
	p.startInstance("charlie-1", "charlie")
	p.startInstance("charlie-2", "charlie")

	paused := p.procs["charlie-2"].Process
	if err := paused.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			_ = paused.Signal(syscall.SIGCONT)
		}
	}
	t.Cleanup(resume)

	const orders = 20
	pausedAt := time.Now()
	for range orders {
		var c struct {
			GUID string `json:"guid"`
		}
		st.Must(t, st.Call(t, "POST", p.url("beta")+"/api/carts", nil), 201).JSON(t, &c)
		st.Must(t, st.Call(t, "POST", p.url("beta")+"/api/carts/"+c.GUID+"/submit",
			map[string]any{"product": "widget", "price_cents": 1000}), 202)
	}
	// Half the orders go to the paused charlie; the broker gives them out
	// again once the ack wait has passed.
	st.Eventually(t, stream.AckWait+30*time.Second, "a message of the paused charlie redelivered", func() bool {
		return redelivered(t, p.broker.URL(), "charlie", "order.approved") > 0
	})
	stall := time.Since(pausedAt)
	resume()
	stale := func() int {
		n := 0
		for _, key := range []string{"charlie-1", "charlie-2"} {
			log, _ := os.ReadFile(filepath.Join(p.dir, "logs", key, "charlie.log"))
			n += bytes.Count(log, []byte("message already processed"))
		}
		return n
	}
	finalized := func() int {
		var list []struct{ Status string }
		st.Must(t, st.Call(t, "GET", p.url("alpha")+"/api/orders", nil), 200).JSON(t, &list)
		n := 0
		for _, o := range list {
			if o.Status == "finalized" {
				n++
			}
		}
		return n
	}
	st.Eventually(t, stream.AckWait+30*time.Second, "every order finalized, and the stale copies dropped", func() bool {
		return finalized() == orders && stale() > 0
	})
	t.Logf("charlie-2 paused: a message redelivered %s after the pause (ack wait %s); %d stale copies dropped",
		stall.Round(100*time.Millisecond), stream.AckWait, stale())

	var charges []struct {
		OrderGUID string `json:"order_guid"`
	}
	st.Must(t, st.Call(t, "GET", p.url("charlie-1")+"/api/charges", nil), 200).JSON(t, &charges)
	seen := map[string]int{}
	for _, c := range charges {
		seen[c.OrderGUID]++
	}
	for order, n := range seen {
		if n != 1 {
			t.Errorf("order %s charged %d times", order, n)
		}
	}
	if len(seen) != orders {
		t.Errorf("%d orders charged, want %d", len(seen), orders)
	}
	for topic, want := range map[string]uint64{"order.charged": orders, "order.finalized": orders, "poison": 0} {
		if n := st.StreamCount(t, p.broker.URL(), topic); n != want {
			t.Errorf("%d %s messages, want %d", n, topic, want)
		}
	}
}

// redelivered is how many messages a service's durable consumer of a
// topic has given out again after their ack wait.
func redelivered(t *testing.T, brokerURL, service, topic string) int {
	t.Helper()
	consumers, err := stream.Consumers(context.Background(), brokerURL, service)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range consumers {
		if c.Topic == topic {
			return c.Redelivered
		}
	}
	t.Fatalf("%s has no consumer of %s", service, topic)
	return 0
}
