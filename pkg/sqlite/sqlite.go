// Package sqlite opens a service's own SQLite database through gorm.
package sqlite

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	sqlite3 "github.com/mattn/go-sqlite3"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Open opens (creating if needed) the database file at path and migrates
// the given models.
//
// WAL lets readers run beside the single writer; IMMEDIATE transactions
// take the write lock up front, so two writers queue on busy_timeout
// instead of failing with "database is locked" half-way through.
func Open(path string, models ...any) (*gorm.DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	dsn := "file:" + path + "?_journal_mode=WAL&_busy_timeout=10000&_synchronous=NORMAL&_foreign_keys=on&_txlock=immediate"
	registerDriver()
	db, err := gorm.Open(sqlite.New(sqlite.Config{DriverName: driverName, DSN: dsn}), &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
	})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// One connection: SQLite has one writer anyway, and a single
	// connection means no SQLITE_BUSY between our own goroutines.
	sqlDB.SetMaxOpenConns(1)
	if err := db.AutoMigrate(models...); err != nil {
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	return db, nil
}

// driverName is mattn's SQLite driver with the pragmas the DSN cannot set.
const driverName = "sqlite3_eventually"

// registerDriver registers driverName once. Each new connection checkpoints
// the WAL every 4,000 pages (16 MB) instead of SQLite's 1,000: a checkpoint
// copies pages into the database file and syncs it, and under load the
// same hot pages (the inbox's and the outbox's last leaves) are written
// in many commits but copied once per checkpoint. Durability is the
// same; the WAL file just grows larger between checkpoints.
var registerDriver = sync.OnceFunc(func() {
	sql.Register(driverName, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		if _, err := c.Exec("PRAGMA wal_autocheckpoint=4000", nil); err != nil {
			return fmt.Errorf("wal_autocheckpoint: %w", err)
		}
		return nil
	}})
})

// Close closes the database.
func Close(db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}
