// Package postgres opens a service's tables in a schema of their own on a
// shared Postgres server through gorm: the store for several instances of
// a service (one SQLite file belongs to one process).
package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// connectTimeout bounds a connection attempt when the URL sets none: an
// unreachable server is an error at start, not a hang.
const connectTimeout = "10"

// maxConns bounds one process's connections: a server's default
// max_connections (100) is shared by every instance of every service.
const maxConns = 10

// ParseURL checks that raw is a postgres:// URL.
func ParseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("not a URL (want postgres://user:password@host:5432/database)")
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return nil, fmt.Errorf("scheme %q: want postgres://user:password@host:5432/database", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("no host (want postgres://user:password@host:5432/database)")
	}
	return u, nil
}

// Open connects to the database at rawURL with schema first on every
// connection's search_path, creates the schema if it is missing and
// migrates the given models into it.
//
// Several instances of a service may start at once: the schema and the
// migration are made under a transaction-scoped advisory lock named after
// the schema, so two instances never race to create the same table.
func Open(ctx context.Context, rawURL, schema string, models ...any) (*gorm.DB, error) {
	u, err := ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("database URL: %w", err)
	}
	q := u.Query()
	// The service's tables and queries land in its schema: gorm names no
	// schema, so the search path decides.
	q.Set("search_path", schema)
	if q.Get("connect_timeout") == "" {
		q.Set("connect_timeout", connectTimeout)
	}
	u.RawQuery = q.Encode()
	db, err := gorm.Open(postgres.Open(u.String()), &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		DisableAutomaticPing:   true,
	})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", u.Redacted(), err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", u.Redacted(), err)
	}
	sqlDB.SetMaxOpenConns(maxConns)
	sqlDB.SetMaxIdleConns(maxConns)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(pingCtx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("connect to %s: %w", u.Redacted(), err)
	}
	err = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("SELECT pg_advisory_xact_lock(hashtext(?))", "eventually schema "+schema).Error; err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		if err := tx.Exec("CREATE SCHEMA IF NOT EXISTS " + pgx.Identifier{schema}.Sanitize()).Error; err != nil {
			return fmt.Errorf("create schema: %w", err)
		}
		return tx.AutoMigrate(models...)
	})
	if err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("migrate schema %s on %s: %w", schema, u.Redacted(), err)
	}
	return db, nil
}

// Close closes the database.
func Close(db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}
