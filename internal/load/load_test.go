package load

import (
	"context"
	"os"
	"testing"
	"time"

	"eventually/internal/systemtest"
)

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

func runInProcess(t *testing.T, opts Options) Report {
	t.Helper()
	sys := systemtest.Start(t, systemtest.Options{Stage: 6})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	targets := Targets{Alpha: sys.URL("alpha"), Beta: sys.URL("beta"), Charlie: sys.URL("charlie"), Broker: sys.BrokerURL()}
	report, err := Run(ctx, targets, opts)
	if err != nil {
		t.Fatal(err)
	}
	return report
}
