package messaging

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// GormStore is the outbox and inbox on any database gorm supports, in the
// service's own tables (Models). It is the form to read and to copy.
type GormStore struct {
	DB *gorm.DB
}

// Transaction implements Store with gorm's transaction.
func (s GormStore) Transaction(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.DB.WithContext(ctx).Transaction(fn)
}

// AddToOutbox implements Store.
func (GormStore) AddToOutbox(tx *gorm.DB, msg OutboxMessage) error {
	if err := tx.Create(&msg).Error; err != nil {
		return fmt.Errorf("outbox %s %s: %w", msg.Topic, msg.UUID, err)
	}
	return nil
}

// Unpublished implements Store. The index on published_at finds the few
// waiting rows among the many published ones.
func (s GormStore) Unpublished(ctx context.Context, limit int) ([]OutboxMessage, error) {
	var batch []OutboxMessage
	err := s.DB.WithContext(ctx).Where("published_at IS NULL").Order("id").Limit(limit).Find(&batch).Error
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	return batch, nil
}

// MarkPublished implements Store.
func (s GormStore) MarkPublished(ctx context.Context, ids []uint64) error {
	err := s.DB.WithContext(ctx).Model(&OutboxMessage{}).Where("id IN ?", ids).
		Update("published_at", time.Now().UTC()).Error
	if err != nil {
		return fmt.Errorf("mark %d outbox messages published: %w", len(ids), err)
	}
	return nil
}

// FirstDelivery implements Store with the inbox's primary key: the insert
// of a message already recorded does nothing and affects no row.
func (GormStore) FirstDelivery(tx *gorm.DB, consumer, messageUUID string) (bool, error) {
	res := tx.Clauses(clause.OnConflict{DoNothing: true}).
		Create(&ProcessedMessage{Consumer: consumer, UUID: messageUUID, ProcessedAt: time.Now().UTC()})
	if res.Error != nil {
		return false, fmt.Errorf("inbox %s %s: %w", consumer, messageUUID, res.Error)
	}
	return res.RowsAffected == 1, nil
}
