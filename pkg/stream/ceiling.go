package stream

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
)

// ceilingStream holds the raw transport measurement's messages, apart from
// the system's stream so no service or replay ever sees them.
const ceilingStream = "EVENTUALLY_CEILING"

// Ceiling is what raw Watermill publish + consume moved on a broker.
type Ceiling struct {
	Messages int
	Took     time.Duration // first publish to last message consumed and acked
}

// PerSecond is the ceiling's throughput.
func (c Ceiling) PerSecond() float64 {
	if c.Took <= 0 {
		return 0
	}
	return float64(c.Messages) / c.Took.Seconds()
}

// MeasureCeiling is for the load driver, which compares the system's rate
// with it. It publishes n copies of sample from publishers goroutines
// and consumes them with one durable consumer, through the same Watermill
// publisher and subscriber, and the same stream and consumer settings
// (inFlight as the services' consumers), as the services use, but with no
// database, outbox or inbox. It is the
// transport's own ceiling, against which the system's rate is compared.
func MeasureCeiling(ctx context.Context, brokerURL string, sample Message, n, publishers, inFlight int) (Ceiling, error) {
	logger := watermill.NopLogger{}
	pubConn, err := Connect(brokerURL, "ceiling-publisher")
	if err != nil {
		return Ceiling{}, err
	}
	defer pubConn.Close()
	subConn, err := Connect(brokerURL, "ceiling-subscriber")
	if err != nil {
		return Ceiling{}, err
	}
	defer subConn.Close()
	js, err := pubConn.JetStream()
	if err != nil {
		return Ceiling{}, fmt.Errorf("ceiling: %w", err)
	}
	topic := "ceiling." + watermill.NewShortUUID()
	if err := js.DeleteStream(ceilingStream); err != nil && !errors.Is(err, nats.ErrStreamNotFound) {
		return Ceiling{}, fmt.Errorf("ceiling: drop old stream: %w", err)
	}
	// As many copies as the system's stream keeps: on a cluster each
	// publish waits for a majority of them.
	replicas := 1
	if info, err := js.StreamInfo(Name, nats.Context(ctx)); err == nil {
		replicas = info.Config.Replicas
	}
	_, err = js.AddStream(&nats.StreamConfig{
		Name: ceilingStream, Subjects: []string{"ceiling.>"},
		Storage: nats.FileStorage, Duplicates: 2 * time.Minute, Replicas: replicas,
	}, nats.Context(ctx))
	if err != nil {
		return Ceiling{}, fmt.Errorf("ceiling: create stream: %w", err)
	}
	defer js.DeleteStream(ceilingStream)
	durable := DurableName("ceiling", topic)
	if _, err := EnsureConsumer(ctx, subConn, ceilingStream, durable, topic, 1); err != nil {
		return Ceiling{}, err
	}
	sub := NewSubscriber(subConn, ceilingStream, durable, inFlight)
	defer sub.Close()
	pub, err := NewPublisher(pubConn, logger)
	if err != nil {
		return Ceiling{}, fmt.Errorf("ceiling: publisher: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	msgs, err := sub.Subscribe(ctx, topic)
	if err != nil {
		return Ceiling{}, fmt.Errorf("ceiling: subscribe: %w", err)
	}

	start := time.Now()
	published := publishCopies(pub, topic, sample.toWatermill(), n, publishers)
	for got := 0; got < n; {
		select {
		case msg := <-msgs:
			msg.Ack()
			got++
		case err := <-published:
			if err != nil {
				return Ceiling{}, err
			}
			published = nil // all sent; keep consuming
		case <-ctx.Done():
			return Ceiling{}, fmt.Errorf("ceiling: after %d of %d messages: %w", got, n, ctx.Err())
		}
	}
	return Ceiling{Messages: n, Took: time.Since(start)}, nil
}

// publishCopies publishes n copies of sample (each with its own UUID, as
// the broker drops repeated IDs) and reports the first error, or nil when
// all are published.
func publishCopies(pub message.Publisher, topic string, sample *message.Message, n, publishers int) <-chan error {
	done := make(chan error, 1)
	var wg sync.WaitGroup
	var once sync.Once
	for p := range publishers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := p; i < n; i += publishers {
				msg := sample.Copy()
				msg.UUID = watermill.NewUUID()
				if err := pub.Publish(topic, msg); err != nil {
					once.Do(func() { done <- fmt.Errorf("ceiling: publish: %w", err) })
					return
				}
			}
		}()
	}
	go func() {
		wg.Wait()
		once.Do(func() { done <- nil })
	}()
	return done
}
