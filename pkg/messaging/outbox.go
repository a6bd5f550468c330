package messaging

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"gorm.io/gorm"

	"eventually/pkg/sqlite"
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

// Precomputed SQL for the outbox: gorm's insert of an OutboxMessage
// written out once, run prepared for every event, and the relay's read and
// mark. gorm's reflection cost more than these statements themselves.
const (
	insertOutboxSQL = "INSERT INTO `outbox_messages` (`uuid`,`topic`,`payload`,`metadata`,`created_at`) VALUES (?,?,?,?,?)"
	// The relay reads past what it has already published (after is its
	// cursor); after a restart the cursor is 0 and published_at decides.
	readOutboxSQL = "SELECT `id`,`uuid`,`topic`,`payload`,`metadata` FROM `outbox_messages` " +
		"WHERE `published_at` IS NULL AND `id` > ? ORDER BY `id` LIMIT ?"
	// Everything up to the cursor is published: one statement marks it all.
	markPublishedSQL = "UPDATE `outbox_messages` SET `published_at` = ? WHERE `published_at` IS NULL AND `id` <= ?"
)

// outboxPublisher is a Watermill publisher that writes into the outbox
// table of one open transaction; the CQRS event bus publishes through it.
type outboxPublisher struct {
	tx    *gorm.DB
	stmts *sqlite.Statements
}

func (p outboxPublisher) Publish(topic string, msgs ...*message.Message) error {
	for _, msg := range msgs {
		meta, err := json.Marshal(msg.Metadata)
		if err != nil {
			return fmt.Errorf("outbox %s: %w", topic, err)
		}
		_, err = p.stmts.Exec(msg.Context(), p.tx, insertOutboxSQL, msg.UUID, topic, msg.Payload, string(meta), time.Now().UTC())
		if err != nil {
			return fmt.Errorf("outbox %s: %w", topic, err)
		}
	}
	return nil
}

func (outboxPublisher) Close() error { return nil }

// relay publishes outbox messages to the broker in the order they were
// written, and marks them published.
//
// Why not Watermill's forwarder: it reads the outbox through watermill-sql,
// which has no SQLite adapter (and the watermill-sqlite modules are not
// available here). This relay is the forwarder's loop for one table: woken
// right after a commit, so no poll delay; retrying with backoff while the
// broker is down; at-least-once, with the broker dropping a republished
// event ID (TrackMsgId) and consumers' inboxes dropping the rest.
//
// Marking is behind publishing by up to markDelay: the relay keeps its own
// cursor (the last ID the broker stored) and marks everything up to it in
// one UPDATE every markDelay, instead of one write transaction per batch,
// which under load was a third of a service's commits. A crash in between
// only means those messages are published again after the restart, as a
// crash between publish and mark always could: the broker drops the
// repeated IDs (its duplicate window is minutes), the inboxes the rest.
type relay struct {
	stmts *sqlite.Statements
	// publish sends msgs[i] to topics[i] and says how many, from the
	// first, the broker stored (batchPublisher.publish).
	publish   func(topics []string, msgs []*message.Message) (int, error)
	logger    *slog.Logger
	wake      chan struct{}
	batchSize int
	// beforePublish, when set, runs before each batch is published. Tests
	// use it to crash between the commit and the publish.
	beforePublish func([]OutboxMessage)
	// published is the highest ID the broker stored; marked, the highest
	// the database says is published. Only the relay's goroutine uses them.
	published, marked uint64
}

const (
	// relayBatchSize is how many outbox messages the relay reads and
	// publishes at once.
	relayBatchSize = 256
	// markDelay is how far marking may lag behind publishing.
	markDelay = 50 * time.Millisecond
)

func newRelay(stmts *sqlite.Statements, pub *batchPublisher, logger *slog.Logger) *relay {
	return &relay{stmts: stmts, publish: pub.publish, logger: logger, wake: make(chan struct{}, 1), batchSize: relayBatchSize}
}

// Wake tells the relay there is something to publish. It never blocks.
func (r *relay) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run relays until ctx is done, then marks what it published.
func (r *relay) Run(ctx context.Context) {
	defer r.markOnExit()
	const minBackoff, maxBackoff = 100 * time.Millisecond, 5 * time.Second
	backoff := minBackoff
	failing := false
	// A safety net only: every commit wakes the relay.
	poll := time.NewTimer(time.Second)
	defer poll.Stop()
	markTimer := time.NewTimer(markDelay)
	markTimer.Stop()
	defer markTimer.Stop()
	markArmed := false
	for {
		n, err := r.relayBatch(ctx)
		if r.published > r.marked && !markArmed {
			markTimer.Reset(markDelay)
			markArmed = true
		}
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
		poll.Reset(time.Second)
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-markTimer.C:
			markArmed = false
			if err := r.mark(ctx); err != nil {
				r.logger.Warn("outbox relay cannot mark published, will retry", "error", err)
			}
		case <-poll.C:
		}
	}
}

// relayBatch publishes the oldest unpublished messages and returns how many.
func (r *relay) relayBatch(ctx context.Context) (int, error) {
	batch, err := r.read(ctx)
	if err != nil || len(batch) == 0 {
		return 0, err
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
	if stored > 0 {
		r.published = batch[stored-1].ID
	}
	if err != nil {
		return 0, err
	}
	return len(batch), nil
}

// read returns up to batchSize unpublished messages after the cursor, in order.
func (r *relay) read(ctx context.Context) ([]OutboxMessage, error) {
	rows, err := r.stmts.Query(ctx, readOutboxSQL, r.published, r.batchSize)
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	defer rows.Close()
	var batch []OutboxMessage
	for rows.Next() {
		var m OutboxMessage
		if err := rows.Scan(&m.ID, &m.UUID, &m.Topic, &m.Payload, &m.Metadata); err != nil {
			return nil, fmt.Errorf("read outbox: %w", err)
		}
		batch = append(batch, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	return batch, nil
}

// mark records in the database that everything up to the cursor is published.
func (r *relay) mark(ctx context.Context) error {
	if r.published <= r.marked {
		return nil
	}
	if _, err := r.stmts.ExecOutside(ctx, markPublishedSQL, time.Now().UTC(), r.published); err != nil {
		return fmt.Errorf("mark outbox published up to %d: %w", r.published, err)
	}
	r.marked = r.published
	return nil
}

// markOnExit marks what was published before the service stops, so a
// clean restart publishes nothing twice.
func (r *relay) markOnExit() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := r.mark(ctx); err != nil {
		r.logger.Warn("outbox relay: marking published on exit", "error", err)
	}
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
