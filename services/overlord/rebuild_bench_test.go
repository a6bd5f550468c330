package overlord_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"eventually/pkg/messaging"
	"eventually/services/overlord"
)

// BenchmarkRebuild measures a rebuild of b.N messages, published as the
// services publish them. Run it with e.g. -benchtime=200000x.
func BenchmarkRebuild(b *testing.B) {
	dir := b.TempDir()
	broker, err := messaging.StartBroker("127.0.0.1:0", filepath.Join(dir, "broker"))
	if err != nil {
		b.Fatal(err)
	}
	defer broker.Shutdown()
	publish(b, broker.URL(), b.N)

	b.ResetTimer()
	r, err := overlord.Rebuild(context.Background(), filepath.Join(dir, "data"), broker.URL())
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if r.Messages != b.N {
		b.Fatalf("rebuilt %d messages, want %d", r.Messages, b.N)
	}
	b.ReportMetric(r.PerSecond(), "msgs/s")
}

// publish puts n order.approved messages in the stream.
func publish(b *testing.B, url string, n int) {
	nc, err := nats.Connect(url)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, err := nc.JetStream(nats.PublishAsyncMaxPending(4096))
	if err != nil {
		b.Fatal(err)
	}
	if err := messaging.EnsureStream(js); err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for i := range n {
		msg := message.NewMessage(uuid.NewString(), fmt.Appendf(nil,
			`{"order_guid":"order-%08d","cart_guid":"cart-%08d","product":"widget","price_cents":1000,"fee_cents":2500,"discount_cents":0,"total_cents":3500,"settings_version":1000}`, i, i%1000))
		for k, v := range map[string]string{
			messaging.EventNameKey: "order.approved", messaging.EventVersionKey: "1", messaging.ProducerKey: "alpha",
			messaging.OccurredAtKey: now, messaging.CorrelationIDKey: fmt.Sprintf("load-%d", i/4), messaging.CausationIDKey: uuid.NewString(),
		} {
			msg.Metadata.Set(k, v)
		}
		nm, err := (&wmnats.NATSMarshaler{}).Marshal("order.approved", msg)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := js.PublishMsgAsync(nm); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(time.Minute):
		b.Fatal("publishing did not complete in a minute")
	}
}
