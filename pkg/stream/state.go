package stream

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go"
)

// ConsumerState is what the broker says of one durable consumer of the
// stream, asked on a connection the caller already has (a service's own,
// for its metrics).
func ConsumerState(ctx context.Context, nc *nats.Conn, durable string) (Consumer, error) {
	js, err := jetStream(nc)
	if err != nil {
		return Consumer{}, err
	}
	info, err := js.ConsumerInfo(Name, durable, nats.Context(ctx))
	if err != nil {
		return Consumer{}, fmt.Errorf("consumer %s: %w", durable, err)
	}
	return Consumer{Name: info.Name, Topic: info.Config.FilterSubject, Pending: info.NumPending,
		AckPending: info.NumAckPending, Redelivered: info.NumRedelivered}, nil
}
