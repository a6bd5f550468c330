package stream

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"
)

// Tools that look at the stream from outside the services: how many
// messages a topic holds, what a service's consumers have left to do, and
// a raw publish that bypasses every service (a foreign client, a test).

// Count is the number of messages on topic in the stream.
func Count(ctx context.Context, brokerURL, topic string) (uint64, error) {
	var n uint64
	err := withJetStream(ctx, brokerURL, func(js nats.JetStreamContext) error {
		info, err := js.StreamInfo(Name, &nats.StreamInfoRequest{SubjectsFilter: topic}, nats.Context(ctx))
		if errors.Is(err, nats.ErrStreamNotFound) {
			return nil // nothing was ever published
		}
		if err != nil {
			return fmt.Errorf("stream info: %w", err)
		}
		n = info.State.Subjects[topic]
		return nil
	})
	return n, err
}

// Consumer is the state of one durable consumer.
type Consumer struct {
	Name       string
	Service    string // whose consumer it is (DurableName)
	Topic      string
	Pending    uint64 // stored, not yet delivered
	AckPending int    // delivered, not yet acknowledged
	// Redelivered were given out again, their ack wait passed.
	Redelivered int
}

// Consumers lists the durable consumers of one service, or of every
// service with service "".
func Consumers(ctx context.Context, brokerURL, service string) ([]Consumer, error) {
	var out []Consumer
	err := withJetStream(ctx, brokerURL, func(js nats.JetStreamContext) error {
		out = consumersOf(ctx, js, service)
		return nil
	})
	return out, err
}

// ConsumersOn is Consumers over a connection the caller has.
func ConsumersOn(ctx context.Context, nc *nats.Conn, service string) ([]Consumer, error) {
	js, err := jetStream(nc)
	if err != nil {
		return nil, err
	}
	return consumersOf(ctx, js, service), nil
}

func consumersOf(ctx context.Context, js nats.JetStreamContext, service string) []Consumer {
	var out []Consumer
	for info := range js.Consumers(Name, nats.Context(ctx)) {
		owner, _, ok := strings.Cut(info.Name, "_")
		if ok && (service == "" || owner == service) {
			out = append(out, Consumer{Name: info.Name, Service: owner, Topic: info.Config.FilterSubject,
				Pending: info.NumPending, AckPending: info.NumAckPending, Redelivered: info.NumRedelivered})
		}
	}
	return out
}

// PublishRaw publishes payload to topic with the given headers as they
// are, as any NATS client could: nothing is added or checked.
func PublishRaw(ctx context.Context, brokerURL, topic string, headers map[string]string, payload []byte) error {
	return withJetStream(ctx, brokerURL, func(js nats.JetStreamContext) error {
		m := nats.NewMsg(topic)
		m.Data = payload
		for k, v := range headers {
			m.Header.Set(k, v)
		}
		if _, err := js.PublishMsg(m, nats.Context(ctx)); err != nil {
			return fmt.Errorf("publish %s: %w", topic, err)
		}
		return nil
	})
}

// Read returns every message of topic in the stream, oldest first.
func Read(ctx context.Context, brokerURL, topic string) ([]Message, error) {
	var out []Message
	// A replay of a topic with no message would wait for one.
	if n, err := Count(ctx, brokerURL, topic); err != nil || n == 0 {
		return out, err
	}
	_, err := Replay(ctx, brokerURL, []string{topic}, func(m Message) error {
		out = append(out, m)
		return nil
	})
	return out, err
}

// withJetStream runs fn on a connection of its own, closed afterwards.
func withJetStream(ctx context.Context, brokerURL string, fn func(nats.JetStreamContext) error) error {
	nc, err := nats.Connect(brokerURL, nats.Name("inspect"))
	if err != nil {
		return fmt.Errorf("connect to broker %s: %w", brokerURL, err)
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	return fn(js)
}

// DeleteConsumer deletes a durable consumer, as an operator might by mistake.
func DeleteConsumer(ctx context.Context, brokerURL, durable string) error {
	return withJetStream(ctx, brokerURL, func(js nats.JetStreamContext) error {
		if err := js.DeleteConsumer(Name, durable, nats.Context(ctx)); err != nil {
			return fmt.Errorf("delete consumer %s: %w", durable, err)
		}
		return nil
	})
}
