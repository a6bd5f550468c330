package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"eventually/internal/load"
	"eventually/internal/natscluster"
	"eventually/internal/pgtest"
)

// `eventually load --nats <the cluster's servers>` runs its services on a
// three-node cluster, the stream kept by all three, and prints orders/s
// and the p99 with a clean self-check. With --instances 2 on SQLite the
// second instance refuses to start, and load says so.
func TestLoadOnACluster(t *testing.T) {
	bin := binary(t)
	cluster := natscluster.Start(t)
	out, err := runLoad(t, bin, cluster.URL(), 3, "-n", "60", "-c", "4", "--changes", "-1", "--rebuild=false")
	if err != nil {
		t.Fatalf("load on the cluster: %v\n%s", err, out)
	}
	for _, want := range []string{"orders/s end to end", "p99", "every order finalized exactly once"} {
		if !strings.Contains(out, want) {
			t.Errorf("load printed no %q:\n%s", want, out)
		}
	}

	out, err = runLoad(t, bin, cluster.URL(), 3, "-n", "10", "--changes", "-1", "--rebuild=false", "--instances", "2")
	if err == nil || !strings.Contains(out, "runs on this broker") {
		t.Fatalf("two instances on SQLite: want a refusal that says why, got %v:\n%s", err, out)
	}
}

// runLoad runs the load command on the broker at url with the stream's
// replicas, and returns what it printed.
func runLoad(t *testing.T, bin, url string, replicas int, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"load", "--nats", url}, args...)...)
	cmd.Env = append(os.Environ(), EnvStreamReplicas+"="+strconv.Itoa(replicas))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// TestLoadFigures prints the figures of docs/production.md: one instance
// of each service on the embedded broker, on a three-node cluster with
// the stream on one node (R1), and on all three (R3), in one run so the
// ratios compare like with like. It runs only when asked:
//
//	EVENTUALLY_LOAD_FIGURES=2000 go test -run TestLoadFigures -v ./cmd/eventually
func TestLoadFigures(t *testing.T) {
	n := os.Getenv("EVENTUALLY_LOAD_FIGURES")
	if n == "" {
		t.Skip("set EVENTUALLY_LOAD_FIGURES=<orders> to measure")
	}
	bin := binary(t)
	args := []string{"-n", n, "-c", "16", "--changes", "-1", "--rebuild=false", "--json"}
	measure := func(name, url string, replicas int) load.Report {
		if url == "" {
			return loadReport(t, bin, name, nil, append([]string{"load"}, args...)...)
		}
		return loadReport(t, bin, name, []string{EnvStreamReplicas + "=" + strconv.Itoa(replicas)},
			append([]string{"load", "--nats", url}, args...)...)
	}
	base := measure("embedded", "", 1)
	rows := []struct {
		name string
		r    load.Report
	}{{"embedded, one server", base}}
	for _, replicas := range []int{1, 3} {
		cluster := natscluster.Start(t)
		name := "three-node cluster, R" + strconv.Itoa(replicas)
		rows = append(rows, struct {
			name string
			r    load.Report
		}{name, measure(name, cluster.URL(), replicas)})
	}
	for _, row := range rows {
		t.Logf("%-28s %6.0f orders/s (%.2f of embedded)  p50 %6.1f ms  p99 %6.1f ms  raw transport %6.0f msg/s  problems %d",
			row.name, row.r.OrdersPerSec, row.r.OrdersPerSec/base.OrdersPerSec, row.r.Latency.P50, row.r.Latency.P99,
			row.r.Transport.PerSec, len(row.r.Problems))
	}
}

// TestLoadFiguresInstances measures one and two instances of alpha, beta
// and charlie on Postgres, with the stream R3 on a three-node cluster:
// the production shape of docs/production.md. It runs only when asked:
//
//	EVENTUALLY_LOAD_FIGURES=2000 go test -run TestLoadFiguresInstances -v ./cmd/eventually
func TestLoadFiguresInstances(t *testing.T) {
	n := os.Getenv("EVENTUALLY_LOAD_FIGURES")
	if n == "" {
		t.Skip("set EVENTUALLY_LOAD_FIGURES=<orders> to measure")
	}
	bin := binary(t)
	var base load.Report
	for _, instances := range []int{1, 2} {
		cluster := natscluster.Start(t)
		name := strconv.Itoa(instances) + " instance(s) of each, Postgres, R3"
		r := loadReport(t, bin, name, []string{EnvStreamReplicas + "=3", EnvDatabaseURL + "=" + pgtest.Start(t)},
			"load", "--nats", cluster.URL(), "--instances", strconv.Itoa(instances),
			"-n", n, "-c", "16", "--changes", "-1", "--rebuild=false", "--json")
		if instances == 1 {
			base = r
		}
		t.Logf("%-36s %6.0f orders/s (%.2f of one)  p50 %6.1f ms  p99 %6.1f ms  problems %d %v",
			name, r.OrdersPerSec, r.OrdersPerSec/base.OrdersPerSec, r.Latency.P50, r.Latency.P99, len(r.Problems), r.Problems)
	}
}

// loadReport runs the built binary with args (a load run with --json)
// and returns its report.
func loadReport(t *testing.T, bin, name string, env []string, args ...string) load.Report {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", name, err, out)
	}
	var r load.Report
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, out)
	}
	return r
}
