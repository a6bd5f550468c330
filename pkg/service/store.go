package service

import (
	"context"
	"fmt"
	"path/filepath"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"eventually/pkg/messaging"
	"eventually/pkg/messaging/postgresstore"
	"eventually/pkg/messaging/sqlitestore"
	"eventually/pkg/postgres"
	"eventually/pkg/sqlite"
)

// openStore opens the service's database, migrated with models, and the
// outbox and inbox store on it: a SQLite file of this instance in the data
// dir, or, with a database URL, the service's schema on Postgres, shared by
// all its instances.
func openStore(name string, cfg Config, models []any) (*gorm.DB, messaging.Store, error) {
	// The service's own bookkeeping, migrated with its tables: instances
	// that start together migrate one after the other (postgres.Open).
	models = append(models, &resetMark{})
	if cfg.DatabaseURL != "" {
		db, err := postgres.Open(context.Background(), cfg.DatabaseURL, name, models...)
		if err != nil {
			return nil, nil, err
		}
		return db, postgresstore.New(db), nil
	}
	db, err := sqlite.Open(filepath.Join(cfg.DataDir, name+".db"), models...)
	if err != nil {
		return nil, nil, err
	}
	// messaging.GormStore is the plain form, this one the same on SQLite,
	// faster (docs/performance.md).
	store, err := sqlitestore.New(db)
	if err != nil {
		sqlite.Close(db)
		return nil, nil, err
	}
	return db, store, nil
}

// closeDB closes the service's database, whichever it is.
func closeDB(db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	return sqlDB.Close()
}

// ForUpdate makes a query lock the rows it reads until the transaction
// ends: for a read, check and write that another instance may run at the
// same time on the same rows of a shared database. On Postgres (READ
// COMMITTED) it is SELECT ... FOR UPDATE: the second transaction waits
// and then reads what the first committed, instead of acting on what it
// read before. SQLite has no row locks and needs none: one writer at a
// time, and each transaction takes the write lock when it begins.
func ForUpdate(db *gorm.DB) *gorm.DB {
	return db.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
}

// CreateIfAbsent inserts row unless a row with its key exists, as
// instances starting at once on one database each seed it.
func CreateIfAbsent(db *gorm.DB, row any) error {
	return db.Clauses(clause.OnConflict{DoNothing: true}).Create(row).Error
}
