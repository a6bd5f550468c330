package natscluster

import (
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"eventually/internal/poll"
)

// A client on URL() creates an R3 stream; killing the node that leads it
// moves the leadership to another node and the stream takes messages
// again; the killed node comes back and catches up.
func TestKillTheStreamLeader(t *testing.T) {
	c := Start(t)
	if got := strings.Count(c.URL(), ","); got != Size-1 {
		t.Fatalf("URL %q: want %d servers", c.URL(), Size)
	}
	nc, err := nats.Connect(c.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := nc.JetStream(nats.MaxWait(2 * time.Second))
	if _, err := js.AddStream(&nats.StreamConfig{Name: "T", Subjects: []string{"t"}, Replicas: Size}); err != nil {
		t.Fatal(err)
	}
	publish := func() bool { _, err := js.Publish("t", []byte("x")); return err == nil }

	leader := c.WaitStreamLeader("T")
	if !publish() {
		t.Fatal("publish before the kill")
	}
	c.Kill(leader)
	next := c.WaitStreamLeader("T")
	if next == leader {
		t.Fatalf("the killed node %d still leads", leader)
	}
	if !poll.Until(20*time.Second, 100*time.Millisecond, publish) {
		t.Fatal("no publish accepted after the kill")
	}
	c.Restart(leader)
	ok := poll.Until(20*time.Second, 100*time.Millisecond, func() bool {
		info, err := js.StreamInfo("T")
		if err != nil || info.Cluster == nil {
			return false
		}
		for _, p := range info.Cluster.Replicas {
			if p.Name == c.nodes[leader].name && p.Current {
				return true
			}
		}
		return false
	})
	if !ok {
		t.Fatalf("%s did not catch up after its restart", c.nodes[leader].name)
	}
	t.Logf("leader %s killed, %s took over, %s back", c.nodes[leader].name, c.nodes[next].name, c.nodes[leader].name)
}
