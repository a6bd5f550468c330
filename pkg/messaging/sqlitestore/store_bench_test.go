package sqlitestore

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"eventually/pkg/messaging"
	"eventually/pkg/sqlite"
)

// order is an effect of the size a handler writes.
type order struct {
	ID     uint64 `gorm:"primaryKey"`
	GUID   string `gorm:"uniqueIndex"`
	Status string
}

// BenchmarkHandledMessage is what the store does for one handled message
// that publishes one event: inbox row, the effect, outbox row, commit, and
// the relay's read. Compare the plain store with this one:
//
//	go test -run '^$' -bench HandledMessage ./pkg/messaging/sqlitestore
func BenchmarkHandledMessage(b *testing.B) {
	for _, tc := range []struct {
		name  string
		store func(*gorm.DB) (messaging.Store, error)
	}{
		{"GormStore", func(db *gorm.DB) (messaging.Store, error) { return messaging.GormStore{DB: db}, nil }},
		{"sqlitestore", func(db *gorm.DB) (messaging.Store, error) { return New(db) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			db, err := sqlite.Open(filepath.Join(b.TempDir(), "bench.db"), append(messaging.Models(), &order{})...)
			if err != nil {
				b.Fatal(err)
			}
			defer sqlite.Close(db)
			store, err := tc.store(db)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			for b.Loop() {
				guid := uuid.NewString()
				err := store.Transaction(ctx, func(tx *gorm.DB) error {
					if _, err := store.FirstDelivery(tx, "bench on order.captured", guid); err != nil {
						return err
					}
					if err := tx.Create(&order{GUID: guid, Status: "pending"}).Error; err != nil {
						return err
					}
					return store.AddToOutbox(tx, messaging.OutboxMessage{UUID: guid, Topic: "order.approved",
						Payload: []byte(`{}`), Metadata: `{}`, CreatedAt: time.Now()})
				})
				if err != nil {
					b.Fatal(err)
				}
				rows, err := store.Unpublished(ctx, 256)
				if err != nil || len(rows) != 1 {
					b.Fatalf("unpublished: %d rows, %v", len(rows), err)
				}
				if err := store.MarkPublished(ctx, []uint64{rows[0].ID}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
