package stream

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"eventually/internal/poll"
)

// A tail whose consumer vanishes (its server died, or an operator
// deleted it) makes a new one from where it was: every message comes
// once, in order.
func TestTailOutlivesItsConsumer(t *testing.T) {
	nc := streamOnBroker(t)
	ctx := context.Background()
	url := nc.ConnectedUrl()
	var mu sync.Mutex
	var seen []string
	stop, err := Tail(ctx, url, Topics(), func(m Message) {
		mu.Lock()
		seen = append(seen, m.UUID)
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	var sent []string
	publish := func(n int) {
		for range n {
			id := fmt.Sprintf("m-%d", len(sent))
			if err := PublishRaw(ctx, url, PoisonTopic, map[string]string{"_watermill_message_uuid": id}, []byte("{}")); err != nil {
				t.Fatal(err)
			}
			sent = append(sent, id)
		}
	}
	received := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) >= len(sent)
	}

	publish(3)
	if !poll.Until(5*time.Second, 10*time.Millisecond, received) {
		t.Fatalf("before: saw %q of %q", seen, sent)
	}
	js, _ := nc.JetStream()
	for name := range js.ConsumerNames(Name) {
		if err := js.DeleteConsumer(Name, name); err != nil {
			t.Fatal(err)
		}
	}
	publish(3)
	if !poll.Until(10*time.Second, 10*time.Millisecond, received) {
		t.Fatalf("after its consumer was deleted: saw %q of %q", seen, sent)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(seen, sent) {
		t.Fatalf("saw %q, want %q: each once, in order", seen, sent)
	}
}
