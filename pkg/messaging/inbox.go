package messaging

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"eventually/pkg/sqlite"
)

// ProcessedMessage is a consumer's inbox: the IDs of the messages whose
// effect is committed. It is written in the same transaction as the effect.
type ProcessedMessage struct {
	Consumer    string `gorm:"primaryKey"`
	UUID        string `gorm:"primaryKey"`
	ProcessedAt time.Time
}

// insertInboxSQL is gorm's insert of a ProcessedMessage written out once:
// it runs for every message consumed, prepared, without gorm's reflection.
const insertInboxSQL = "INSERT INTO `processed_messages` (`consumer`,`uuid`,`processed_at`) VALUES (?,?,?) ON CONFLICT DO NOTHING"

// firstDelivery records the message in the inbox and reports whether this
// is the first time consumer processes it. A redelivered or duplicated
// message returns false and its transaction changes nothing else.
func firstDelivery(ctx context.Context, stmts *sqlite.Statements, tx *gorm.DB, consumer, messageUUID string) (bool, error) {
	res, err := stmts.Exec(ctx, tx, insertInboxSQL, consumer, messageUUID, time.Now().UTC())
	if err != nil {
		return false, fmt.Errorf("inbox %s %s: %w", consumer, messageUUID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("inbox %s %s: %w", consumer, messageUUID, err)
	}
	return n == 1, nil
}
