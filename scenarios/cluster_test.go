package scenarios

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"eventually/internal/load"
	"eventually/internal/natscluster"
	st "eventually/internal/systemtest"
	"eventually/pkg/events"
	"eventually/pkg/stream"
)

// On a cluster, a stream kept by one node has no leader while that node
// is down: no service can publish to it or consume from it, and /readyz
// says so (503, with the reason) until the node is back.
func TestReadyzWhileTheStreamHasNoLeader(t *testing.T) {
	cluster := natscluster.Start(t)
	s := st.Start(t, st.Options{Stage: 5, Services: []string{"beta"}, BrokerURL: cluster.URL(), Stream: stream.Limits{Replicas: 1}})
	leader := cluster.WaitStreamLeader(stream.Name)
	cluster.Kill(leader)
	var body string
	st.Eventually(t, 10*time.Second, "beta /readyz 503", func() bool {
		r := st.Call(t, "GET", s.URL("beta")+"/readyz", nil)
		body = string(r.Body)
		return r.Status == http.StatusServiceUnavailable
	})
	t.Logf("while the stream has no leader: %s", body)
	if !strings.Contains(body, "no leader answers") {
		t.Errorf("/readyz says %s, want the reason: the stream has no leader", body)
	}
	st.Must(t, st.Call(t, "GET", s.URL("beta")+"/healthz", nil), 200)
	cluster.Restart(leader)
	waitReadyz(t, s, "beta", http.StatusOK)
}

// The whole system on a three-node cluster with the stream kept by all
// three (EVENTUALLY_STREAM_REPLICAS=3): the node that leads the stream is
// killed mid-run. The orders stall while the others elect a leader, then
// go on: every order is finalized exactly once, charged once, the fees
// balance, and nothing is poisoned. The test logs the stall.
func TestOrdersSurviveTheStreamLeadersDeath(t *testing.T) {
	cluster := natscluster.Start(t)
	s := st.Start(t, st.Options{Stage: 5, BrokerURL: cluster.URL(), Stream: stream.Limits{Replicas: 3}})
	const orders = 150
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	done := load.Start(ctx, load.Targets{Alpha: s.URL("alpha"), Beta: s.URL("beta"), Charlie: s.URL("charlie"), Broker: cluster.URL()},
		load.Options{Orders: orders, Customers: 8, Changes: -1, Timeout: time.Minute})

	var before uint64
	st.Eventually(t, time.Minute, "a third of the orders finalized", func() bool {
		before = s.StreamCount(events.NameOrderFinalized)
		return before >= orders/3
	})
	leader := cluster.WaitStreamLeader(stream.Name)
	cluster.Kill(leader)
	killed := time.Now()
	t.Logf("killed node %d, the stream's leader, after about %d orders", leader, before)
	watching, notReady := watchReadiness(s.URL("alpha"))

	res := <-done
	close(watching)
	t.Logf("alpha's /readyz after the kill: %s", <-notReady)
	if res.Err != nil {
		t.Fatalf("load: %v", res.Err)
	}
	for _, p := range res.Report.Problems {
		t.Error(p)
	}
	if n := s.StreamCount(stream.PoisonTopic); n != 0 {
		t.Errorf("%d messages poisoned, want none", n)
	}
	finalized := finalizedTimes(t, s.Messages(events.NameOrderFinalized))
	stall, at := longestGap(finalized)
	t.Logf("%d orders at %.1f orders/s, p99 %.0f ms, max %.0f ms; from the kill to the next order finalized: %s; "+
		"the longest gap between finalized orders: %s (at order %d)", orders, res.Report.OrdersPerSec, res.Report.Latency.P99,
		res.Report.Latency.Max, firstAfter(finalized, killed).Sub(killed).Round(10*time.Millisecond), stall.Round(10*time.Millisecond), at)
	for _, name := range st.AllServices {
		waitReadyz(t, s, name, http.StatusOK)
	}
}

// finalizedTimes are the times alpha committed each order.finalized
// (occurred_at), in order.
func finalizedTimes(t *testing.T, finalized []st.Message) []time.Time {
	t.Helper()
	var times []time.Time
	for _, m := range finalized {
		ts, err := time.Parse(time.RFC3339Nano, m.Metadata["occurred_at"])
		if err != nil {
			t.Fatalf("order.finalized %s: occurred_at: %v", m.UUID, err)
		}
		times = append(times, ts)
	}
	slices.SortFunc(times, time.Time.Compare)
	return times
}

// longestGap is the longest time between two consecutive times, and the
// position of the one after it.
func longestGap(times []time.Time) (gap time.Duration, at int) {
	for i := 1; i < len(times); i++ {
		if d := times[i].Sub(times[i-1]); d > gap {
			gap, at = d, i
		}
	}
	return gap, at
}

// firstAfter is the first of times (in order) after t, or t.
func firstAfter(times []time.Time, t time.Time) time.Time {
	for _, ts := range times {
		if ts.After(t) {
			return ts
		}
	}
	return t
}

// watchReadiness asks a service's /readyz every 100 ms until stop is
// closed, then says how long it answered anything but 200, and why.
func watchReadiness(serviceURL string) (stop chan struct{}, said <-chan string) {
	stop = make(chan struct{})
	out := make(chan string, 1)
	go func() {
		client := http.Client{Timeout: time.Second}
		var down time.Duration
		reasons := map[string]bool{}
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for last := time.Now(); ; {
			select {
			case <-stop:
				out <- fmt.Sprintf("not ready for %s in all, saying %q", down.Round(100*time.Millisecond), slices.Sorted(maps.Keys(reasons)))
				return
			case now := <-tick.C:
				resp, err := client.Get(serviceURL + "/readyz")
				switch {
				case err != nil:
					reasons[err.Error()] = true
					down += now.Sub(last)
				case resp.StatusCode != http.StatusOK:
					var r struct{ Reason string }
					_ = json.NewDecoder(resp.Body).Decode(&r)
					reasons[r.Reason] = true
					down += now.Sub(last)
				}
				if resp != nil {
					resp.Body.Close()
				}
				last = now
			}
		}
	}()
	return stop, out
}
