package load

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// Report is the figures of one run.
type Report struct {
	Orders    int     `json:"orders"`
	Customers int     `json:"customers"`
	Rate      float64 `json:"target_rate_per_s,omitempty"` // 0: as fast as the system goes

	Seconds        float64     `json:"seconds"` // first submit to last order.finalized
	OrdersPerSec   float64     `json:"orders_per_s"`
	Messages       int         `json:"messages"` // published to the stream during the order phase
	MessagesPerSec float64     `json:"messages_per_s"`
	Latency        Percentiles `json:"submit_to_finalized"`
	Retries        int         `json:"submit_retries"` // 409 while beta reopened the cart
	// CPUPerOrderMs is the CPU time of the services, the broker and this
	// driver per order: unlike the rates, it hardly depends on what else
	// the machine runs.
	CPUPerOrderMs map[string]float64 `json:"cpu_per_order_ms"` // by process

	Propagation Percentiles `json:"settings_propagation"`

	Transport struct {
		Messages     int     `json:"messages"`
		PayloadBytes int     `json:"payload_bytes"`
		Publishers   int     `json:"publishers"`
		PerSec       float64 `json:"messages_per_s"`
		Ratio        float64 `json:"system_ratio"` // system messages/s over this
	} `json:"raw_transport"`

	// Of the services' own processes (Options.Processes), when they run
	// apart; the time to healthy is filled by the caller that started them.
	StartToHealthyMs float64            `json:"start_to_healthy_ms,omitempty"`
	PeakRSSMB        map[string]float64 `json:"peak_rss_mb,omitempty"` // at the end of the order phase

	Rebuild      Rebuild `json:"overlord_rebuild"`
	LargeRebuild Rebuild `json:"overlord_large_rebuild"` // from copies, with --rebuild-size

	Problems []string `json:"problems"`
}

// Rebuild is how long overlord took to rebuild its store from a stream.
type Rebuild struct {
	Messages int     `json:"messages"`
	Seconds  float64 `json:"seconds"`
	PerSec   float64 `json:"messages_per_s"`
}

// OK says the run lost and duplicated nothing.
func (r Report) OK() bool { return len(r.Problems) == 0 }

// WriteJSON writes the report as one JSON object.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes the report as the table docs/performance.md shows.
func (r Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(name, format string, args ...any) {
		fmt.Fprintf(tw, "%s\t%s\n", name, fmt.Sprintf(format, args...))
	}
	rate := "as fast as it goes"
	if r.Rate > 0 {
		rate = fmt.Sprintf("paced at %.0f/s", r.Rate)
	}
	row("orders", "%d from %d customers, %s", r.Orders, r.Customers, rate)
	row("orders/s end to end", "%.0f  (%.2f s first submit to last order.finalized)", r.OrdersPerSec, r.Seconds)
	row("messages/s", "%.0f  (%d messages published)", r.MessagesPerSec, r.Messages)
	row("CPU per order", "%s", perProcess(r.CPUPerOrderMs, "%.2f ms", true))
	row("submit → finalized", "p50 %.1f ms  p95 %.1f ms  p99 %.1f ms  max %.1f ms", r.Latency.P50, r.Latency.P95, r.Latency.P99, r.Latency.Max)
	if r.Propagation.Count > 0 {
		row("settings propagation", "p50 %.1f ms  p99 %.1f ms  max %.1f ms  (%d changes)", r.Propagation.P50, r.Propagation.P99, r.Propagation.Max, r.Propagation.Count)
	}
	row("raw transport", "%.0f messages/s  (%d × %d B, %d publishers, 1 consumer)", r.Transport.PerSec, r.Transport.Messages, r.Transport.PayloadBytes, r.Transport.Publishers)
	row("system / raw transport", "%.0f%%", 100*r.Transport.Ratio)
	if r.StartToHealthyMs > 0 {
		row("start to all healthy", "%.0f ms", r.StartToHealthyMs)
	}
	if len(r.PeakRSSMB) > 0 {
		row("peak RSS", "%s", perProcess(r.PeakRSSMB, "%.1f MB", false))
	}
	if r.Rebuild.Messages > 0 {
		row("overlord rebuild", "%d messages in %.2f s  (%.0f messages/s)", r.Rebuild.Messages, r.Rebuild.Seconds, r.Rebuild.PerSec)
	}
	if r.LargeRebuild.Messages > 0 {
		row("overlord rebuild, copies", "%d messages in %.2f s  (%.0f messages/s)", r.LargeRebuild.Messages, r.LargeRebuild.Seconds, r.LargeRebuild.PerSec)
	}
	if r.OK() {
		row("check", "every order finalized exactly once, charged once, fees balance")
	} else {
		row("check", "FAILED: %d problems", len(r.Problems))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, p := range r.Problems {
		fmt.Fprintln(w, "  !", p)
	}
	return nil
}

// perProcess is "name figure" for each process, sorted by name, with the
// total first when withTotal.
func perProcess(figures map[string]float64, format string, withTotal bool) string {
	names := make([]string, 0, len(figures))
	var total float64
	for n, v := range figures {
		names = append(names, n)
		total += v
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names)+1)
	if withTotal {
		parts = append(parts, fmt.Sprintf(format+" in all:", total))
	}
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s "+format, n, figures[n]))
	}
	return strings.Join(parts, "  ")
}
