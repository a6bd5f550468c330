// Package overlord is the watcher: it keeps every message of the stream,
// the poisoned ones too, and shows them by request and by order, so one
// customer action can be followed across the services it touched.
package overlord

import (
	"context"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"eventually/pkg/messaging"
	"eventually/pkg/service"
)

// Name is the service's name, also of its database file.
const Name = "overlord"

// Config starts overlord.
type Config struct {
	service.Config
}

// Overlord is the watcher service.
type Overlord struct {
	*service.Parts
}

// New builds overlord: its message store, a durable consumer per topic
// and its HTTP server.
func New(cfg Config) (*Overlord, error) {
	parts, err := service.New(Name, cfg.Config, &Message{})
	if err != nil {
		return nil, err
	}
	o := &Overlord{Parts: parts}
	// Every topic with consumers of its own: overlord sees what the
	// services see, and what it missed while it was down.
	for _, topic := range messaging.Topics() {
		o.Bus.HandleMessage(topic, o.keep(topic))
	}
	o.routes()
	return o, nil
}

// Run runs overlord until ctx is done.
func (o *Overlord) Run(ctx context.Context) error { return o.Parts.Run(ctx) }

// keep stores each message of a topic as it arrives.
func (o *Overlord) keep(topic string) func(ctx context.Context, tx *messaging.Tx, msg *message.Message) error {
	return func(ctx context.Context, tx *messaging.Tx, msg *message.Message) error {
		row := record(msg, topic, time.Now())
		if err := insert(tx.DB, []Message{row}); err != nil {
			return fmt.Errorf("keep %s message %s: %w", topic, msg.UUID, err)
		}
		return nil
	}
}
