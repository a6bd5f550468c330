package overlord_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"eventually/pkg/broker"
	"eventually/pkg/messaging"
	"eventually/pkg/stream"
	"eventually/services/overlord"
)

// BenchmarkRebuild measures a rebuild of b.N messages, published as the
// services publish them. Run it with e.g. -benchtime=200000x.
func BenchmarkRebuild(b *testing.B) {
	dir := b.TempDir()
	brk, err := broker.Start("127.0.0.1:0", filepath.Join(dir, "broker"))
	if err != nil {
		b.Fatal(err)
	}
	defer brk.Shutdown()
	publish(b, brk.URL(), b.N)

	b.ResetTimer()
	cpu := cpuTime(b)
	r, err := overlord.Rebuild(context.Background(), filepath.Join(dir, "data"), brk.URL())
	cpu = cpuTime(b) - cpu
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if r.Messages != b.N {
		b.Fatalf("rebuilt %d messages, want %d", r.Messages, b.N)
	}
	b.ReportMetric(r.PerSecond(), "msgs/s")
	// The process's CPU, the broker's included: steadier than the time on
	// a machine shared with other work.
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/msg")
}

// cpuTime is the CPU time the process has used so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// publish puts n order.approved messages in the stream.
func publish(b testing.TB, url string, n int) {
	nc, err := stream.Connect(url, "bench")
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	if err := stream.Ensure(context.Background(), nc, stream.Limits{}); err != nil {
		b.Fatal(err)
	}
	w, err := stream.NewWriter(nc, 1024)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for start := 0; start < n; start += 1024 {
		batch := make([]stream.Message, min(1024, n-start))
		for j := range batch {
			i := start + j
			batch[j] = stream.Message{UUID: uuid.NewString(), Topic: "order.approved", Payload: fmt.Appendf(nil,
				`{"order_guid":"order-%08d","cart_guid":"cart-%08d","product":"widget","price_cents":1000,"fee_cents":2500,"discount_cents":0,"total_cents":3500,"settings_version":1000}`, i, i%1000),
				Metadata: map[string]string{
					messaging.EventNameKey: "order.approved", messaging.EventVersionKey: "1", messaging.ProducerKey: "alpha",
					messaging.OccurredAtKey: now, messaging.CorrelationIDKey: fmt.Sprintf("load-%d", i/4), messaging.CausationIDKey: uuid.NewString(),
				}}
		}
		if err := errors.Join(w.Write(context.Background(), batch)...); err != nil {
			b.Fatal(err)
		}
	}
}
