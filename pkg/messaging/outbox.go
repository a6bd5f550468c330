package messaging

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"gorm.io/gorm"
)

// OutboxMessage is an event written in the same transaction as the state
// change that caused it, waiting to be relayed to the broker.
type OutboxMessage struct {
	ID          uint64 `gorm:"primaryKey;autoIncrement"` // relay order
	UUID        string `gorm:"uniqueIndex;not null"`
	Topic       string `gorm:"not null"`
	Payload     []byte `gorm:"not null"`
	Metadata    string `gorm:"not null"` // JSON object
	CreatedAt   time.Time
	PublishedAt *time.Time `gorm:"index"`
}

// outboxPublisher is a Watermill publisher that writes into the outbox
// table of one open transaction; the CQRS event bus publishes through it.
type outboxPublisher struct{ tx *gorm.DB }

func (p outboxPublisher) Publish(topic string, msgs ...*message.Message) error {
	for _, msg := range msgs {
		meta, err := json.Marshal(msg.Metadata)
		if err != nil {
			return fmt.Errorf("outbox %s: %w", topic, err)
		}
		row := OutboxMessage{UUID: msg.UUID, Topic: topic, Payload: msg.Payload, Metadata: string(meta)}
		if err := p.tx.Create(&row).Error; err != nil {
			return fmt.Errorf("outbox %s: %w", topic, err)
		}
	}
	return nil
}

func (outboxPublisher) Close() error { return nil }

// relay publishes outbox messages to the broker in the order they were
// written, marking each batch published.
//
// Why not Watermill's forwarder: it reads the outbox through watermill-sql,
// which has no SQLite adapter (and the watermill-sqlite modules are not
// available here). This relay is the forwarder's loop for one table: woken
// right after a commit, so no poll delay; retrying with backoff while the
// broker is down; at-least-once, with the broker dropping a republished
// event ID (TrackMsgId) and consumers' inboxes dropping the rest.
type relay struct {
	db *gorm.DB
	// publish sends msgs[i] to topics[i] and says how many, from the
	// first, the broker stored (batchPublisher.publish).
	publish   func(topics []string, msgs []*message.Message) (int, error)
	logger    *slog.Logger
	wake      chan struct{}
	batchSize int
	// beforePublish, when set, runs before each batch is published. Tests
	// use it to crash between the commit and the publish.
	beforePublish func([]OutboxMessage)
}

// relayBatchSize is how many outbox messages the relay reads and
// publishes at once.
const relayBatchSize = 256

func newRelay(db *gorm.DB, pub *batchPublisher, logger *slog.Logger) *relay {
	return &relay{db: db, publish: pub.publish, logger: logger, wake: make(chan struct{}, 1), batchSize: relayBatchSize}
}

// Wake tells the relay there is something to publish. It never blocks.
func (r *relay) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run relays until ctx is done.
func (r *relay) Run(ctx context.Context) {
	const minBackoff, maxBackoff = 100 * time.Millisecond, 5 * time.Second
	backoff := minBackoff
	failing := false
	for {
		n, err := r.relayBatch()
		switch {
		case err != nil:
			if !failing {
				r.logger.Warn("outbox relay cannot publish, will retry", "error", err)
				failing = true
			}
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(backoff*2, maxBackoff)
			continue
		case failing:
			r.logger.Info("outbox relay publishing again")
			failing = false
		}
		backoff = minBackoff
		if n == r.batchSize {
			continue // more waiting
		}
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-time.After(time.Second):
			// A safety net only: every commit wakes the relay.
		}
	}
}

// relayBatch publishes the oldest unpublished messages and returns how many.
func (r *relay) relayBatch() (int, error) {
	var batch []OutboxMessage
	err := r.db.Where("published_at IS NULL").Order("id").Limit(r.batchSize).Find(&batch).Error
	if err != nil {
		return 0, fmt.Errorf("read outbox: %w", err)
	}
	if len(batch) == 0 {
		return 0, nil
	}
	if r.beforePublish != nil {
		r.beforePublish(batch)
	}
	topics := make([]string, len(batch))
	msgs := make([]*message.Message, len(batch))
	for i, row := range batch {
		topics[i], msgs[i] = row.Topic, message.NewMessage(row.UUID, row.Payload)
		if err := json.Unmarshal([]byte(row.Metadata), &msgs[i].Metadata); err != nil {
			return 0, fmt.Errorf("outbox message %s: metadata: %w", row.UUID, err)
		}
	}
	stored, err := r.publish(topics, msgs)
	// Only what the broker stored counts, and only in order: the rest of
	// the batch is read and sent again.
	if markErr := r.markPublished(batch[:stored]); markErr != nil && err == nil {
		err = markErr
	}
	if err != nil {
		return 0, err
	}
	return len(batch), nil
}

func (r *relay) markPublished(rows []OutboxMessage) error {
	if len(rows) == 0 {
		return nil
	}
	ids := make([]uint64, len(rows))
	for i, row := range rows {
		ids[i] = row.ID
	}
	err := r.db.Model(&OutboxMessage{}).Where("id IN ?", ids).Update("published_at", time.Now().UTC()).Error
	if err != nil {
		return fmt.Errorf("mark outbox published: %w", err)
	}
	return nil
}

// sleep waits d or until ctx is done; false means ctx is done.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
