package stream

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"eventually/internal/natscluster"
	"eventually/internal/poll"
)

// On a three-node cluster, Replicas: 3 makes a stream that three nodes
// keep, both when Ensure creates it and when it raises a stream first
// created with one replica (the update at the next start); the messages
// are kept.
func TestEnsureReplicatesOnACluster(t *testing.T) {
	cluster := natscluster.Start(t)
	nc, err := Connect(cluster.URL(), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	if err := Ensure(ctx, nc, Limits{Replicas: 1}); err != nil {
		t.Fatal(err)
	}
	waitReplicas(t, nc, 1)
	durable := DurableName("beta", "settings.changed")
	if _, err := EnsureConsumer(ctx, nc, Name, durable, "settings.changed", 5); err != nil {
		t.Fatal(err)
	}
	js, _ := nc.JetStream()
	if _, err := js.Publish("settings.changed", []byte("{}"), nats.Context(ctx)); err != nil {
		t.Fatal(err)
	}

	if err := Ensure(ctx, nc, Limits{Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	info := waitReplicas(t, nc, 3)
	if info.State.Msgs != 1 {
		t.Errorf("after the update the stream holds %d messages, want the 1 it had", info.State.Msgs)
	}
	// A durable consumer takes the stream's replicas, also when they change.
	if !poll.Until(15*time.Second, 50*time.Millisecond, func() bool {
		c, err := js.ConsumerInfo(Name, durable)
		return err == nil && c.Cluster != nil && len(c.Cluster.Replicas) == 2
	}) {
		c, err := js.ConsumerInfo(Name, durable)
		t.Fatalf("consumer %s after the stream went to 3 replicas: %+v (%v)", durable, c, err)
	}

	if err := js.DeleteStream(Name, nats.Context(ctx)); err != nil {
		t.Fatal(err)
	}
	if err := Ensure(ctx, nc, Limits{Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	waitReplicas(t, nc, 3)
}

// waitReplicas waits until the stream is configured with want replicas
// and has a leader and want-1 current followers on distinct nodes.
func waitReplicas(t *testing.T, nc *nats.Conn, want int) *nats.StreamInfo {
	t.Helper()
	js, _ := nc.JetStream()
	var info *nats.StreamInfo
	ok := poll.Until(15*time.Second, 50*time.Millisecond, func() bool {
		var err error
		if info, err = js.StreamInfo(Name); err != nil || info.Cluster == nil || info.Cluster.Leader == "" {
			return false
		}
		current := 0
		for _, p := range info.Cluster.Replicas {
			if p.Current && p.Name != info.Cluster.Leader {
				current++
			}
		}
		return info.Config.Replicas == want && current == want-1
	})
	if !ok {
		t.Fatalf("stream %s: want %d replicas, leader and current followers; got %+v", Name, want, describe(info))
	}
	return info
}

func describe(info *nats.StreamInfo) any {
	if info == nil {
		return "no stream info"
	}
	return struct {
		Replicas int
		Cluster  *nats.ClusterInfo
	}{info.Config.Replicas, info.Cluster}
}
