package sqlitestore

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"eventually/pkg/sqlite"
)

type item struct {
	ID   uint64 `gorm:"primaryKey"`
	Name string
}

// Transactions run cached statements on the one connection while other
// goroutines read outside transactions and prepare after their commits:
// nothing waits on anything but the connection, so nothing deadlocks, and
// every statement does what it did unprepared.
func TestStatementsOneConnectionNoDeadlock(t *testing.T) {
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "s.db"), &item{})
	if err != nil {
		t.Fatal(err)
	}
	defer sqlite.Close(db)
	stmts, err := NewStatements(db)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const writers, perWriter = 4, 50
	var wg sync.WaitGroup
	errs := make(chan error, writers+1)
	for range writers {
		wg.Go(func() {
			for range perWriter {
				err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
					stmts.Tx(tx)
					if err := tx.Create(&item{Name: "x"}).Error; err != nil {
						return err
					}
					_, err := stmts.Exec(ctx, tx, "UPDATE `items` SET `name` = ? WHERE `name` = ?", "y", "x")
					return err
				})
				if err == nil {
					err = stmts.Prepare(ctx)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range writers * perWriter {
			rows, err := stmts.Query(ctx, "SELECT count(*) FROM `items` WHERE `name` = ?", "y")
			if err != nil {
				errs <- err
				return
			}
			rows.Close()
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var n int64
	if err := db.Model(&item{}).Where("name = ?", "y").Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	if n != writers*perWriter {
		t.Errorf("want %d rows renamed, got %d", writers*perWriter, n)
	}
	stmts.mu.RLock()
	cached := len(stmts.stmts)
	stmts.mu.RUnlock()
	if cached < 3 {
		t.Errorf("want the repeated statements prepared, %d are", cached)
	}
}
