package stream

import (
	"context"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"eventually/internal/poll"
)

// A subscriber with room for two hands on the next message while the
// first is still being handled (not acknowledged): a slow message does
// not hold up the one behind it. Both are acknowledged once handled.
func TestSubscriberHandsOnWhileAMessageIsHandled(t *testing.T) {
	nc := streamOnBroker(t)
	ctx := context.Background()
	topic := Topics()[0]
	durable := DurableName("test", topic)
	if _, err := EnsureConsumer(ctx, nc, Name, durable, topic, 5); err != nil {
		t.Fatal(err)
	}
	for _, payload := range []string{"slow", "next"} {
		if err := PublishRaw(ctx, nc.ConnectedUrl(), topic, nil, []byte(payload)); err != nil {
			t.Fatal(err)
		}
	}
	sub := NewSubscriber(nc, Name, durable, 2)
	defer sub.Close()
	msgs, err := sub.Subscribe(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
	var got []*message.Message
	for len(got) < 2 {
		select {
		case m := <-msgs:
			got = append(got, m) // handed on, not acknowledged yet
		case <-deadline:
			t.Fatalf("%d message(s) handed on while none was acknowledged, want both", len(got))
		}
	}
	if a, b := string(got[0].Payload), string(got[1].Payload); a == b {
		t.Fatalf("got %q twice, want slow and next", a)
	}
	for _, m := range got {
		m.Ack()
	}
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	acked := poll.Until(10*time.Second, 5*time.Millisecond, func() bool {
		info, err := js.ConsumerInfo(Name, durable)
		return err == nil && info.NumAckPending == 0 && info.NumPending == 0
	})
	if !acked {
		t.Fatal("the broker still waits for acknowledgements")
	}
}
