// Package sqlitestore is messaging's Store on SQLite, made faster than
// messaging.GormStore without changing what it does. Read GormStore for
// the pattern; this package is only the speed-up.
package sqlitestore

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"eventually/pkg/messaging"
	"eventually/pkg/sqlite"
)

// Store is messaging's outbox and inbox on SQLite with the behaviour of
// messaging.GormStore: transactions that run at the same time commit
// together (sqlite.Group), every statement of a transaction runs prepared
// (Statements), and the outbox and inbox statements that run for every
// message are written out once instead of built by gorm's reflection.
// docs/performance.md gives their measured gain. Marking published (every
// 50 ms at most) is GormStore's.
//
// It relies on what GormStore relies on, and on the database having one
// connection (sqlite.Open): see Statements.
type Store struct {
	messaging.GormStore
	stmts *Statements
	group *sqlite.Group
}

// The outbox and inbox statements, as gorm would write them for
// messaging.OutboxMessage and messaging.ProcessedMessage.
const (
	insertOutboxSQL = "INSERT INTO `outbox_messages` (`uuid`,`topic`,`payload`,`metadata`,`created_at`) VALUES (?,?,?,?,?)"
	readOutboxSQL   = "SELECT `id`,`uuid`,`topic`,`payload`,`metadata` FROM `outbox_messages` " +
		"WHERE `published_at` IS NULL AND `set_aside_reason` = '' ORDER BY `id` LIMIT ?"
	insertInboxSQL = "INSERT INTO `processed_messages` (`consumer`,`uuid`,`processed_at`) VALUES (?,?,?) ON CONFLICT DO NOTHING"
)

// New is the store of a database opened with sqlite.Open and migrated
// with messaging.Models().
func New(db *gorm.DB) (*Store, error) {
	stmts, err := NewStatements(db)
	if err != nil {
		return nil, err
	}
	// The statements every message runs, prepared before anything holds
	// the connection.
	if err := stmts.Prepare(context.Background(), insertInboxSQL, insertOutboxSQL, readOutboxSQL); err != nil {
		return nil, err
	}
	group := sqlite.NewGroup(db)
	group.Begin = stmts.Tx
	return &Store{GormStore: messaging.GormStore{DB: db}, stmts: stmts, group: group}, nil
}

// Transaction implements messaging.Store: transactions that run at the
// same time commit together (sqlite.Group), each with its statements
// prepared where the cache has them.
func (s *Store) Transaction(ctx context.Context, fn func(tx *gorm.DB) error) error {
	if err := s.group.Transaction(ctx, fn); err != nil {
		return err
	}
	// Now that this goroutine holds no connection, prepare the statements
	// that ran unprepared more than once; a failure only costs speed.
	_ = s.stmts.Prepare(ctx)
	return nil
}

// AddToOutbox implements messaging.Store.
func (s *Store) AddToOutbox(tx *gorm.DB, m messaging.OutboxMessage) error {
	_, err := s.stmts.Exec(tx.Statement.Context, tx, insertOutboxSQL, m.UUID, m.Topic, m.Payload, m.Metadata, m.CreatedAt)
	if err != nil {
		return fmt.Errorf("outbox %s %s: %w", m.Topic, m.UUID, err)
	}
	return nil
}

// FirstDelivery implements messaging.Store.
func (s *Store) FirstDelivery(tx *gorm.DB, consumer, messageUUID string) (bool, error) {
	res, err := s.stmts.Exec(tx.Statement.Context, tx, insertInboxSQL, consumer, messageUUID, time.Now().UTC())
	if err != nil {
		return false, fmt.Errorf("inbox %s %s: %w", consumer, messageUUID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("inbox %s %s: %w", consumer, messageUUID, err)
	}
	return n == 1, nil
}

// Unpublished implements messaging.Store.
func (s *Store) Unpublished(ctx context.Context, limit int) ([]messaging.OutboxMessage, error) {
	rows, err := s.stmts.Query(ctx, readOutboxSQL, limit)
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	defer rows.Close()
	var batch []messaging.OutboxMessage
	for rows.Next() {
		var m messaging.OutboxMessage
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

// OneInstance implements messaging.OneInstance: a SQLite file belongs to
// one instance, and a second instance with a file of its own would split
// the service's state.
func (*Store) OneInstance() bool { return true }
