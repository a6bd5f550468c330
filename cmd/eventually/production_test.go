package main

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"eventually/internal/load"
	"eventually/internal/natscluster"
	"eventually/internal/pgtest"
	st "eventually/internal/systemtest"
	"eventually/pkg/events"
	"eventually/pkg/stream"
)

// Beyond one machine, as docs/production.md describes it: two instances
// each of alpha, beta and charlie as processes on one Postgres, the stream
// kept by three clustered NATS servers. Mid-run the server that leads the
// stream and one charlie are killed (SIGKILL): every order is finalized
// once, charged once over both charlies, the fees balance, nothing is
// poisoned. The test reports the stall.
func TestOrdersSurviveALostServerAndALostInstance(t *testing.T) {
	db := pgtest.Start(t)
	cluster := natscluster.Start(t)
	p := startProcessesOn(t, t.TempDir(), cluster.URL(),
		EnvDatabaseURL+"="+db, EnvAutoApprove+"=1", EnvStreamReplicas+"=3")
	for _, name := range []string{"alpha", "beta", "charlie"} {
		p.start(name)
		p.startInstance(name+"-2", name)
	}

	const orders = 300
	finalized := watchFinalized(t, cluster.URL())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	done := load.Start(ctx, load.Targets{
		Alpha: p.url("alpha"), Beta: p.url("beta"), Charlie: p.url("charlie"), Broker: cluster.URL(),
		// Not charlie-2, killed mid-run: charlie reads the shared schema.
		More: map[string][]string{"alpha": {p.url("alpha-2")}, "beta": {p.url("beta-2")}},
	}, load.Options{Orders: orders, Customers: 8, Changes: -1, Timeout: 2 * time.Minute})

	st.Eventually(t, 2*time.Minute, "a third of the orders finalized", func() bool { return finalized.count() >= orders/3 })
	leader := cluster.WaitStreamLeader(stream.Name)
	cluster.Kill(leader)
	p.kill9("charlie-2")
	killed := time.Now()
	t.Logf("killed node %d (the stream's leader) and charlie-2 after %d orders finalized", leader, finalized.count())

	res := <-done
	if res.Err != nil {
		t.Fatalf("load: %v", res.Err)
	}
	for _, problem := range res.Report.Problems { // once each, one charge each, fees balance
		t.Error(problem)
	}
	if n := finalized.count(); n != orders {
		t.Errorf("%d order.finalized on the stream, want %d", n, orders)
	}
	poisoned, err := stream.Count(context.Background(), cluster.URL(), stream.PoisonTopic)
	if err != nil || poisoned != 0 {
		t.Errorf("%d messages poisoned (%v), want none", poisoned, err)
	}
	gap, after := finalized.longestGapAfter(killed)
	t.Logf("%d orders at %.0f orders/s, p99 %.0f ms; after the kills the first order was finalized %s later; "+
		"the longest gap between finalized orders: %s", orders, res.Report.OrdersPerSec, res.Report.Latency.P99,
		after.Round(10*time.Millisecond), gap.Round(10*time.Millisecond))
}

// finalizedOrders are the order.finalized messages on the stream, with the
// time each was seen.
type finalizedOrders struct {
	mu    sync.Mutex
	seen  map[string]bool
	times []time.Time
}

// watchFinalized follows order.finalized on the broker until the test
// ends. A message is counted once by its ID; an order finalized twice
// would be two.
func watchFinalized(t *testing.T, brokerURL string) *finalizedOrders {
	t.Helper()
	f := &finalizedOrders{seen: map[string]bool{}}
	stop, err := stream.Tail(context.Background(), brokerURL, []string{events.NameOrderFinalized}, func(m stream.Message) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if !f.seen[m.UUID] {
			f.seen[m.UUID] = true
			f.times = append(f.times, time.Now())
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return f
}

func (f *finalizedOrders) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.seen)
}

// longestGapAfter is the longest time without a newly finalized order
// from since on, and how long after since the first one came.
func (f *finalizedOrders) longestGapAfter(since time.Time) (gap, first time.Duration) {
	f.mu.Lock()
	times := slices.Clone(f.times)
	f.mu.Unlock()
	prev := since
	for _, ts := range times {
		if ts.Before(since) {
			continue
		}
		if first == 0 {
			first = ts.Sub(since)
		}
		gap = max(gap, ts.Sub(prev))
		prev = ts
	}
	return gap, first
}
