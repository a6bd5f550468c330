package load

import (
	"context"
	"os"
	"testing"
	"time"

	"eventually/internal/pgtest"
	"eventually/internal/systemtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// A small run through the real services (in this process) reports every
// order finalized once and the ledger balanced.
func TestLoadSmallRunHasNoLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole system")
	}
	report := runInProcess(t, Options{Orders: 20, Customers: 4, Changes: 5, Rebuild: true})
	if !report.OK() {
		t.Fatalf("problems: %q", report.Problems)
	}
	if report.Latency.Count != 20 || report.Messages < 80 || report.Rebuild.Messages < 80 {
		t.Errorf("want 20 latencies, ≥80 messages run and rebuilt; got %+v", report)
	}
}

// TestLoadLong is a full-size run with the services in this process, for
// profiling: EVENTUALLY_LONG=1 go test -run TestLoadLong -cpuprofile cpu.out
// (docs/performance.md).
func TestLoadLong(t *testing.T) {
	if os.Getenv("EVENTUALLY_LONG") == "" {
		t.Skip("set EVENTUALLY_LONG=1 (make bench)")
	}
	report := runInProcess(t, Options{Orders: 2000, Customers: 16, Rebuild: true})
	if err := report.WriteTable(os.Stdout); err != nil {
		t.Fatal(err)
	}
	if !report.OK() {
		t.Fatalf("problems: %q", report.Problems)
	}
}

// Two instances each of alpha, beta and charlie share their schemas on
// Postgres: every order is finalized once, charged once over the shared
// charges table, fees balance, and nothing is poisoned. The check reads
// every instance, so a charge seen twice would be reported.
func TestLoadOnPostgresWithTwoInstancesOfEach(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole system")
	}
	url := pgtest.Start(t)
	sys := systemtest.Start(t, systemtest.Options{Stage: 6, DatabaseURL: url, Instances: 2})
	report := runAgainst(t, sys, Options{Orders: 100, Customers: 8, Changes: 10})
	if !report.OK() {
		t.Fatalf("problems: %q", report.Problems)
	}
	if report.Latency.Count != 100 {
		t.Errorf("%d orders finalized, want 100", report.Latency.Count)
	}
	if n := sys.StreamCount("poison"); n != 0 {
		t.Errorf("%d messages poisoned", n)
	}
	t.Logf("2 instances each on Postgres: %.0f orders/s, p99 %.1f ms", report.OrdersPerSec, report.Latency.P99)
}

func runInProcess(t *testing.T, opts Options) Report {
	t.Helper()
	return runAgainst(t, systemtest.Start(t, systemtest.Options{Stage: 6}), opts)
}

// runAgainst drives a run against every instance of a running system.
func runAgainst(t *testing.T, sys *systemtest.System, opts Options) Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	targets := Targets{Alpha: sys.URL("alpha"), Beta: sys.URL("beta"), Charlie: sys.URL("charlie"), Broker: sys.BrokerURL(),
		More: map[string][]string{}}
	for _, name := range []string{"alpha", "beta", "charlie"} {
		for _, instance := range sys.Instances(name)[1:] {
			targets.More[name] = append(targets.More[name], sys.URL(instance))
		}
	}
	report, err := Run(ctx, targets, opts)
	if err != nil {
		t.Fatal(err)
	}
	return report
}
