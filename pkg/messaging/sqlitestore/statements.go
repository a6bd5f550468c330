package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"gorm.io/gorm"
)

// Statements caches prepared statements of one database for use inside
// transactions. Preparing is about a quarter of the SQLite time of a
// transaction that runs a handful of small statements.
//
// gorm's own PrepareStmt deadlocks with one connection: a goroutine that
// prepares outside a transaction waits for the connection, while the
// transaction that holds it waits for that same preparation to finish.
// Here a transaction never waits for a preparation: a statement that is
// not prepared yet runs unprepared, and is prepared later by Prepare,
// called when the caller holds no connection (after its commit).
type Statements struct {
	db      *sql.DB
	mu      sync.RWMutex
	stmts   map[string]*sql.Stmt
	missed  map[string]int // unprepared runs of each query not cached yet
	pending atomic.Bool    // a query missed often enough to prepare
}

const (
	// maxStatements bounds the cache: gorm writes `IN (?,?,...)` with as
	// many placeholders as values, which makes new query texts.
	maxStatements = 128
	// prepareAfter: a query is prepared on its second unprepared run, so
	// one-off statements (a savepoint name, a migration) stay out.
	prepareAfter = 2
)

// NewStatements returns an empty cache for db.
func NewStatements(db *gorm.DB) (*Statements, error) {
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("statements: %w", err)
	}
	return &Statements{db: sqlDB, stmts: map[string]*sql.Stmt{}, missed: map[string]int{}}, nil
}

// Tx makes a gorm transaction run its statements prepared where the cache
// has them. Call it first thing inside gorm's Transaction.
func (s *Statements) Tx(tx *gorm.DB) {
	if sqlTx, ok := tx.Statement.ConnPool.(*sql.Tx); ok {
		tx.Statement.ConnPool = &cachedTx{Tx: sqlTx, stmts: s}
	}
}

// Exec runs query with args in the transaction tx (one given to Tx), or
// directly when tx is not one.
func (s *Statements) Exec(ctx context.Context, tx *gorm.DB, query string, args ...any) (sql.Result, error) {
	if c, ok := tx.Statement.ConnPool.(*cachedTx); ok {
		return c.ExecContext(ctx, query, args...)
	}
	return tx.Statement.ConnPool.ExecContext(ctx, query, args...)
}

// Query runs query outside a transaction, prepared once.
func (s *Statements) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if stmt := s.get(query); stmt != nil {
		return stmt.QueryContext(ctx, args...)
	}
	s.miss(query)
	return s.db.QueryContext(ctx, query, args...)
}

// ExecOutside runs query outside a transaction, prepared once.
func (s *Statements) ExecOutside(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if stmt := s.get(query); stmt != nil {
		return stmt.ExecContext(ctx, args...)
	}
	s.miss(query)
	return s.db.ExecContext(ctx, query, args...)
}

// Prepare prepares the queries that ran unprepared often enough, and the
// given ones now. The caller must hold no connection of the database
// (not be inside a transaction): preparing takes one.
func (s *Statements) Prepare(ctx context.Context, queries ...string) error {
	if len(queries) == 0 && !s.pending.Load() {
		return nil
	}
	s.mu.Lock()
	s.pending.Store(false)
	for q, n := range s.missed {
		if n >= prepareAfter {
			queries = append(queries, q)
			delete(s.missed, q)
		}
	}
	s.mu.Unlock()
	for _, q := range queries {
		if s.get(q) != nil {
			continue
		}
		stmt, err := s.db.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", q, err)
		}
		s.mu.Lock()
		if _, dup := s.stmts[q]; dup || len(s.stmts) >= maxStatements {
			stmt.Close()
		} else {
			s.stmts[q] = stmt
		}
		s.mu.Unlock()
	}
	return nil
}

func (s *Statements) get(query string) *sql.Stmt {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.stmts[query]
}

// miss counts an unprepared run of query.
func (s *Statements) miss(query string) {
	// A prepared statement runs only the first of several statements.
	if strings.Contains(query, ";") {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.stmts) >= maxStatements {
		return
	}
	if len(s.missed) >= 4*maxStatements {
		clear(s.missed)
	}
	s.missed[query]++
	if s.missed[query] >= prepareAfter {
		s.pending.Store(true)
	}
}

// cachedTx is a transaction's connection pool for gorm: statements the
// cache holds run prepared on the transaction's connection
// (database/sql reuses the statement already prepared on it), the others
// as they are. Commit and Rollback are the transaction's.
type cachedTx struct {
	*sql.Tx
	stmts *Statements
}

func (c *cachedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if stmt := c.stmts.get(query); stmt != nil {
		return c.Tx.StmtContext(ctx, stmt).ExecContext(ctx, args...)
	}
	c.stmts.miss(query)
	return c.Tx.ExecContext(ctx, query, args...)
}

func (c *cachedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if stmt := c.stmts.get(query); stmt != nil {
		return c.Tx.StmtContext(ctx, stmt).QueryContext(ctx, args...)
	}
	c.stmts.miss(query)
	return c.Tx.QueryContext(ctx, query, args...)
}

func (c *cachedTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if stmt := c.stmts.get(query); stmt != nil {
		return c.Tx.StmtContext(ctx, stmt).QueryRowContext(ctx, args...)
	}
	c.stmts.miss(query)
	return c.Tx.QueryRowContext(ctx, query, args...)
}
