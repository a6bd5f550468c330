package messaging

import (
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ProcessedMessage is a consumer's inbox: the IDs of the messages whose
// effect is committed. It is written in the same transaction as the effect.
type ProcessedMessage struct {
	Consumer    string `gorm:"primaryKey"`
	UUID        string `gorm:"primaryKey"`
	ProcessedAt time.Time
}

// firstDelivery records the message in the inbox and reports whether this
// is the first time consumer processes it. A redelivered or duplicated
// message returns false and its transaction changes nothing else.
func firstDelivery(tx *gorm.DB, consumer, messageUUID string) (bool, error) {
	res := tx.Clauses(clause.OnConflict{DoNothing: true}).
		Create(&ProcessedMessage{Consumer: consumer, UUID: messageUUID, ProcessedAt: time.Now().UTC()})
	if res.Error != nil {
		return false, fmt.Errorf("inbox %s %s: %w", consumer, messageUUID, res.Error)
	}
	return res.RowsAffected == 1, nil
}
