package messaging

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// Store keeps a service's outbox and inbox in the service's own database,
// so that both commit in the same transaction as the state change they
// belong to. GormStore is the plain implementation for any database gorm
// supports; a store may be faster for one database, never less correct.
type Store interface {
	// Transaction runs fn in one transaction of the service's database:
	// everything fn writes, outbox and inbox included, commits or none.
	Transaction(ctx context.Context, fn func(tx *gorm.DB) error) error

	// AddToOutbox writes msg into the outbox, within tx.
	AddToOutbox(tx *gorm.DB, msg OutboxMessage) error
	// Unpublished returns up to limit messages neither marked published
	// nor set aside, lowest ID first. It must find a message whatever the IDs of the
	// messages committed before or after it: on most databases IDs can
	// commit out of order, so no cursor on the ID is safe.
	Unpublished(ctx context.Context, limit int) ([]OutboxMessage, error)
	// MarkPublished marks exactly the messages with these IDs published.
	MarkPublished(ctx context.Context, ids []uint64) error
	// SetAside keeps a message the broker will never take (reason says
	// why) out of Unpublished, so the messages behind it go on.
	SetAside(ctx context.Context, id uint64, reason string) error

	// FirstDelivery records, within tx, that consumer processed the
	// message messageUUID, and reports whether it is the first time. It
	// relies on a unique key on (consumer, message UUID): a second insert
	// changes nothing, whichever instance or transaction tries it.
	FirstDelivery(tx *gorm.DB, consumer, messageUUID string) (bool, error)
}

// Claimer is implemented by a Store whose outbox the relays of several
// instances read at once (a shared database). Unpublished then MarkPublished
// is right for one relay only: two would read the same rows and both
// publish them. A Claimer locks the rows it hands out (on Postgres,
// SELECT ... FOR UPDATE SKIP LOCKED) for one transaction, in which relay
// publishes them and the outcome is written before the commit: another
// relay skips the locked rows and, once they commit, sees them published.
// The relay uses it when its store implements it; SQLite's store does not
// (one instance, one writer, nothing to skip).
type Claimer interface {
	// ClaimUnpublished locks up to limit messages neither published, set
	// aside nor held by another relay, lowest ID first, calls relay with
	// them, writes its outcome and commits; it returns how many it
	// claimed. An error from relay rolls back: the rows wait for the next
	// claim.
	ClaimUnpublished(ctx context.Context, limit int, relay func(batch []OutboxMessage) (Outcome, error)) (int, error)
}

// Outcome is what a relay did with claimed messages: written in the
// transaction that holds them (a set-aside written from outside would
// wait for the claim's own lock).
type Outcome struct {
	Published []uint64          // the broker stored them
	SetAside  map[uint64]string // the broker will never take them, and why
}

// OneInstance is implemented by a Store that is right only while one
// instance of the service uses it, such as a database file of that
// instance: a second instance with a file of its own would split the
// service's state. The bus of such a store holds a lease on the broker
// and refuses to run while another instance holds it.
type OneInstance interface {
	OneInstance() bool
}

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
	// SetAsideReason says why the broker would never take the message;
	// empty for every message it can.
	SetAsideReason string `gorm:"not null;default:''"`
}

// ProcessedMessage is a consumer's inbox: the IDs of the messages whose
// effect is committed. It is written in the same transaction as the effect.
type ProcessedMessage struct {
	Consumer    string `gorm:"primaryKey"`
	UUID        string `gorm:"primaryKey"`
	ProcessedAt time.Time
}

// Models are the tables a Store keeps in a service's database; migrate
// them with the service's own.
func Models() []any { return []any{&OutboxMessage{}, &ProcessedMessage{}} }
