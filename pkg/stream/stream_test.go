package stream

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"eventually/pkg/broker"
)

// The stream is created with the defaults, and an existing stream is
// brought to new limits at the next start, its messages kept.
func TestEnsureAppliesAndUpdatesLimits(t *testing.T) {
	nc := embeddedBroker(t)
	ctx := context.Background()
	config := func() nats.StreamConfig {
		js, _ := nc.JetStream()
		info, err := js.StreamInfo(Name)
		if err != nil {
			t.Fatal(err)
		}
		return info.Config
	}
	if err := Ensure(ctx, nc, Limits{}); err != nil {
		t.Fatal(err)
	}
	if c := config(); c.Replicas != 1 || c.MaxAge != 30*24*time.Hour || c.MaxBytes != 1<<30 {
		t.Fatalf("created with replicas %d, max age %v, max bytes %d: want the defaults", c.Replicas, c.MaxAge, c.MaxBytes)
	}
	if err := PublishRaw(ctx, nc.ConnectedUrl(), PoisonTopic, nil, []byte("kept")); err != nil {
		t.Fatal(err)
	}
	if err := Ensure(ctx, nc, Limits{MaxAge: time.Hour, MaxBytes: 64 << 20}); err != nil {
		t.Fatal(err)
	}
	if c := config(); c.MaxAge != time.Hour || c.MaxBytes != 64<<20 {
		t.Fatalf("updated to max age %v, max bytes %d: want 1h and 64 MiB", c.MaxAge, c.MaxBytes)
	}
	if n, err := Count(ctx, nc.ConnectedUrl(), PoisonTopic); err != nil || n != 1 {
		t.Fatalf("after the update the stream holds %d messages (%v), want the one it had", n, err)
	}
}

// embeddedBroker starts an embedded broker for the test and connects to it.
func embeddedBroker(t *testing.T) *nats.Conn {
	t.Helper()
	b, err := broker.Start("127.0.0.1:0", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Shutdown)
	nc, err := Connect(b.URL(), "test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// streamOnBroker starts an embedded broker with the stream created, and
// connects to it.
func streamOnBroker(t *testing.T) *nats.Conn {
	t.Helper()
	nc := embeddedBroker(t)
	if err := Ensure(context.Background(), nc, Limits{}); err != nil {
		t.Fatal(err)
	}
	return nc
}

// A broker whose JetStream is off (nats-server turns it off when its
// store is out of resources) is not usable, and Check says so.
func TestCheckTellsJetStreamIsOff(t *testing.T) {
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	defer srv.Shutdown()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	nc, err := Connect(srv.ClientURL(), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if err := Check(context.Background(), nc); err == nil {
		t.Fatal("Check found a broker without JetStream usable")
	} else {
		t.Logf("not usable: %v", err)
	}
}
