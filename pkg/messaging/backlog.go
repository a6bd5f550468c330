package messaging

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Backlog implements Backlogger: the count uses the index on
// published_at, and the oldest waiting row is the one with the lowest ID.
func (s GormStore) Backlog(ctx context.Context) (int64, time.Time, error) {
	waiting := func() *gorm.DB {
		return s.DB.WithContext(ctx).Model(&OutboxMessage{}).Where("published_at IS NULL AND set_aside_reason = ''")
	}
	var n int64
	if err := waiting().Count(&n).Error; err != nil {
		return 0, time.Time{}, fmt.Errorf("outbox backlog: %w", err)
	}
	if n == 0 {
		return 0, time.Time{}, nil
	}
	var oldest []OutboxMessage
	if err := waiting().Select("id", "created_at").Order("id").Limit(1).Find(&oldest).Error; err != nil {
		return 0, time.Time{}, fmt.Errorf("outbox backlog: %w", err)
	}
	if len(oldest) == 0 {
		return n, time.Time{}, nil
	}
	return n, oldest[0].CreatedAt, nil
}
