// Package postgresstore is messaging's Store on Postgres, shared by every
// instance of a service: the outbox and inbox of messaging.GormStore, and
// a relay claim (messaging.Claimer) so that the relays of several
// instances neither skip nor publish twice a row of the one outbox.
package postgresstore

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"eventually/pkg/messaging"
)

// Store is the outbox and inbox in a service's schema on Postgres.
//
// The inbox is GormStore's: the insert of (consumer, message UUID) with
// ON CONFLICT DO NOTHING. When two instances handle the same message at
// once, the second insert waits for the first transaction on the primary
// key, then inserts nothing once it commits (a duplicate, acknowledged) or
// inserts after a rollback (the second does the work): never an error.
//
// It is not a messaging.OneInstance: every instance shares the database,
// so any number of them may run.
type Store struct {
	messaging.GormStore
}

// New is the store of a database opened with postgres.Open and migrated
// with messaging.Models().
func New(db *gorm.DB) *Store {
	return &Store{GormStore: messaging.GormStore{DB: db}}
}

// ClaimUnpublished implements messaging.Claimer with SELECT ... FOR UPDATE
// SKIP LOCKED: the rows another relay holds are skipped, not waited for,
// and a row that relay marks published meanwhile is checked again against
// the WHERE before it is locked (READ COMMITTED), so it is not handed out
// twice. The outcome is written in the same transaction, before the locks
// go.
func (s *Store) ClaimUnpublished(ctx context.Context, limit int,
	relay func(batch []messaging.OutboxMessage) (messaging.Outcome, error)) (int, error) {
	claimed := 0
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var batch []messaging.OutboxMessage
		err := tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate, Options: clause.LockingOptionsSkipLocked}).
			Where("published_at IS NULL AND set_aside_reason = ''").Order("id").Limit(limit).Find(&batch).Error
		if err != nil {
			return fmt.Errorf("claim outbox: %w", err)
		}
		claimed = len(batch)
		if claimed == 0 {
			return nil
		}
		out, err := relay(batch)
		if err != nil {
			return err
		}
		if len(out.Published) > 0 {
			err := tx.Model(&messaging.OutboxMessage{}).Where("id IN ?", out.Published).
				Update("published_at", time.Now().UTC()).Error
			if err != nil {
				return fmt.Errorf("mark %d outbox messages published: %w", len(out.Published), err)
			}
		}
		for id, reason := range out.SetAside {
			if err := tx.Model(&messaging.OutboxMessage{}).Where("id = ?", id).Update("set_aside_reason", reason).Error; err != nil {
				return fmt.Errorf("set outbox message %d aside: %w", id, err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return claimed, nil
}
