package overlord

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"gorm.io/gorm"

	"eventually/pkg/messaging"
	"eventually/pkg/sqlite"
)

// rebuildBatch is how many messages commit in one transaction: large
// enough that commits do not dominate, small enough to bound memory.
const rebuildBatch = 500

// secondaryIndexes are the indexed fields of Message besides its UUID.
var secondaryIndexes = []string{"EventName", "CorrelationID", "OccurredAt", "OrderGUID", "CartGUID"}

// Rebuilt says what a rebuild did.
type Rebuilt struct {
	Messages int
	Took     time.Duration
}

// PerSecond is the rebuild's throughput.
func (r Rebuilt) PerSecond() float64 {
	if r.Took <= 0 {
		return 0
	}
	return float64(r.Messages) / r.Took.Seconds()
}

// Rebuild drops overlord's message store in dataDir and rebuilds it by
// replaying the stream from its first message. The store is only a view
// of the stream, so it can always be thrown away and built again.
//
// It may run while overlord runs: the durable consumers keep storing what
// arrives, and a message both of them see is stored once (by UUID).
func Rebuild(ctx context.Context, dataDir, brokerURL string) (Rebuilt, error) {
	start := time.Now()
	db, err := sqlite.Open(filepath.Join(dataDir, Name+".db"), &Message{})
	if err != nil {
		return Rebuilt{}, fmt.Errorf("rebuild: %w", err)
	}
	defer sqlite.Close(db)
	// Dropped before the replay starts, so nothing a durable consumer
	// stores while the replay runs is lost.
	if err := db.WithContext(ctx).Session(&gorm.Session{AllowGlobalUpdate: true}).Delete(&Message{}).Error; err != nil {
		return Rebuilt{}, fmt.Errorf("rebuild: drop the store: %w", err)
	}
	// Secondary indexes are built once at the end, not row by row: the
	// UUID index stays, it is what keeps each message once.
	for _, field := range secondaryIndexes {
		if err := db.Migrator().DropIndex(&Message{}, field); err != nil {
			return Rebuilt{}, fmt.Errorf("rebuild: drop index of %s: %w", field, err)
		}
	}
	w := &batchWriter{db: db.WithContext(ctx), batch: make([]Message, 0, rebuildBatch)}
	n, err := messaging.Replay(ctx, brokerURL, messaging.Topics(), w.add)
	if err == nil {
		err = w.flush()
	}
	// The indexes come back however the replay ended.
	if merr := db.AutoMigrate(&Message{}); err == nil {
		err = merr
	}
	if err != nil {
		return Rebuilt{}, fmt.Errorf("rebuild after %d messages: %w", n, err)
	}
	return Rebuilt{Messages: n, Took: time.Since(start)}, nil
}

// batchWriter stores replayed messages a batch per transaction.
type batchWriter struct {
	db    *gorm.DB
	batch []Message
}

func (w *batchWriter) add(m messaging.Replayed) error {
	// The broker's store time is when overlord would have received it.
	w.batch = append(w.batch, record(m.Message, m.Topic, m.StoredAt))
	if len(w.batch) < rebuildBatch {
		return nil
	}
	return w.flush()
}

func (w *batchWriter) flush() error {
	err := w.db.Transaction(func(tx *gorm.DB) error { return insert(tx, w.batch) })
	w.batch = w.batch[:0]
	return err
}
